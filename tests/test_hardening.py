"""Smaller holes, each closed and kept closed: how admin and metrics tokens are compared, which
URLs an SNS confirmation may visit (and that redirects are not followed), chunked bodies over the
limit, how long delivery stories and failed jobs stay in Redis, and the Redis version the relay
needs."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import os
import socketserver
import subprocess
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import redis
import requests
from werkzeug.serving import make_server

from bot import auth as auth_module
from bot import create_app
from bot.enqueue import JOB_FAILURE_TTL, Enqueuer
from bot.redis_conn import EXIT_REDIS_TOO_OLD
from bot.settings import Settings
from bot.sources.aws_sns import is_subscribe_url
from bot.store.history import KEEP_SECONDS, History
from bot.store.outbox import OutboxItem
from tests.conftest import CHANNEL, TOKEN

SECRET = "s3cret-for-hardening-tests-0123"
ROUTES = {"ops": {"source": "generic", "channel": CHANNEL, "secret": SECRET}}
ADMIN_TOKEN = "admin-token-for-hardening-0123456789"
METRICS_TOKEN = "metrics-token-for-hardening-0123"
ROOT = Path(__file__).resolve().parent.parent


# -- admin and metrics tokens ---------------------------------------------------------------------

@pytest.fixture
def tokens_relay(make_relay):
    return make_relay(ROUTES, env={"RELAY_ADMIN_TOKEN": ADMIN_TOKEN, "METRICS_TOKEN": METRICS_TOKEN})


@pytest.mark.parametrize("path, token", [("/admin/routes", ADMIN_TOKEN), ("/metrics", METRICS_TOKEN)])
def test_the_bearer_scheme_is_case_insensitive_and_required(tokens_relay, path, token):
    client = tokens_relay.client
    for scheme in ("Bearer", "bearer", "BEARER", "bEaReR"):
        assert client.get(path, headers={"Authorization": f"{scheme} {token}"}).status_code == 200, scheme
    for header in (token, f"Basic {token}", f"Bearer {token}x", f"Bearer {token[:-1]}", "Bearer", "",
                   f"Token {token}"):
        response = client.get(path, headers={"Authorization": header})
        assert response.status_code == 401 and response.json["error"] == "unauthorized", header
        assert token not in response.get_data(as_text=True)


@pytest.mark.parametrize("path, token", [("/admin/routes", ADMIN_TOKEN), ("/metrics", METRICS_TOKEN)])
def test_tokens_are_compared_as_equal_length_digests(tokens_relay, path, token, monkeypatch):
    """compare_digest returns early on unequal lengths; hashing first keeps the token's length secret."""
    seen = []
    real = hmac.compare_digest

    def spy(a, b):
        seen.append((len(a), len(b)))
        return real(a, b)

    monkeypatch.setattr(auth_module.hmac, "compare_digest", spy)
    monkeypatch.setattr(hmac, "compare_digest", spy)
    for presented in (token, "short", token * 3):
        tokens_relay.client.get(path, headers={"Authorization": f"Bearer {presented}"})
    assert len(seen) == 3 and set(seen) == {(hashlib.sha256().digest_size,) * 2}


# -- Amazon SNS: which URL is visited, and only that one ------------------------------------------------

GOOD_SNS = "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:us-east-1:1:t&Token=x"


@pytest.mark.parametrize("url, ok", [
    (GOOD_SNS, True),
    ("https://sns.cn-north-1.amazonaws.com.cn/?Action=ConfirmSubscription&Token=x", True),
    ("https://sns.us-east-1.amazonaws.com/unsubscribe?Action=ConfirmSubscription", False),
    ("https://sns.us-east-1.amazonaws.com/..%2Fredirect?Action=ConfirmSubscription", False),
    ("https://sns.us-east-1.amazonaws.com//evil.example/?Action=ConfirmSubscription", False),
    ("https://sns.us-east-1.amazonaws.com?Action=ConfirmSubscription", False),
    ("https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription#frag", False),
    ("https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe", False),
    ("https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&Action=Publish", False),
    ("http://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription", False),
    ("https://sns.us-east-1.amazonaws.com:8443/?Action=ConfirmSubscription", False),
    ("https://x@sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription", False),
    ("https://sns.us-east-1.amazonaws.com.evil.example/?Action=ConfirmSubscription", False),
    ("https://sqs.us-east-1.amazonaws.com/?Action=ConfirmSubscription", False),
])
def test_only_sns_confirm_subscription_urls_at_the_root_are_visited(url, ok):
    assert is_subscribe_url(url) is ok


