"""End to end through the Flask app, a real Redis, an in-process worker and the Copera stand-in:
one test per row of the intake responses table."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

from tests.conftest import CHANNEL, TOKEN

SECRET = "s3cret-for-tests-0123"
GENERIC = {"generic": {"source": "generic", "channel": CHANNEL, "secret": SECRET, "sender_name": "Scripts"}}
BEARER = {"Authorization": f"Bearer {SECRET}"}


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_queued_webhook_reaches_copera_with_sender_name(make_relay, copera):
    relay = make_relay(GENERIC)
    r = relay.post("generic", {"message": "Deployed api v42", "level": "success"}, BEARER)
    assert r.status_code == 202
    assert r.json["status"] == "queued" and r.json["delivery_id"]
    relay.work()
    assert copera.messages == [
        {"t": copera.messages[0]["t"], "channel": CHANNEL, "message": "✅ **Deployed api v42**", "name": "Scripts"}
    ]


def test_basic_auth_and_query_token_are_accepted(make_relay):
    relay = make_relay(GENERIC)
    basic = base64.b64encode(f"relay:{SECRET}".encode()).decode()
    assert relay.post("generic", {"message": "a"}, {"Authorization": f"Basic {basic}"}).status_code == 202
    assert relay.client.post(f"/hooks/generic?token={SECRET}", json={"message": "b"}).status_code == 202


def test_bad_or_missing_secret_is_401_without_leaking_it(make_relay):
    relay = make_relay(GENERIC)
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic !!!"}):
        r = relay.post("generic", {"message": "x"}, headers)
        assert r.status_code == 401
        assert r.json["error"] == "unauthorized" and r.json["message"]
        assert r.headers["WWW-Authenticate"] == 'Basic realm="copera-relay"'
        assert SECRET not in r.get_data(as_text=True)


def test_github_signature_is_checked_over_the_raw_body(make_relay, copera):
    relay = make_relay({"gh": {"source": "github", "channel": CHANNEL, "secret": SECRET}})
    body = json.dumps({"zen": "Keep it logically awesome.", "hook_id": 1}).encode()
    ok = relay.post("gh", body, {"X-GitHub-Event": "ping", "X-Hub-Signature-256": sign(body)})
    assert ok.status_code == 200 and ok.json["status"] == "ignored"
    reserialized = json.dumps(json.loads(body), indent=2).encode()
    bad = relay.post("gh", body, {"X-GitHub-Event": "ping", "X-Hub-Signature-256": sign(reserialized)})
    assert bad.status_code == 401
    bearer = relay.post("gh", body, {"X-GitHub-Event": "ping", **BEARER})
    assert bearer.status_code == 401, "github routes accept only signatures"


def test_unknown_route_is_404(make_relay):
    r = make_relay(GENERIC).post("nope", {"message": "x"}, BEARER)
    assert r.status_code == 404 and r.json["error"] == "unknown_route"


def test_invalid_json_and_schema_errors_are_400_with_details(make_relay):
    relay = make_relay(GENERIC)
    r = relay.post("generic", b"{not json", BEARER)
    assert r.status_code == 400 and r.json["error"] == "invalid_payload"
    r = relay.post("generic", {"title": "no message", "level": "loud"}, BEARER)
    assert r.status_code == 400
    assert set(r.json["details"]) == {"message", "level"}


def test_filtered_and_unsupported_events_are_ignored(make_relay, copera):
    relay = make_relay({"gh": {"source": "github", "channel": CHANNEL, "secret": SECRET, "events": ["release"]}})
    body = json.dumps({"ref": "refs/heads/main", "commits": []}).encode()
    r = relay.post("gh", body, {"X-GitHub-Event": "push", "X-Hub-Signature-256": sign(body)})
    assert r.status_code == 200
    assert r.json == {"status": "ignored", "reason": "event push is not in this route's events"}
    r = relay.post("gh", b"{}", {"X-GitHub-Event": "no_such_event", "X-Hub-Signature-256": sign(b"{}")})
    assert r.status_code == 200 and r.json["reason"] == "event no_such_event is not supported"
    relay.work()
    assert copera.messages == []


def test_redelivery_is_a_duplicate_and_posts_once(make_relay, copera):
    relay = make_relay({"gh": {"source": "github", "channel": CHANNEL, "secret": SECRET}})
    body = json.dumps({
        "ref": "refs/tags/v1.0", "ref_type": "tag", "master_branch": "main", "pusher_type": "user",
        "repository": {"name": "api", "full_name": "acme/api", "html_url": "https://github.com/acme/api"},
        "sender": {"login": "octocat", "html_url": "https://github.com/octocat"},
    }).encode()
    headers = {"X-GitHub-Event": "create", "X-GitHub-Delivery": "d-1", "X-Hub-Signature-256": sign(body)}
    first = relay.post("gh", body, headers)
    second = relay.post("gh", body, headers)
    assert first.status_code == 202
    assert second.status_code == 200
    assert second.json == {"status": "duplicate", "delivery_id": first.json["delivery_id"]}
    relay.work()
    assert len(copera.messages) == 1


def test_body_over_the_limit_is_413_json(make_relay):
    relay = make_relay(GENERIC, env={"RELAY_MAX_BODY_BYTES": "1000"})
    r = relay.post("generic", {"message": "x" * 2000}, BEARER)
    assert r.status_code == 413
    assert r.json["error"] == "payload_too_large"


def test_redis_down_is_503_with_retry_after_never_202(make_relay, redis_server):
    relay = make_relay(GENERIC)
    redis_server.stop()
    try:
        r = relay.post("generic", {"message": "x"}, BEARER)
        assert r.status_code == 503
        assert r.headers["Retry-After"]
        assert r.json["error"] == "unavailable"
        assert relay.client.get("/readyz").status_code == 503
        assert relay.client.get("/healthz").status_code == 200
    finally:
        redis_server.start()
    assert relay.client.get("/readyz").status_code == 200


def test_method_not_allowed_is_json(make_relay):
    r = make_relay(GENERIC).client.get("/hooks/generic")
    assert r.status_code == 405 and r.json["error"] == "method_not_allowed"


def test_dry_run_renders_and_logs_without_sending(make_relay, copera, caplog):
    relay = make_relay(GENERIC, dry_run=True)
    assert relay.post("generic", {"message": "hello dry run"}, BEARER).status_code == 202
    with caplog.at_level("INFO", logger="relay.delivery"):
        relay.work()
    assert copera.messages == []
    assert any(getattr(r, "text", "") == "🔵 **hello dry run**" for r in caplog.records)
    assert TOKEN not in caplog.text


def test_per_route_intake_limit_answers_429_with_retry_after(make_relay):
    relay = make_relay({"g": {**GENERIC["generic"], "max_requests_per_minute": 3}})
    responses = [relay.post("g", {"message": f"m{i}"}, BEARER) for i in range(7)]
    codes = [r.status_code for r in responses]
    # Three per minute window; seven quick requests span at most two windows.
    assert codes[:3] == [202, 202, 202] and codes.count(202) <= 6 and 429 in codes
    limited = next(r for r in responses if r.status_code == 429)
    assert 1 <= int(limited.headers["Retry-After"]) <= 61 and limited.json["error"] == "rate_limited"
    assert relay.post("g", {"message": "x"}, {"Authorization": "Bearer wrong"}).status_code == 401
