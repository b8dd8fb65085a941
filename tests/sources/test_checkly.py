import html
import re

import pytest

from bot.message import render
from bot.sources import SOURCES
from bot.sources.base import Ignored, PayloadError
from bot.sources.checkly import TEMPLATE
from tests.formatting import Headers, fixture_bytes, receive_fixture, render_fixture

CHECKOUT = "3f9a1c2e-7b4d-4e6f-9a8b-1c2d3e4f5a6b"


def test_failure_fires_with_error_response_and_decoded_entities():
    assert render_fixture("checkly", "ALERT_FAILURE__api_500.json") == [
        '🔴 **[Checkout "v2" API is failing](https://app.checklyhq.com/checks/3f9a1c2e-7b4d-4e6f-9a8b-1c2d3e4f5a6b/'
        "results/api/8e7d6c5b-4a39-4281-9f0e-d1c2b3a49586?region=eu-west-1&tab=response)**\n\n"
        "**Check:** API check in Payments\n"
        "**Location:** Ireland\n"
        "**Error:** Assertion failed: status code equals 200, received 503\n"
        "**Response:** 503 Service Unavailable · 1834 ms\n"
        "**Checked at:** 2026-11-28T21:04:12.310Z\n"
        "**Tags:** `payments`, `prod`",
    ]


def test_browser_failure_with_a_multi_line_error_is_read():
    assert render_fixture("checkly", "ALERT_FAILURE__browser_multiline_error.json") == [
        "🔴 **[Login flow is failing](https://app.checklyhq.com/checks/77f0e1d2-c3b4-4a59-8687-98a9bacbdced/"
        "results/browser/66e5d4c3-b2a1-4098-8f7e-6d5c4b3a2918)**\n\n"
        "**Check:** Browser check\n"
        "**Location:** Frankfurt\n"
        "**Error:** TimeoutError: locator.click: Timeout 30000ms exceeded. waiting for getByRole('button', "
        "{ name: 'Sign in' })\n"
        "**Response:** 31250 ms\n"
        "**Checked at:** 2026-11-29T02:15:00.000Z\n"
        "**Tags:** `auth`",
    ]


def test_raw_line_breaks_inside_strings_are_read_leniently():
    # Handlebars puts a multi-line {{CHECK_ERROR_MESSAGE}} in verbatim: raw line breaks inside a string.
    escaped = fixture_bytes("checkly", "ALERT_FAILURE__browser_multiline_error.json")
    raw = escaped.replace(b"\\n", b"\n")
    assert b"\\n" not in raw and raw.count(b"\n") == escaped.count(b"\n") + 1
    lenient = SOURCES["checkly"].receive(raw, "application/json", Headers())
    strict = receive_fixture("checkly", "ALERT_FAILURE__browser_multiline_error.json")
    assert lenient.payload == strict.payload


def test_degraded_is_a_warning():
    assert render_fixture("checkly", "ALERT_DEGRADED__slow_api.json") == [
        "🟠 **[Search API is degraded](https://app.checklyhq.com/checks/a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d/"
        "results/api/0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0)**\n\n"
        "**Check:** API check\n"
        "**Location:** N. Virginia\n"
        "**Response:** 200 OK · 4210 ms\n"
        "**Checked at:** 2026-11-28T22:10:00.000Z",
    ]


def test_recovery_resolves():
    assert render_fixture("checkly", "ALERT_RECOVERY__api.json") == [
        '✅ **[Checkout "v2" API recovered](https://app.checklyhq.com/checks/3f9a1c2e-7b4d-4e6f-9a8b-1c2d3e4f5a6b/'
        "results/api/5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d)**\n\n"
        "**Check:** API check in Payments\n"
        "**Location:** Ireland\n"
        "**Response:** 200 OK · 212 ms\n"
        "**Checked at:** 2026-11-28T21:48:49.000Z\n"
        "**Tags:** `payments`, `prod`",
    ]


def test_degraded_recovery_resolves():
    assert render_fixture("checkly", "ALERT_DEGRADED_RECOVERY__api.json") == [
        "✅ **[Search API is no longer degraded](https://app.checklyhq.com/checks/a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d/"
        "results/api/9c8b7a6f-5e4d-4c3b-a291-807f6e5d4c3b)**\n\n"
        "**Check:** API check\n"
        "**Location:** N. Virginia\n"
        "**Response:** 200 OK · 640 ms\n"
        "**Checked at:** 2026-11-28T22:25:00.000Z",
    ]


