"""A real HTTP server on loopback standing in for the Copera Public API in tests.

It enforces what the relay relies on: Bearer token, 24-hex channel ids, 1–10,000 character
messages, 204 on success (202 for a direct message), JSON errors, and a rolling per-minute limit,
shared by posts and direct messages, answered with 429 and `retryAfter`. Tests steer it through
attributes (`mode`, `limit_per_minute`, `forbidden`, `unknown_users`, ...); `flaky` answers a seeded share of
sends with 503 (and a tenth of those with 429 instead), for chaos runs.
"""

from __future__ import annotations

import json
import random
import re
import sys
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SEND = re.compile(r"^/public/v1/chat/channel/([^/]+)/send-message$")
DIRECT = "/public/v1/chat/direct-message/send-message"
HEX24 = re.compile(r"^[0-9a-f]{24}$")


class _Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # A client that hangs up mid-answer (a worker killed during a post) is expected, not a failure.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class CoperaStub:
    def __init__(self, token: str = "cp_key_test_token_0123456789"):
        self.token = token
        self.lock = threading.Lock()
        self.reset()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                stub._handle(self)

            def do_GET(self):
                stub._handle_get(self)

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/public/v1"

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def reset(self):
        with self.lock:
            self.messages: list[dict] = []
            self.direct: list[dict] = []  # accepted direct messages: {"t", "user", "message"}
            self.unknown_users: set[str] = set()  # DMs to these user ids are refused with 400
            self.requests: list[tuple[float, int]] = []
            self.mode = "ok"  # ok | down | slow
            self.delay = 0.0
            self.fail_next = 0  # answer 503 to the next N sends
            self.throttle_next = 0  # answer 429 to the next N sends
            self.retry_after = None  # retryAfter for 429s (default: until the window frees)
            self.flaky = 0.0  # share of sends refused at random (503, or 429 for a tenth of them)
            self.rng = random.Random(0)  # reseed for a reproducible flaky schedule
            self.limit_per_minute: int | None = None
            self.window: deque = deque()
            self.forbidden: set[str] = set()
            self.channels = [{"_id": "a" * 24, "name": "alerts"}, {"_id": "b" * 24, "name": "deploys"}]

    def _reply(self, handler, status: int, body: dict | None = None, headers: dict | None = None):
        data = b"" if body is None else json.dumps(body).encode()
        handler.send_response(status)
        for k, v in (headers or {}).items():
            handler.send_header(k, v)
        if body is not None:
            handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def _error(self, handler, status: int, label: str, message: str, **extra):
        with self.lock:
            self.requests.append((time.time(), status))
        self._reply(handler, status, {"statusCode": status, "error": label, "message": message, **extra})

    def _authorized(self, handler) -> bool:
        if handler.headers.get("Authorization") != f"Bearer {self.token}":
            self._error(handler, 401, "Unauthorized", "Invalid token")
            return False
        return True

    def _handle_get(self, handler):
        if not handler.path.startswith("/public/v1/chat/channels"):
            return self._error(handler, 404, "Not Found", "no route")
        if self._authorized(handler):
            self._reply(handler, 200, {"channels": self.channels, "total": len(self.channels)})

    def _handle(self, handler):
        raw = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        m = SEND.match(handler.path)
        if not m and handler.path != DIRECT:
            return self._error(handler, 404, "Not Found", "no route")
        if not self._authorized(handler):
            return
        now = time.time()
        with self.lock:
            if self.limit_per_minute is not None:
                while self.window and now - self.window[0] > 60:
                    self.window.popleft()
                if len(self.window) >= self.limit_per_minute:
                    retry = int(60 - (now - self.window[0])) + 1
                    limited = retry
                else:
                    self.window.append(now)
                    limited = None
            else:
                limited = None
            mode, delay = self.mode, self.delay
            failing = self.fail_next > 0
            if failing:
                self.fail_next -= 1
            if limited is None and self.throttle_next > 0:
                self.throttle_next -= 1
                limited = 1
            if self.flaky and self.rng.random() < self.flaky:
                if self.rng.random() < 0.1:
                    limited = limited or 1
                else:
                    failing = True
            if limited and self.retry_after is not None:
                limited = self.retry_after
        if limited:
            return self._error(handler, 429, "Too Many Requests", "Rate limit exceeded", retryAfter=limited)
        if delay:
            time.sleep(delay)
        if mode == "down" or failing:
            return self._error(handler, 503, "Service Unavailable", "try later")
        if not m:
            return self._direct(handler, raw, now)
        channel = m.group(1)
        if not HEX24.match(channel):
            return self._error(handler, 400, "Bad Request", "Invalid parameter: channelId")
        if channel in self.forbidden:
            return self._error(handler, 403, "Forbidden", "Integration is not a participant of this channel")
        try:
            body = json.loads(raw)
            message = body["message"]
            assert isinstance(message, str) and 1 <= len(message) <= 10_000
        except (ValueError, KeyError, AssertionError):
            return self._error(handler, 400, "Bad Request", "message must be 1 to 10000 characters")
        with self.lock:
            self.requests.append((now, 204))
            self.messages.append({"t": now, "channel": channel, "message": message, "name": body.get("name")})
        self._reply(handler, 204)

    def _direct(self, handler, raw: bytes, now: float):
        try:
            body = json.loads(raw)
            user, message = body["userId"], body["message"]
        except (ValueError, KeyError, TypeError):
            return self._error(handler, 400, "Bad Request", "userId and message are required")
        if not isinstance(user, str) or not HEX24.match(user):
            return self._error(handler, 400, "Bad Request", "Invalid parameter: userId")
        if user in self.unknown_users:
            return self._error(handler, 400, "Bad Request", "User not found in this workspace")
        if not isinstance(message, str) or not 1 <= len(message) <= 10_000:
            return self._error(handler, 400, "Bad Request", "message must be 1 to 10000 characters")
        with self.lock:
            self.requests.append((now, 202))
            self.direct.append({"t": now, "user": user, "message": message})
        self._reply(handler, 202)

    def dms(self, user: str | None = None) -> list[str]:
        with self.lock:
            return [m["message"] for m in self.direct if user is None or m["user"] == user]

    def texts(self, channel: str | None = None) -> list[str]:
        with self.lock:
            return [m["message"] for m in self.messages if channel is None or m["channel"] == channel]

    def statuses(self) -> list[int]:
        with self.lock:
            return [s for _, s in self.requests]
