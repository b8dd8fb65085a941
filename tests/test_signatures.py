"""Forged senders, through the Flask app: every way of getting a signature or a secret almost right is
a 401, and only the right one gets through (202 queued, or 200 for a redelivery).

Decisions this file pins down (see SECURITY.md):
- hex digests are compared case-insensitively: `sha256=ABCD…` is the same digest as `sha256=abcd…`;
- the prefix itself is case-sensitive and exact (`sha256=`, `v1=`): `SHA256=…`, `sha1=…` are refused;
- a repeated header reaches the app folded into one comma-separated value (WSGI, RFC 9110 §5.3). For
  schemes that accept several values (PagerDuty, CircleCI, Standard Webhooks) that is the same as a
  list, where one right signature is enough; for the others it never matches;
- `?token=` sent twice is refused, whatever the values.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest
from werkzeug.datastructures import Headers, MultiDict

from bot.auth import REPLAY_WINDOW, AuthError, HmacSignature, SlackSignature, StandardWebhooks
from bot.config import ChannelRule, ConfigError, Route, parse_config
from bot.sources import SOURCES
from tests.conftest import CHANNEL
from tests.formatting import fixture_bytes

SECRET = "s3cret-for-signature-tests-0123"
WRONG = "s3cret-for-signature-tests-0124"
RENDER_SECRET = "whsec_" + base64.b64encode(b"render-key").decode()

# source -> (signature header, prefix, several values allowed, fixture, extra headers)
SIGNED = {
    "github": ("X-Hub-Signature-256", "sha256=", False, "push__commits.json", {"X-GitHub-Event": "push"}),
    "bitbucket": ("X-Hub-Signature", "sha256=", False, "repo_push__commits.json", {"X-Event-Key": "repo:push"}),
    "gitea": ("X-Gitea-Signature", "", False, "push__two_commits.json", {"X-Gitea-Event": "push"}),
    "gogs": ("X-Gogs-Signature", "", False, "push__one_commit.json", {"X-Gogs-Event": "push"}),
    "sentry": ("Sentry-Hook-Signature", "", False, "issue__resolved.json", {"Sentry-Hook-Resource": "issue"}),
    "circleci": ("circleci-signature", "v1=", True, "workflow-completed__failed.json", {}),
    "pagerduty": ("X-PagerDuty-Signature", "v1=", True, "incident.triggered__v3.json", {}),
    "checkly": ("x-checkly-signature", "", False, "ALERT_FAILURE__api_500.json", {}),
    "snyk": ("X-Hub-Signature", "sha256=", False, "project_snapshot__new_issues.json",
             {"X-Snyk-Event": "project_snapshot/v0"}),
}


def hexmac(body: bytes, secret: str = SECRET, algo=hashlib.sha256) -> str:
    return hmac.new(secret.encode(), body, algo).hexdigest()


@pytest.fixture
def relay(make_relay):
    routes = {name: {"source": name, "channel": CHANNEL, "secret": SECRET} for name in SIGNED}
    routes["gitlab"] = {"source": "gitlab", "channel": CHANNEL, "secret": SECRET}
    routes["generic"] = {"source": "generic", "channel": CHANNEL, "secret": SECRET}
    routes["std"] = {"source": "standard-webhooks", "channel": CHANNEL, "secret": SECRET}
    routes["vercel"] = {"source": "vercel", "channel": CHANNEL, "secret": SECRET}
    routes["render"] = {"source": "render", "channel": CHANNEL, "secret": RENDER_SECRET}
    routes["cloudflare-pages"] = {"source": "cloudflare-pages", "channel": CHANNEL, "secret": SECRET}
    return make_relay(routes, dry_run=True)


def post(relay, route: str, body: bytes, headers, query: str = ""):
    items = list(headers.items()) if isinstance(headers, dict) else list(headers)
    return relay.client.post(f"/hooks/{route}{query}", data=body,
                             headers=[("Content-Type", "application/json"), *items])


def _variants(name: str, body: bytes) -> dict[str, tuple[list, bool]]:
    """label -> (header items, accepted?) for one signing source."""
    header, prefix, several, _, extra = SIGNED[name]
    right = prefix + hexmac(body)
    reserialized = json.dumps(json.loads(body), indent=1, sort_keys=True).encode()
    other = prefix or "sha1="
    cases = {
        "right": ([(header, right)], True),
        "uppercase hex (accepted: same digest)": ([(header, prefix + hexmac(body).upper())], True),
        "surrounding spaces (accepted)": ([(header, f"  {right} ")], True),
        "wrong secret": ([(header, prefix + hexmac(body, WRONG))], False),
        "truncated by one": ([(header, right[:-1])], False),
        "truncated to half": ([(header, prefix + hexmac(body)[:32])], False),
        "extended": ([(header, right + "0")], False),
        "extended by a whole byte": ([(header, right + "ab")], False),
        "HMAC-SHA1 under sha1=": ([(header, "sha1=" + hexmac(body, algo=hashlib.sha1))], False),
        "HMAC-SHA1 under the right prefix": ([(header, prefix + hexmac(body, algo=hashlib.sha1))], False),
        "HMAC-SHA512 under the right prefix": ([(header, prefix + hexmac(body, algo=hashlib.sha512))], False),
        "plain SHA-256 of the body, no key": ([(header, prefix + hashlib.sha256(body).hexdigest())], False),
        "base64 instead of hex": ([(header, prefix + base64.b64encode(bytes.fromhex(hexmac(body))).decode())], False),
        "prefix in upper case": ([(header, prefix.upper() + hexmac(body))], not prefix),
        "other scheme's prefix": ([(header, ("v1=" if prefix != "v1=" else "sha256=") + hexmac(body))], False),
        "missing": ([], False),
        "empty": ([(header, "")], False),
        "prefix only": ([(header, other)], False),
        "over a re-serialized body": ([(header, prefix + hexmac(reserialized))], False),
        "over an empty body": ([(header, prefix + hexmac(b""))], False),
        "in another header": ([("X-Signature", right)], False),
        "secret itself as signature": ([(header, prefix + SECRET)], False),
        "Authorization: Bearer secret": ([("Authorization", f"Bearer {SECRET}")], False),
        "?token=secret": ([], False),
        "duplicated, both right": ([(header, right), (header, right)], several),
        "duplicated, wrong then right": ([(header, prefix + hexmac(body, WRONG)), (header, right)], several),
        "duplicated, right then wrong": ([(header, right), (header, prefix + hexmac(body, WRONG))], several),
        "non-ASCII": ([(header, prefix + "é" * 64)], False),
    }
    if several:
        cases.update({
            "list: wrong,right": ([(header, f"{prefix}{hexmac(body, WRONG)},{right}")], True),
            "list: right, wrong (space)": ([(header, f"{right}, {prefix}{hexmac(body, WRONG)}")], True),
            "list: other version,right": ([(header, f"v0={hexmac(body)},{right}")], True),
            "list: two wrong": ([(header, f"{prefix}{hexmac(body, WRONG)},{prefix}{'0' * 64}")], False),
            "list: right digest without prefix": ([(header, f"{prefix}{'0' * 64},{hexmac(body)}")], False),
            "list: only separators": ([(header, ",,,")], False),
        })
    else:
        cases["comma list with the right one"] = ([(header, f"{prefix}{hexmac(body, WRONG)},{right}")], False)
    return {label: ([*extra.items(), *items], ok) for label, (items, ok) in cases.items()}


CASES = [(name, label) for name in SIGNED for label in _variants(name, b"{}")]


@pytest.mark.parametrize("name, label", CASES, ids=[f"{n}: {label}" for n, label in CASES])
def test_hmac_signature_variants(relay, name, label):
    body = fixture_bytes(name, SIGNED[name][3])
    headers, accepted = _variants(name, body)[label]
    query = f"?token={SECRET}" if label == "?token=secret" else ""
    response = post(relay, name, body, headers, query)
    assert response.is_json
    if accepted:
        assert response.status_code in (200, 202), response.json
        assert response.json.get("status") in ("queued", "duplicate", "ignored"), response.json
    else:
        assert response.status_code == 401, response.json
        assert response.json["error"] == "unauthorized"
        assert SECRET not in response.get_data(as_text=True)
        assert "WWW-Authenticate" not in response.headers  # signing routes do not invite Basic auth


def test_a_signature_is_only_good_for_its_own_body(relay):
    body = fixture_bytes("github", "push__commits.json")
    tampered = body.replace(b'"main"', b'"prod"', 1)
    assert tampered != body
    headers = {"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + hexmac(body)}
    assert post(relay, "github", tampered, headers).status_code == 401
    assert post(relay, "github", body, headers).status_code == 202


# -- Sentry's timestamp -----------------------------------------------------------------------------

@pytest.mark.parametrize("stamp, accepted", [
    (None, True), ("now", True), (-240, True), (240, True), ("now.5", True),
    (-REPLAY_WINDOW - 60, False), (REPLAY_WINDOW + 60, False), (-86400, False), ("0", False),
    ("", True), ("yesterday", False), ("1e99", False), ("nan", False), ("9" * 5000, False),
])
def test_sentry_hook_timestamp_when_present_must_be_recent(relay, stamp, accepted):
    body = fixture_bytes("sentry", "issue__resolved.json")
    headers = {"Sentry-Hook-Resource": "issue", "Sentry-Hook-Signature": hexmac(body)}
    now = int(time.time())
    if stamp == "now":
        headers["Sentry-Hook-Timestamp"] = str(now)
    elif stamp == "now.5":
        headers["Sentry-Hook-Timestamp"] = f"{now}.5"
    elif isinstance(stamp, int):
        headers["Sentry-Hook-Timestamp"] = str(now + stamp)
    elif stamp is not None:
        headers["Sentry-Hook-Timestamp"] = stamp
    response = post(relay, "sentry", body, headers)
    assert response.status_code == (202 if accepted else 401), response.json


# -- GitLab's token header --------------------------------------------------------------------------

@pytest.mark.parametrize("headers, accepted", [
    ([("X-Gitlab-Token", SECRET)], True),
    ([("X-Gitlab-Token", f" {SECRET} ")], True),
    ([("X-Gitlab-Token", WRONG)], False),
    ([("X-Gitlab-Token", SECRET[:-1])], False),
    ([("X-Gitlab-Token", SECRET + "x")], False),
    ([("X-Gitlab-Token", SECRET.upper())], False),
    ([("X-Gitlab-Token", "")], False),
    ([], False),
    ([("X-Gitlab-Token", SECRET), ("X-Gitlab-Token", SECRET)], False),
    ([("X-Gitlab-Token", WRONG), ("X-Gitlab-Token", SECRET)], False),
    ([("Authorization", f"Bearer {SECRET}")], False),
    ([("X-Gitlab-Token", "sha256=" + hexmac(b"{}"))], False),
])
def test_gitlab_token_header(relay, headers, accepted):
    body = fixture_bytes("gitlab", "push__two_commits.json")
    response = post(relay, "gitlab", body, [("X-Gitlab-Event", "Push Hook"), *headers])
    assert response.status_code == (202 if accepted else 401), response.json


def test_gitlab_token_in_the_query_string_is_not_enough(relay):
    body = fixture_bytes("gitlab", "push__two_commits.json")
    response = post(relay, "gitlab", body, {"X-Gitlab-Event": "Push Hook"}, f"?token={SECRET}")
    assert response.status_code == 401


# -- shared secrets -------------------------------------------------------------------------------

def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize("headers, query, accepted", [
    ({"Authorization": f"Bearer {SECRET}"}, "", True),
    ({"Authorization": f"bearer {SECRET}"}, "", True),
    ({"Authorization": f"Bearer   {SECRET}  "}, "", True),
    ({"Authorization": basic("relay", SECRET)}, "", True),
    ({"Authorization": basic("", SECRET)}, "", True),
    ({}, f"?token={SECRET}", True),
    ({"Authorization": "Token whatever"}, f"?token={SECRET}", True),  # an unknown scheme falls back to ?token=
    ({"Authorization": f"Bearer {WRONG}"}, "", False),
    ({"Authorization": "Bearer "}, "", False),
    ({"Authorization": "Bearer"}, "", False),
    ({"Authorization": f"Bearer {SECRET[:-1]}"}, "", False),
    ({"Authorization": f"Bearer {SECRET}x"}, "", False),
    ({"Authorization": f"Bearer {SECRET.upper()}"}, "", False),
    ({"Authorization": SECRET}, "", False),
    ({"Authorization": basic("relay", WRONG)}, "", False),
    ({"Authorization": basic(SECRET, "x")}, "", False),  # the secret as user name is not the password
    ({"Authorization": basic("relay", "")}, "", False),
    ({"Authorization": "Basic " + base64.b64encode(SECRET.encode()).decode()}, "", False),  # no colon
    ({"Authorization": "Basic !!!not-base64"}, "", False),
    ({"Authorization": "Basic " + base64.b64encode(b"relay:\xff\xfe").decode()}, "", False),
    ({"Authorization": f"Bearer {WRONG}"}, f"?token={SECRET}", False),  # a wrong header is not overruled
    ({}, f"?token={WRONG}", False),
    ({}, "?token=", False),
    ({}, "?token", False),
    ({}, f"?token={SECRET}&token={SECRET}", False),
    ({}, f"?token={WRONG}&token={SECRET}", False),
    ({}, f"?Token={SECRET}", False),
    ({}, f"?token={SECRET}%00", False),
    ({}, "?token=%ff%fe", False),
    ({}, "", False),
])
def test_shared_secret(relay, headers, query, accepted):
    response = post(relay, "generic", b'{"message": "hello"}', headers, query)
    assert response.status_code in ((200, 202) if accepted else (401,)), response.json
    if not accepted:
        assert response.headers["WWW-Authenticate"] == 'Basic realm="copera-relay"'
        assert SECRET not in response.get_data(as_text=True)


def test_shared_secret_authorization_header_duplicated(relay):
    items = [("Authorization", f"Bearer {SECRET}"), ("Authorization", f"Bearer {SECRET}")]
    assert post(relay, "generic", b'{"message": "x"}', items).status_code == 401


# -- Vercel: the same scheme over HMAC-SHA1 ------------------------------------------------------

def test_vercel_sha1_signature_through_the_app(relay):
    body = fixture_bytes("vercel", "deployment.succeeded__production.json")
    sha1 = hexmac(body, algo=hashlib.sha1)
    refused = {
        "HMAC-SHA256 (the default scheme's digest)": hexmac(body),
        "wrong secret": hexmac(body, WRONG, algo=hashlib.sha1),
        "over a re-serialized body": hexmac(json.dumps(json.loads(body), indent=1).encode(), algo=hashlib.sha1),
        "plain SHA-1 of the body, no key": hashlib.sha1(body).hexdigest(),
        "truncated by one": sha1[:-1],
        "under a sha1= prefix": "sha1=" + sha1,
        "empty": "",
    }
    for label, value in refused.items():
        response = post(relay, "vercel", body, {"x-vercel-signature": value})
        assert response.status_code == 401, label
    assert post(relay, "vercel", body, {}).status_code == 401
    assert post(relay, "vercel", body, {"Authorization": f"Bearer {SECRET}"}).status_code == 401
    assert post(relay, "vercel", body, {"x-vercel-signature": sha1.upper()}).status_code == 202
    # Vercel redelivers with the same event id: answered as a duplicate.
    again = post(relay, "vercel", body, {"x-vercel-signature": sha1})
    assert again.status_code == 200 and again.json["status"] == "duplicate"


def test_hmac_signature_digest_is_checked_and_described():
    assert "HMAC-SHA1 " in HmacSignature("x-vercel-signature", digest="sha1").description
    assert "HMAC-SHA256 " in HmacSignature("X-Hub-Signature-256", prefix="sha256=").description
    with pytest.raises(ValueError, match="md5"):
        HmacSignature("X-Sig", digest="md5")
    body = b'{"a": 1}'
    HmacSignature("X-Sig", digest="sha1").verify({"X-Sig": hexmac(body, algo=hashlib.sha1)}, {}, body, SECRET)
    with pytest.raises(AuthError):
        HmacSignature("X-Sig").verify({"X-Sig": hexmac(body, algo=hashlib.sha1)}, {}, body, SECRET)


# -- Standard Webhooks and Slack signing, through the app ------------------------------------------

def _std(body: bytes, stamp: int, msg_id: str = "msg_1", secret: str = SECRET) -> dict:
    return {"webhook-id": msg_id, "webhook-timestamp": str(stamp),
            "webhook-signature": StandardWebhooks().sign(secret, msg_id, stamp, body)}


def test_standard_webhooks_through_the_app(relay):
    body = fixture_bytes("standard-webhooks", "user.created__clerk.json")
    now = int(time.time())
    assert post(relay, "std", body, _std(body, now)).status_code == 202
    # A replay inside the window repeats the message id: answered as a duplicate, posted once.
    replay = post(relay, "std", body, _std(body, now))
    assert replay.status_code == 200 and replay.json["status"] == "duplicate"
    for stamp in (now - REPLAY_WINDOW - 30, now + REPLAY_WINDOW + 30):
        r = post(relay, "std", body, _std(body, stamp, msg_id=f"msg_{stamp}"))
        assert r.status_code == 401 and "webhook-timestamp" in r.json["message"]
    assert post(relay, "std", body, _std(body, now, secret=WRONG)).status_code == 401
    assert post(relay, "std", body, {**_std(body, now), "webhook-id": "msg_2"}).status_code == 401
    missing = _std(body, now)
    del missing["webhook-timestamp"]
    assert post(relay, "std", body, missing).status_code == 401
    assert post(relay, "std", body, {"Authorization": f"Bearer {SECRET}"}).status_code == 401
    duplicated = [*_std(body, now, "msg_3").items(), ("webhook-id", "msg_3")]
    assert post(relay, "std", body, duplicated).status_code == 401


def test_render_is_standard_webhooks_signed(relay):
    secret = RENDER_SECRET
    body = fixture_bytes("render", "deploy_ended__succeeded.json")
    now = int(time.time())
    assert post(relay, "render", body, _std(body, now, "msg_r1", secret)).status_code == 202
    again = post(relay, "render", body, _std(body, now, "msg_r1", secret))
    assert again.status_code == 200 and again.json["status"] == "duplicate"
    for stamp in (now - REPLAY_WINDOW - 30, now + REPLAY_WINDOW + 30):
        stale = post(relay, "render", body, _std(body, stamp, f"msg_{stamp}", secret))
        assert stale.status_code == 401 and "webhook-timestamp" in stale.json["message"]
    # Keyed with the secret's text instead of the base64 key it carries: forged.
    assert post(relay, "render", body, _std(body, now, "msg_r2", secret.removeprefix("whsec_"))).status_code == 401
    other = "whsec_" + base64.b64encode(b"other-key").decode()
    assert post(relay, "render", body, _std(body, now, "msg_r6", other)).status_code == 401
    assert post(relay, "render", body, _std(body, now, "msg_r3", SECRET)).status_code == 401
    assert post(relay, "render", body, {**_std(body, now, "msg_r4", secret), "webhook-id": "msg_r5"}).status_code == 401
    assert post(relay, "render", body, {"Authorization": f"Bearer {secret}"}).status_code == 401


# -- Cloudflare Notifications: the destination's secret, verbatim, in cf-webhook-auth ------------

def test_cloudflare_pages_secret_header_through_the_app(relay):
    body = fixture_bytes("cloudflare-pages", "pages_event_alert__production_success.json")
    refused = {
        "wrong secret": [("cf-webhook-auth", WRONG)],
        "truncated": [("cf-webhook-auth", SECRET[:-1])],
        "empty": [("cf-webhook-auth", "")],
        "missing": [],
        "as a bearer token instead": [("Authorization", f"Bearer {SECRET}")],
        "an HMAC of the body instead": [("cf-webhook-auth", hexmac(body))],
        "sent twice": [("cf-webhook-auth", SECRET), ("cf-webhook-auth", SECRET)],
    }
    for label, headers in refused.items():
        assert post(relay, "cloudflare-pages", body, headers).status_code == 401, label
    assert post(relay, "cloudflare-pages", body, {"cf-webhook-auth": SECRET}, f"?token={WRONG}").status_code == 202
    assert post(relay, "cloudflare-pages", body, {}, f"?token={SECRET}").status_code == 401
    again = post(relay, "cloudflare-pages", body, {"cf-webhook-auth": SECRET})
    assert again.status_code == 200 and again.json["status"] == "duplicate"


@pytest.mark.parametrize("offset, accepted", [(0, True), (-240, True), (240, True),
                                              (-REPLAY_WINDOW - 1, False), (REPLAY_WINDOW + 1, False)])
def test_slack_signing_rejects_stale_and_future_requests(offset, accepted):
    now = 1_700_000_000
    auth = SlackSignature(clock=lambda: now)
    body = b"token=x&team_id=T1&text=hello"
    stamp = now + offset
    headers = {"X-Slack-Request-Timestamp": str(stamp), "X-Slack-Signature": auth.sign(SECRET, stamp, body)}
    if accepted:
        auth.verify(headers, {}, body, SECRET)
    else:
        with pytest.raises(AuthError, match="X-Slack-Request-Timestamp"):
            auth.verify(headers, {}, body, SECRET)


def test_slack_signing_known_vector_and_forgeries():
    # The example from Slack's "Verifying requests from Slack" documentation.
    secret = "8f742231b10e8888abcd99yyyzzz85a5"
    body = (b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
            b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
            b"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
            b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c")
    auth = SlackSignature(clock=lambda: 1531420618)
    good = {"X-Slack-Request-Timestamp": "1531420618",
            "X-Slack-Signature": "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"}
    auth.verify(good, {}, body, secret)
    auth.verify({**good, "X-Slack-Signature": good["X-Slack-Signature"].upper().replace("V0=", "v0=")}, {}, body,
                secret)
    for forged in ({**good, "X-Slack-Signature": good["X-Slack-Signature"][:-1]},
                   {**good, "X-Slack-Signature": "v1=" + good["X-Slack-Signature"][3:]},
                   {**good, "X-Slack-Request-Timestamp": "1531420619"},
                   {"X-Slack-Signature": good["X-Slack-Signature"]},
                   {**good, "X-Slack-Signature": ""}):
        with pytest.raises(AuthError):
            auth.verify(forged, {}, body, secret)
    with pytest.raises(AuthError):
        auth.verify(good, {}, body + b"&x=1", secret)


# -- Secrets no request could be held to ------------------------------------------------------------

UNUSABLE = ["", " ", "\t\n "]
UNUSABLE_WHSEC = ["whsec_", "whsec_${EMPTY}", "whsec_ ", "whsec_not*base64!", "whsec_YWJ"]


@pytest.mark.parametrize("source", sorted(SOURCES))
@pytest.mark.parametrize("secret", UNUSABLE)
def test_an_empty_or_blank_secret_stops_the_relay_at_start_up(source, secret):
    for unauthenticated in (False, True):
        route = {"source": source, "channel": CHANNEL, "secret": secret, "allow_unauthenticated": unauthenticated}
        with pytest.raises(ConfigError) as err:
            parse_config({"routes": {"r1": route}}, {})
        assert "route 'r1', field 'secret'" in str(err.value)


@pytest.mark.parametrize("secret", UNUSABLE_WHSEC)
def test_a_whsec_secret_without_a_valid_key_stops_the_relay_at_start_up(secret):
    route = {"source": "standard-webhooks", "channel": CHANNEL, "secret": secret}
    with pytest.raises(ConfigError) as err:
        parse_config({"routes": {"std": route}}, {"EMPTY": ""})
    message = str(err.value)
    assert "route 'std', field 'secret'" in message and "whsec_" in message
    tail = secret.removeprefix("whsec_").strip()
    assert not tail or tail not in message  # the error describes the secret, never repeats it


def test_a_valid_whsec_secret_is_accepted():
    key = base64.b64encode(b"k" * 24).decode()
    config = parse_config({"routes": {"std": {"source": "standard-webhooks", "channel": CHANNEL,
                                              "secret": f"whsec_{key}"}}}, {})
    assert StandardWebhooks.key(config.routes["std"].secret) == b"k" * 24


def _empty_key_request(source: str, body: bytes) -> tuple[dict, dict]:
    """Headers and query a forger would send to a route whose key is empty: every scheme's
    credential computed with b"" (or the empty string itself)."""
    auth = SOURCES[source].auth
    if source in SIGNED:
        header, prefix, _, _, extra = SIGNED[source]
        return {**extra, header: prefix + hmac.new(b"", body, hashlib.sha256).hexdigest()}, {}
    if isinstance(auth, HmacSignature):
        return {auth.header: auth.prefix + hmac.new(b"", body, getattr(hashlib, auth.digest)).hexdigest()}, {}
    if isinstance(auth, StandardWebhooks):
        stamp = int(time.time())
        mac = hmac.new(b"", f"m1.{stamp}.".encode() + body, hashlib.sha256).digest()
        return {"webhook-id": "m1", "webhook-timestamp": str(stamp),
                "webhook-signature": "v1," + base64.b64encode(mac).decode()}, {}
    if source == "gitlab":
        return {"X-Gitlab-Token": ""}, {}
    return {"Authorization": "Basic " + base64.b64encode(b"relay:").decode()}, {"token": ""}


@pytest.mark.parametrize("source, secret", [*((s, secret) for s in sorted(SOURCES) for secret in UNUSABLE),
                                            ("standard-webhooks", "whsec_"), ("standard-webhooks", "whsec_ ")])
def test_a_route_with_an_unusable_secret_refuses_every_request(source, secret):
    """Defence in depth: a route built without the configuration's checks never verifies."""
    route = Route(name="r", source=SOURCES[source], channels=(ChannelRule(CHANNEL),), secret=secret)
    body = b'{"message": "forged"}'
    headers, query = _empty_key_request(source, body)
    with pytest.raises(AuthError) as err:
        route.authenticate(Headers(headers), MultiDict(query), body)
    assert "secret" in str(err.value)