@pytest.fixture
def redirecting_server():
    """A loopback server whose `/confirm` redirects to `/elsewhere`; it records the paths visited."""
    visited = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            visited.append(self.path)
            if self.path == "/confirm":
                self.send_response(302)
                self.send_header("Location", "/elsewhere")
            else:
                self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", visited
    server.shutdown()
    server.server_close()


def test_the_worker_does_not_follow_redirects_and_a_redirect_is_a_failure(make_relay, redirecting_server):
    base, visited = redirecting_server
    runtime = make_relay(ROUTES).runtime
    runtime.http_get(f"{base}/fine")
    with pytest.raises(requests.HTTPError) as err:
        runtime.http_get(f"{base}/confirm")
    assert err.value.response.status_code == 302
    assert visited == ["/fine", "/confirm"]


# -- bodies over the limit, chunked -----------------------------------------------------------------------

LIMIT = 4096


@pytest.fixture
def served(make_relay):
    """The relay's web app on a real HTTP server on loopback (werkzeug's, threaded)."""
    relay = make_relay(ROUTES, env={"RELAY_MAX_BODY_BYTES": str(LIMIT)})
    server = make_server("127.0.0.1", 0, relay.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield relay, server.server_port
    server.shutdown()


def _post_chunked(port: int, body: bytes, chunk: int = 1000) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    pieces = (body[i:i + chunk] for i in range(0, len(body), chunk))
    conn.request("POST", "/hooks/ops", body=pieces, encode_chunked=True,
                 headers={"Authorization": f"Bearer {SECRET}", "Content-Type": "application/json",
                          "Transfer-Encoding": "chunked"})
    response = conn.getresponse()
    status, data = response.status, response.read()
    conn.close()
    return status, json.loads(data)


def _body_of(size: int) -> bytes:
    head = b'{"message": "'
    tail = b'"}'
    return head + b"x" * (size - len(head) - len(tail)) + tail


@pytest.mark.parametrize("size, status", [(LIMIT - 1, 202), (LIMIT, 202), (LIMIT + 1, 413), (LIMIT * 3, 413)])
def test_a_chunked_body_over_the_limit_is_refused_not_cut(served, size, status):
    relay, port = served
    code, answer = _post_chunked(port, _body_of(size))
    assert code == status, answer
    if status == 413:
        assert answer["error"] == "payload_too_large"
        assert relay.redis.llen("rq:queue:relay-webhooks") == 0
    else:
        assert answer["status"] == "queued"


def test_a_body_with_content_length_over_the_limit_is_still_refused(served):
    _, port = served
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("POST", "/hooks/ops", body=_body_of(LIMIT + 1),
                 headers={"Authorization": f"Bearer {SECRET}", "Content-Type": "application/json"})
    response = conn.getresponse()
    assert response.status == 413 and json.loads(response.read())["error"] == "payload_too_large"


# -- what stays in Redis, and for how long --------------------------------------------------------------

def _envelope(route: str) -> dict:
    return {"delivery_id": uuid.uuid4().hex, "route": route, "source": "generic", "event": "message",
            "received_at": 1.0, "payload": {}}


def _item(envelope: dict) -> OutboxItem:
    return OutboxItem(id="m", delivery_id=envelope["delivery_id"], route=envelope["route"], channel=CHANNEL,
                      text="hello")


def test_a_delivery_story_lives_only_while_its_id_is_on_the_route_list(redis_url):
    connection = redis.Redis.from_url(redis_url)
    size = 3
    history = History(connection, size)
    envelopes = {route: [_envelope(route) for _ in range(size * 3)] for route in ("a", "b")}
    for i in range(size * 3):
        for route in ("a", "b"):
            history.formatted(envelopes[route][i], [OutboxItem(id="m", delivery_id=envelopes[route][i]["delivery_id"],
                                                               route=route, channel=CHANNEL, text="hello")])
    stories = {k.decode() for k in connection.scan_iter("relay:delivery:*")}
    listed = {f"relay:delivery:{i.decode()}" for route in ("a", "b")
              for i in connection.lrange(f"relay:deliveries:{route}", 0, -1)}
    assert stories == listed and len(stories) == 2 * size
    assert all(0 < connection.ttl(key) <= KEEP_SECONDS <= 2 * 24 * 3600 for key in stories)
    # A post that finishes after its story was trimmed does not bring the story back.
    from bot.copera_client import SendResult

    trimmed = envelopes["a"][0]
    history.delivery([_item(trimmed)], "posted", SendResult("ok", 204))
    assert not connection.exists(f"relay:delivery:{trimmed['delivery_id']}")
    kept = envelopes["a"][-1]
    history.delivery([_item(kept)], "posted", SendResult("ok", 204))
    story = connection.hgetall(f"relay:delivery:{kept['delivery_id']}")
    assert story[b"outcome"] == b"posted" and story[b"attempts"] == b"1"
    assert connection.ttl(f"relay:delivery:{kept['delivery_id']}") > 0


def test_failed_rq_jobs_keep_their_payload_a_day_at_most(make_relay):
    from rq.job import Job
    from rq.serializers import JSONSerializer

    relay = make_relay(ROUTES)
    envelope = _envelope("ops")
    Enqueuer(relay.redis).enqueue(envelope)
    job = Job.fetch(envelope["delivery_id"], connection=relay.redis, serializer=JSONSerializer)
    assert job.failure_ttl == JOB_FAILURE_TTL <= 24 * 3600


# -- the Redis version ------------------------------------------------------------------------------------

class _OldRedis(socketserver.ThreadingTCPServer):
    """Speaks just enough RESP to look like a Redis 6.2 server: HELLO and INFO name the version,
    anything else (CLIENT SETINFO, PING) is OK."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                while True:
                    line = self.rfile.readline()
                    if not line:
                        return
                    if not line.startswith(b"*"):
                        continue
                    args = []
                    for _ in range(int(line[1:])):
                        length = int(self.rfile.readline()[1:])
                        args.append(self.rfile.read(length + 2)[:-2])
                    if args and args[0].upper() == b"HELLO":
                        self.wfile.write(b"%3\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n6.2.14\r\n"
                                         b"$5\r\nproto\r\n:3\r\n")
                    elif args and args[0].upper() == b"INFO":
                        info = b"# Server\r\nredis_version:6.2.14\r\n"
                        self.wfile.write(b"$%d\r\n%s\r\n" % (len(info), info))
                    else:
                        self.wfile.write(b"+OK\r\n")

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.server_address[1]}/0"


@pytest.fixture
def old_redis():
    server = _OldRedis()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def test_the_web_process_refuses_a_redis_older_than_7(old_redis, capsys):
    settings = Settings.from_env({"REDIS_URL": old_redis.url, "RELAY_CONFIG": "/nonexistent.yml"})
    with pytest.raises(SystemExit) as exit_info:
        create_app(settings)
    assert exit_info.value.code == EXIT_REDIS_TOO_OLD
    err = capsys.readouterr().err
    assert "copera-relay: the Redis server at REDIS_URL is version 6.2.14" in err and "Redis 7.0 or newer" in err


def test_the_web_process_starts_with_redis_7_or_when_redis_is_down(redis_url):
    create_app(Settings.from_env({"REDIS_URL": redis_url}))
    create_app(Settings.from_env({"REDIS_URL": f"redis://127.0.0.1:{_closed_port()}/0"}))


def _closed_port() -> int:
    from tests.conftest import free_port

    return free_port()


def test_the_worker_refuses_a_redis_older_than_7(old_redis, tmp_path):
    routes = tmp_path / "relay.yml"
    routes.write_text(json.dumps({"routes": ROUTES}))
    env = {"PATH": os.environ.get("PATH", ""), "REDIS_URL": old_redis.url, "RELAY_CONFIG": str(routes),
           "COPERA_API_TOKEN": TOKEN}
    done = subprocess.run([sys.executable, "-m", "workers"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == EXIT_REDIS_TOO_OLD, done.stderr[-2000:]
    assert "copera-relay worker: the Redis server at REDIS_URL is version 6.2.14" in done.stderr
    assert "Redis 7.0 or newer" in done.stderr
