"""Property tests with generated hostile input (hypothesis, schemathesis); deterministic for CI.

(a) For every source, payloads built from that source's own fixtures and then broken (keys dropped,
    wrong types, None, huge strings, deep nesting, hostile text, invalid UTF-8, wrong content
    types, non-object roots) are posted through the Flask app with valid credentials for the
    source's scheme: the relay never answers 5xx, and always answers a JSON object.
(b) Every one of those bodies that `Source.receive()` accepts formats and renders without raising,
    within 10,000 characters, and the message is safe (links, fences, mentions, status lines; see
    tests/test_markdown_safety.py): formatters are total.
(c) schemathesis drives the app through its own /openapi.json (WSGI, no network): no 5xx, and
    every response conforms to the document.

`derandomize=True` seeds hypothesis from each test, so CI runs the same examples every time; the
example database is off so nothing is written next to the tests. Each test asserts that it spent
its budget and reached the answers it is there for; after the file, the number of generated requests
and the time taken are printed (with `-s`), e.g. for a changelog or a review.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import io
import json
import os
import time
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlencode

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import negative_data_rejection, positive_data_acceptance

from bot import markdown as md
from bot.auth import HmacSignature, SharedSecret, SlackSignature, StandardWebhooks, TokenHeader
from bot.message import render
from bot.openapi import init_app as init_openapi
from bot.sources import SOURCES
from bot.sources.base import Ignored, PayloadError
from tests.conftest import CHANNEL
from tests.formatting import FIXTURES, Headers, event_for_fixture
from tests.test_markdown_safety import NASTY, problems

SECRET = "fuzz-secret-0123456789abcdef"
ADMIN_TOKEN = "fuzz-admin-token-0123456789"
METRICS_TOKEN = "fuzz-metrics-token-0123456789"
MAX_BODY = 262_144
# FUZZ_SCALE=10 multiplies every example count, for a longer hunt than CI's (still deterministic).
SCALE = max(1, int(os.environ.get("FUZZ_SCALE", "1")))
EXAMPLES_PER_SOURCE = 210 * SCALE  # through HTTP
EXAMPLES_PER_SOURCE_DIRECT = 150 * SCALE  # Source.receive() and the formatter, without HTTP
# Per operation; the ones without parameters have a single possible request.
SCHEMATHESIS_EXAMPLES = {"POST /hooks/{route}": 1_500 * SCALE}
SCHEMATHESIS_DEFAULT_EXAMPLES = 150 * SCALE

COUNTS = {"http": 0, "direct": 0, "accepted_by_receive": 0, "rendered": 0, "schemathesis": 0}
STATUSES: dict[str, int] = {}

# Hypothesis' health checks guard against accidents; each one switched off here is deliberate:
# - function_scoped_fixture: one relay (app + Redis) per source is shared by all its examples on
#   purpose; nothing in it needs resetting between examples.
# - too_slow / data_too_large / large_base_example: the strategies build megabyte strings and
#   64-level nesting on purpose.
FUZZ_SETTINGS = settings(
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=False,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                           HealthCheck.data_too_large, HealthCheck.large_base_example],
)


# -- fixtures and events ---------------------------------------------------------------------------

def _decode_fixture(source, path: Path):
    """(payload, how it is encoded) of a fixture file."""
    raw = path.read_bytes()
    if path.suffix == ".txt":
        form = parse_qs(raw.decode(), keep_blank_values=True)
        if "payload" in form:
            return json.loads(form["payload"][0]), "form_payload"
        return {k: v[0] for k, v in form.items()}, "form_fields"
    return json.loads(raw), "json"


FIXTURE_SETS = {
    name: [(p.name, *_decode_fixture(source, p)) for p in sorted((FIXTURES / name).glob("*.*"))]
    for name, source in SOURCES.items()
}


# -- credentials -----------------------------------------------------------------------------------

def credentials(auth, body: bytes, secret: str = SECRET, how: int = 0) -> tuple[dict, str]:
    """Headers and query string that authenticate `body` for `auth` (`how` picks a variant)."""
    if isinstance(auth, HmacSignature):
        sig = auth.prefix + hmac.new(secret.encode(), body, getattr(hashlib, auth.digest)).hexdigest()
        headers = {auth.header: sig}
        if auth.timestamp_header and how % 2:
            headers[auth.timestamp_header] = str(int(time.time()))
        return headers, ""
    if isinstance(auth, TokenHeader):
        return {auth.header: secret}, ""
    if isinstance(auth, StandardWebhooks):
        msg_id, stamp = f"msg_{uuid.uuid4().hex}", str(int(time.time()))
        return {"webhook-id": msg_id, "webhook-timestamp": stamp,
                "webhook-signature": auth.sign(secret, msg_id, stamp, body)}, ""
    if isinstance(auth, SlackSignature):
        stamp = str(int(time.time()))
        return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": auth.sign(secret, stamp, body)}, ""
    if isinstance(auth, SharedSecret):
        if how % 3 == 1:
            return {"Authorization": "Basic " + base64.b64encode(f"relay:{secret}".encode()).decode()}, ""
        if how % 3 == 2:
            return {}, urlencode({"token": secret})
        return {"Authorization": f"Bearer {secret}"}, ""
    raise AssertionError(f"no credentials for {auth!r}")


# -- payload mutations -----------------------------------------------------------------------------

def _nodes(node, path=()):
    """Every (path) below the root: container entries and leaves alike."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield (*path, k)
            yield from _nodes(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield (*path, i)
            yield from _nodes(v, (*path, i))


def _parent(root, path):
    for key in path[:-1]:
        root = root[key]
    return root


def _nest(value, depth: int, as_list: bool):
    for _ in range(depth):
        value = [value] if as_list else {"n": value}
    return value


WRONG_TYPES = [None, 0, -1, 1, 2**63, -(2**70), 1.5, -0.0, 1e308, float("nan"), float("inf"), True, False, "", " ",
               "0", "null", "true", "[]", "{}", [], {}, [None], [""], [[]], {"": None}, {"a": {"b": []}},
               "2026-13-45T99:99:99Z", "not-a-url", "https://", "refs/heads/", "-1"]


@st.composite
def huge_string(draw):
    size = draw(st.sampled_from([5_000, 40_000, 120_000, 300_000]))
    unit = draw(st.sampled_from(["x", "é", "🚨", "`", "\n", "a\n", "@everyone ", "[x](javascript:1)", "\u202e",
                                 "\\", "*_", " "]))
    return (unit * (size // len(unit) + 1))[:size]


def _leaf_value():
    return st.one_of(
        st.sampled_from(WRONG_TYPES),
        st.sampled_from(NASTY),
        st.text(max_size=30),
        st.integers(),
        st.floats(),
        huge_string(),
    )


@st.composite
def mutate(draw, payload):
    payload = copy.deepcopy(payload)
    for _ in range(draw(st.integers(1, 4))):
        paths = list(_nodes(payload))
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        if len(path) > 120:  # keep generated nesting within what the test itself can walk
            continue
        parent, key = _parent(payload, path), path[-1]
        kind = draw(st.sampled_from(["drop", "none", "type", "type", "nasty", "huge", "nest", "wrap", "empty"]))
        if kind == "drop":
            del parent[key]
        elif kind == "none":
            parent[key] = None
        elif kind == "type":
            # deepcopy: the [] and {} in WRONG_TYPES must not be shared between examples.
            parent[key] = copy.deepcopy(draw(st.sampled_from(WRONG_TYPES) | st.integers() | st.floats()
                                             | st.booleans()))
        elif kind == "nasty":
            parent[key] = draw(st.sampled_from(NASTY))
        elif kind == "huge":
            parent[key] = draw(huge_string())
        elif kind == "nest":
            depth = draw(st.sampled_from([5, 30, 62, 66, 100]))
            parent[key] = _nest(parent[key], depth, draw(st.booleans()))
        elif kind == "wrap":  # the right value, one level off: "x" -> ["x"], {"a": 1} -> [{"a": 1}]
            value = parent[key]
            parent[key] = {"list": [value], "object": {"value": value}, "string": json.dumps(value)}[
                draw(st.sampled_from(["list", "object", "string"]))]
        elif kind == "empty":
            value = parent[key]
            parent[key] = type(value)() if isinstance(value, (dict, list, str)) else None
    return payload


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=25,
)
CONTENT_TYPES = ["application/json", "application/json; charset=utf-8", "text/plain", "application/xml",
                 "multipart/form-data; boundary=xyz", "application/x-www-form-urlencoded", "",
                 "application/json; charset=latin-1", "application/vnd.api+json", "text/html"]


@st.composite
def webhook(draw, name: str):
    """(body, content type, headers without credentials, fixture payload or None)."""
    source = SOURCES[name]
    fixture, payload, encoding = draw(st.sampled_from(FIXTURE_SETS[name]))
    headers = {}
    if source.event_header:
        event = event_for_fixture(source, fixture)
        choice = draw(st.sampled_from(range(20)))
        if choice == 0:
            event = draw(st.sampled_from(sorted(source.events)))  # another event's schema, this payload
        elif choice == 1:
            event = draw(st.text(max_size=20).filter(lambda s: s.isprintable()))
        if choice != 2:
            headers[source.event_header] = event
    mode = draw(st.sampled_from(range(20)))
    if mode < 15:
        payload = draw(mutate(payload))
    elif mode < 17:
        payload = draw(_JSON_VALUES)
    elif mode == 17:
        payload = copy.deepcopy(draw(st.sampled_from([None, [], "", 0, [payload], "string", {}])))
    if mode == 18:
        body = draw(st.binary(max_size=200))
        ctype = draw(st.sampled_from(CONTENT_TYPES))
        return body, ctype, headers
    # Encode it the way the fixture was sent, or another way.
    encoding = draw(st.sampled_from([encoding] * 6 + ["json", "form_payload", "form_fields", "odd_ctype"]))
    if encoding == "form_payload":
        body, ctype = urlencode({"payload": json.dumps(payload)}).encode(), "application/x-www-form-urlencoded"
    elif encoding == "form_fields" and isinstance(payload, dict):
        body = urlencode({str(k): json.dumps(v) if not isinstance(v, str) else v for k, v in payload.items()}).encode()
        ctype = "application/x-www-form-urlencoded"
    else:
        body, ctype = json.dumps(payload, ensure_ascii=draw(st.booleans())).encode(), "application/json"
        if encoding == "odd_ctype":
            ctype = draw(st.sampled_from(CONTENT_TYPES))
    corruption = draw(st.sampled_from(range(16)))
    if corruption and corruption <= 4 and body:
        at = draw(st.integers(0, len(body)))
        junk = draw(st.sampled_from([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\x00",
                                     b"\xef\xbb\xbf", b"%ff", b"\\ud800", b"\\udfff\\ud800"]))
        body = body[:at] + junk + body[at:]
    elif corruption == 5 and body:
        body = body[: draw(st.integers(0, len(body) - 1))]
    return body, ctype, headers


def _assert_json_answer(response, context: str) -> dict:
    assert response.status_code < 500, f"{context}: {response.status_code} {response.get_data()[:300]!r}"
    assert response.mimetype == "application/json", f"{context}: {response.mimetype} {response.get_data()[:200]!r}"
    answer = json.loads(response.get_data())
    assert isinstance(answer, dict) and ("status" in answer or "error" in answer), f"{context}: {answer}"
    return answer


def _format_and_check(source, body: bytes, ctype: str, headers: dict) -> bool:
    """(b): a body the source accepts always formats and renders, safely and within the limit.
    Returns whether the source accepted it (and so the formatter ran)."""
    try:
        incoming = source.receive(body, ctype, Headers(headers))
    except (PayloadError, Ignored):
        return False
    COUNTS["accepted_by_receive"] += 1
    messages = source.format(incoming.event, incoming.payload)
    for message in messages:
        text = render(message)
        COUNTS["rendered"] += 1
        assert len(text) <= md.MAX_MESSAGE
        found = problems(text, first_line_is_status=True)
        assert not found, f"{source.name} {incoming.event}: {found[:3]}\n{text[:1500]}"
    return True


@pytest.fixture
def fuzz_relay(make_relay):
    routes = {f"r-{name}": {"source": name, "channel": CHANNEL, "secret": SECRET} for name in SOURCES}
    return make_relay(routes, env={"RELAY_MAX_BODY_BYTES": str(MAX_BODY)}, dry_run=True)


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_hostile_payloads_never_5xx_and_formatters_are_total(name, fuzz_relay):
    source = SOURCES[name]
    client = fuzz_relay.client

    @settings(FUZZ_SETTINGS, max_examples=EXAMPLES_PER_SOURCE)
    # sampled_from rather than integers(): hypothesis favours the ends of integer ranges.
    # One request in 25 carries a wrong secret and must be refused whatever its body.
    @given(request=webhook(name), how=st.sampled_from(range(6)), authentic=st.sampled_from([True] * 24 + [False]))
    def check(request, how, authentic):
        body, ctype, headers = request
        auth_headers, query = credentials(source.auth, body, SECRET if authentic else "not-" + SECRET, how)
        sent = {**headers, **auth_headers}
        if ctype:
            sent["Content-Type"] = ctype
        # input_stream: the exact bytes, also for an empty multipart body (data=b"" would make the
        # test client build a form of its own).
        response = client.post(f"/hooks/r-{name}" + (f"?{query}" if query else ""), input_stream=io.BytesIO(body),
                               content_length=len(body), headers=sent)
        COUNTS["http"] += 1
        seen[authentic] += 1
        answer = _assert_json_answer(response, name)
        if len(body) > MAX_BODY:  # the size limit applies before anything is read
            assert response.status_code == 413, answer
        elif not authentic:
            assert response.status_code == 401, answer
        else:
            assert response.status_code in (200, 202, 400), answer
        if authentic and len(body) <= MAX_BODY:
            _format_and_check(source, body, ctype, headers)

    seen = {True: 0, False: 0}
    check()
    # The whole budget was spent, on authentic requests and on refused ones alike.
    assert seen[True] + seen[False] >= EXAMPLES_PER_SOURCE * 0.9 and seen[False] > 0, seen


@st.composite
def accepted_candidate(draw, name: str):
    """A fixture of the source with a few fields broken, sent the way the fixture is: many of these
    still pass validation, which is what (b) needs to exercise the formatters."""
    source = SOURCES[name]
    fixture, payload, encoding = draw(st.sampled_from(FIXTURE_SETS[name]))
    headers = {source.event_header: event_for_fixture(source, fixture)} if source.event_header else {}
    payload = draw(mutate(payload))
    if encoding == "form_payload":
        return urlencode({"payload": json.dumps(payload)}).encode(), "application/x-www-form-urlencoded", headers
    if encoding == "form_fields" and isinstance(payload, dict):
        fields = {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in payload.items()}
        return urlencode(fields).encode(), "application/x-www-form-urlencoded", headers
    return json.dumps(payload).encode(), "application/json", headers


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_every_accepted_payload_formats_and_renders_safely(name):
    source = SOURCES[name]

    @settings(FUZZ_SETTINGS, max_examples=EXAMPLES_PER_SOURCE_DIRECT)
    @given(request=accepted_candidate(name))
    def check(request):
        body, ctype, headers = request
        COUNTS["direct"] += 1
        seen["examples"] += 1
        seen["formatted"] += _format_and_check(source, body, ctype, headers)

    seen = {"examples": 0, "formatted": 0}
    check()
    # (b) is about the formatters: if the broken fixtures stopped reaching them (a stricter schema
    # rejects them all), this test would pass while proving nothing. 10 is well below every source's
    # share today (17 to 150 of 150).
    assert seen["examples"] >= EXAMPLES_PER_SOURCE_DIRECT * 0.9, seen
    assert seen["formatted"] >= 10 * SCALE, seen


# -- (c) schemathesis against the OpenAPI document -------------------------------------------------

SCHEMA_ROUTES = {
    "generic": {"source": "generic", "channel": CHANNEL, "secret": SECRET},
    "json": {"source": "json", "channel": CHANNEL, "secret": SECRET, "max_requests_per_minute": 50},
    "gh": {"source": "github", "channel": CHANNEL, "secret": SECRET},
    "gl": {"source": "gitlab", "channel": CHANNEL, "secret": SECRET},
    "std": {"source": "standard-webhooks", "channel": CHANNEL, "secret": SECRET},
    "open": {"source": "json", "channel": CHANNEL, "allow_unauthenticated": True},
}


@pytest.fixture
def api_relay(make_relay):
    relay = make_relay(SCHEMA_ROUTES, env={"RELAY_ADMIN_TOKEN": ADMIN_TOKEN, "METRICS_TOKEN": METRICS_TOKEN,
                                           "RELAY_MAX_BODY_BYTES": str(MAX_BODY)}, dry_run=True)
    init_openapi(relay.app)
    return relay


def test_openapi_document_is_served_and_describes_every_endpoint(api_relay):
    response = api_relay.client.get("/openapi.json")
    assert response.status_code == 200 and response.is_json
    doc = response.get_json()
    assert doc["openapi"].startswith("3.")
    # The console's pages are for a browser, not a client of the API: the document leaves them out.
    rules = {r.rule.replace("<route_name>", "{route}") for r in api_relay.app.url_map.iter_rules()
             if r.endpoint != "static" and not r.endpoint.startswith("console.")}
    assert rules == set(doc["paths"]), rules ^ set(doc["paths"])
    hooks = doc["paths"]["/hooks/{route}"]["post"]["responses"]
    assert set(hooks) == {"200", "202", "400", "401", "404", "413", "429", "503"}
    schemes = doc["components"]["securitySchemes"]
    for header in ("X-Hub-Signature-256", "X-Gitlab-Token", "Sentry-Hook-Signature", "webhook-signature"):
        assert any(s.get("name") == header for s in schemes.values()), header
    assert SECRET not in response.get_data(as_text=True)


def _with_credentials(case, draw):
    """Makes part of the generated requests authentic, so the 2xx answers are exercised too."""
    path = case.operation.path
    authentic = draw(st.sampled_from([True, True, True, False]))
    if path.startswith("/admin") and authentic:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {ADMIN_TOKEN}"}
    elif path == "/metrics" and authentic:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {METRICS_TOKEN}"}
    elif path == "/hooks/{route}" and authentic:
        route = draw(st.sampled_from(sorted(SCHEMA_ROUTES)))
        case.path_parameters = {**(case.path_parameters or {}), "route": route}
    return case


def _body_bytes(case) -> bytes | None:
    body = case.body
    if isinstance(body, (bytes, str)):
        return body.encode() if isinstance(body, str) else body
    return None


@pytest.mark.parametrize("operation", ["GET /healthz", "GET /readyz", "GET /metrics", "GET /openapi.json",
                                       "GET /admin/routes", "GET /admin/deliveries", "GET /admin/failed",
                                       "GET /admin/stats", "POST /hooks/{route}"])
def test_schemathesis_against_the_openapi_document(operation, api_relay):
    schema = schemathesis.openapi.from_wsgi("/openapi.json", api_relay.app)
    op = schema[operation.split(" ", 1)[1]][operation.split(" ", 1)[0]]
    app = api_relay.app

    @settings(FUZZ_SETTINGS, max_examples=SCHEMATHESIS_EXAMPLES.get(operation, SCHEMATHESIS_DEFAULT_EXAMPLES))
    @given(data=st.data())
    def check(data):
        case = _with_credentials(data.draw(op.as_strategy()), data.draw)
        if case.operation.path == "/hooks/{route}" and case.path_parameters.get("route") in SCHEMA_ROUTES:
            case = _signed(case, data.draw)
        response = case.call(app=app)
        COUNTS["schemathesis"] += 1
        seen[response.status_code] = seen.get(response.status_code, 0) + 1
        assert response.status_code < 500, response.text[:300]
        # Conformance (status codes, content types, headers, response schemas) and no server error.
        # Whether a body is acceptable depends on the route's source, which one OpenAPI schema for
        # every route cannot express, and cases are re-signed here: the data-acceptance checks
        # would judge the document, not the relay.
        case.validate_response(response, excluded_checks=[negative_data_rejection, positive_data_acceptance])

    seen: dict[int, int] = {}
    check()
    STATUSES.update({f"{operation} {status}": n for status, n in seen.items()})
    # The signing and the credentials above are only worth something if both sides were reached.
    assert EXPECTED_ANSWERS[operation] <= set(seen), seen
    if operation in SCHEMATHESIS_EXAMPLES:
        assert sum(seen.values()) >= SCHEMATHESIS_EXAMPLES[operation] * 0.9, seen


# Answers each operation must have given at least once: public ones succeed; protected ones both
# succeed and refuse; webhooks are accepted (202), refused (401) and found invalid (400).
EXPECTED_ANSWERS = {
    "GET /healthz": {200}, "GET /readyz": {200}, "GET /openapi.json": {200}, "GET /metrics": {200, 401},
    "GET /admin/routes": {200, 401}, "GET /admin/deliveries": {200, 401, 404}, "GET /admin/failed": {200, 401},
    "GET /admin/stats": {200, 401}, "POST /hooks/{route}": {202, 401, 400},
}


def _signed(case, draw):
    """Sign the generated body for the route's scheme (most of the time), as a sender would."""
    route = case.path_parameters["route"]
    if route == "open" or not draw(st.sampled_from([True] * 4 + [False])):
        return case
    source = SOURCES[SCHEMA_ROUTES[route]["source"]]
    # Serialise the body ourselves so the signature covers exactly the bytes sent.
    if case.media_type == "application/json" or case.media_type is None:
        raw = json.dumps(case.body).encode()
        case.media_type = "application/json"
    elif isinstance(case.body, dict):
        raw = urlencode({str(k): str(v) for k, v in case.body.items()}).encode()
    else:
        raw = _body_bytes(case) or b""
    case.body = raw
    auth_headers, query = credentials(source.auth, raw, how=draw(st.sampled_from(range(6))))
    case.headers = {**(case.headers or {}), **auth_headers, "Content-Type": case.media_type}
    if query:
        case.query = {**(case.query or {}), "token": SECRET}
    return case


# -- the count ------------------------------------------------------------------------------------

@pytest.fixture(scope="module", autouse=True)
def report_generated_requests():
    """After the file: how many requests the fuzz tests generated, and in how long (for a changelog
    or a review). Each test asserts its own share; this only reports."""
    started = time.perf_counter()
    yield
    elapsed = time.perf_counter() - started
    total = COUNTS["http"] + COUNTS["schemathesis"]
    print(f"\n[fuzz] {total:,} generated requests ({COUNTS['http']:,} hostile webhooks over {len(SOURCES)} "
          f"sources, {COUNTS['schemathesis']:,} schemathesis) and {COUNTS['direct']:,} payloads given to "
          f"Source.receive() directly; {COUNTS['accepted_by_receive']:,} bodies were accepted and "
          f"{COUNTS['rendered']:,} messages rendered; {elapsed:.1f} s")
    print("[fuzz] schemathesis answers:", ", ".join(f"{k}: {v}" for k, v in sorted(STATUSES.items())))
