"""The Copera Public API, as far as the relay uses it: send a message, send a direct message,
list channels.

Responses are classified once here, so the delivery code only decides what to do with
"ok", "rate_limited", "permanent" (400/401/403/404: retrying cannot help) and "retry".

It is also the one place text leaves for Copera, so every post's final text (rendered, templated,
digest or notice) has its channel-wide mentions defused here: pieces that were escaped one by one
can still meet as `@` + `everyone`.
"""

from __future__ import annotations

from dataclasses import dataclass

import requests

from bot import markdown as md

TIMEOUT = (5, 15)  # connect, read (seconds)
PERMANENT = {400, 401, 403, 404, 405, 410, 413, 422}


@dataclass(frozen=True)
class SendResult:
    outcome: str  # ok | rate_limited | permanent | retry
    status: int | None = None
    reason: str = ""
    retry_after: float | None = None


class CoperaClient:
    def __init__(self, base_url: str, token: str, timeout=TIMEOUT):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers.update({"Authorization": f"Bearer {token}", "User-Agent": "copera-relay"})

    def send_message(self, channel_id: str, message: str, name: str | None = None) -> SendResult:
        body = {"message": final_text(message)}
        if name:
            body["name"] = md.defuse(name)
        return self._send(f"{self.base_url}/chat/channel/{channel_id}/send-message", body)

    def send_direct_message(self, user_id: str, message: str) -> SendResult:
        """A DM to one Copera user (202 when accepted); same token, budget and errors as a post."""
        return self._send(f"{self.base_url}/chat/direct-message/send-message",
                          {"userId": user_id, "message": final_text(message)})

    def _send(self, url: str, body: dict) -> SendResult:
        try:
            response = self.session.post(url, json=body, timeout=self.timeout)
        except requests.Timeout:
            return SendResult("retry", None, "timeout talking to Copera")
        except requests.RequestException as exc:
            return SendResult("retry", None, f"connection error: {type(exc).__name__}")
        return classify(response)

    def list_channels(self, query: str | None = None, limit: int = 100, offset: int = 0) -> dict:
        params = {"limit": limit, "offset": offset}
        if query:
            params["q"] = query
        response = self.session.get(f"{self.base_url}/chat/channels", params=params, timeout=self.timeout)
        if response.status_code != 200:
            result = classify(response)
            raise CoperaError(result.status, result.reason)
        return response.json()


def final_text(message: str) -> str:
    """The text as posted: mentions defused, still within Copera's limit (a defused mention is one
    character longer, so a message at the limit is cut at a block boundary like any other)."""
    text = md.defuse(message)
    return text if len(text) <= md.MAX_MESSAGE else md.fit([text])


class CoperaError(Exception):
    def __init__(self, status: int | None, reason: str):
        super().__init__(f"Copera answered {status}: {reason}")
        self.status = status
        self.reason = reason


def _error_body(response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def classify(response) -> SendResult:
    status = response.status_code
    if 200 <= status < 300:
        return SendResult("ok", status)
    body = _error_body(response)
    reason = str(body.get("message") or body.get("error") or response.reason or "")[:300]
    if status == 429:
        retry_after = body.get("retryAfter") or response.headers.get("Retry-After")
        try:
            seconds = max(1.0, float(retry_after))
        except (TypeError, ValueError):
            seconds = 60.0
        return SendResult("rate_limited", status, reason or "rate limited", seconds)
    if status in PERMANENT:
        return SendResult("permanent", status, reason)
    return SendResult("retry", status, reason or f"HTTP {status}")