def _one(fixture):
    incoming = receive_fixture("checkly", fixture)
    [message] = SOURCES["checkly"].format(incoming.event, incoming.payload)
    return message


def test_alert_identity_is_the_check_and_the_type_is_its_revision():
    fired = _one("ALERT_FAILURE__api_500.json")
    resolved = _one("ALERT_RECOVERY__api.json")
    degraded = _one("ALERT_DEGRADED__slow_api.json")
    undegraded = _one("ALERT_DEGRADED_RECOVERY__api.json")
    assert (fired.severity, fired.status, fired.alert.key, fired.alert.revision) == (
        "error", "firing", CHECKOUT, "ALERT_FAILURE")
    assert fired.alert.started_at is not None
    assert (resolved.severity, resolved.status, resolved.alert.key) == ("success", "resolved", CHECKOUT)
    assert resolved.alert.ended_at is not None
    assert (degraded.severity, degraded.status, degraded.alert.revision) == ("warning", "firing", "ALERT_DEGRADED")
    assert (undegraded.status, undegraded.alert.key) == ("resolved", degraded.alert.key)


def test_dedup_key_is_the_result_and_alert_type():
    source = SOURCES["checkly"]
    incoming = receive_fixture("checkly", "ALERT_FAILURE__api_500.json")
    body = fixture_bytes("checkly", "ALERT_FAILURE__api_500.json")
    assert source.delivery_key(incoming.event, incoming.payload, Headers(), body) == (
        "id:8e7d6c5b-4a39-4281-9f0e-d1c2b3a49586:ALERT_FAILURE", source.dedup_seconds_sender_id)


def _render_template(values: dict, tags: list[str]) -> str:
    """What Checkly's Handlebars makes of the template: {{X}} HTML-escaped, the TAGS loop expanded."""
    each = re.compile(r"\{\{#each TAGS\}\}.*?\{\{/each\}\}")
    body = each.sub(",".join(f'"{html.escape(t)}"' for t in tags), TEMPLATE)
    return re.sub(r"\{\{(\w+)\}\}", lambda m: html.escape(values.get(m[1], "")), body)


def test_recommended_template_filled_in_is_accepted():
    filled = _render_template({
        "ALERT_TYPE": "ALERT_FAILURE", "CHECK_ID": "c0ffee00-0000-4000-8000-000000000001",
        "CHECK_NAME": 'Status <page> & "home"', "CHECK_TYPE": "MULTI_STEP", "CHECK_RESULT_ID": "r-1",
        "RESULT_LINK": "https://app.checklyhq.com/checks/c0ffee00/results?a=1&b=2",
        "CHECK_ERROR_MESSAGE": "Expected 200", "RUN_LOCATION": "Tokyo", "STARTED_AT": "2026-11-29T01:00:00.000Z",
    }, ["web", "tier-1"])
    assert "{{" not in filled
    incoming = SOURCES["checkly"].receive(filled.encode(), "application/json", Headers())
    [message] = SOURCES["checkly"].format(incoming.event, incoming.payload)
    assert render(message) == (
        "🔴 **[Status \\<page\\> & \"home\" is failing](https://app.checklyhq.com/checks/c0ffee00/results?a=1&b=2)**"
        "\n\n"
        "**Check:** Multi step check\n"
        "**Location:** Tokyo\n"
        "**Error:** Expected 200\n"
        "**Checked at:** 2026-11-29T01:00:00.000Z\n"
        "**Tags:** `web`, `tier-1`"
    )


def test_ssl_alerts_are_not_supported():
    body = b'{"alert_type": "ALERT_SSL", "check_id": "c1", "check_name": "Shop"}'
    with pytest.raises(Ignored, match="not supported"):
        SOURCES["checkly"].receive(body, "application/json", Headers())


@pytest.mark.parametrize("body", [
    b'{"alert_type": "ALERT_FAILURE"}',
    b'{"check_id": "c1", "check_name": "Shop"}',
    b'{"alert_type": "ALERT_FAILURE", "check_id": "c1", "check_name": "Shop", "tags": "prod"}',
    b'{"alert_type": "ALERT_FAILURE", "check_id": "c1", "check_name": "Shop\\q"}',
    b'{"event": "started", "data": {"id": "1", "type": "incident", "attributes": {}}}',
])
def test_payload_not_from_checkly_is_rejected(body):
    with pytest.raises(PayloadError):
        SOURCES["checkly"].receive(body, "application/json", Headers())
