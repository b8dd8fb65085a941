import pytest

from bot.sources import SOURCES
from bot.sources.base import Ignored, PayloadError
from tests.formatting import Headers, fixture_bytes, receive_fixture, render_fixture


def test_incident_started_fires_with_cause_regions_and_evidence():
    assert render_fixture("betterstack", "incident.started__status_500.json") == [
        "🔴 **Incident started: Shop homepage**\n\n"
        "**Target:** [https://shop.example.com/](https://shop.example.com/) (GET)\n"
        "**Cause:** Status 500\n"
        "**Regions:** `us`, `eu`\n"
        "**Started at:** 2026-11-28T21:04:12.310Z\n"
        "**Evidence:** [Response](https://uptime-responses.example.com/418273645/response.html) · "
        "[Screenshot](https://uptime-screenshots.example.com/418273645/screenshot.png)",
    ]


def test_heartbeat_incident_without_url_shows_only_what_it_has():
    assert render_fixture("betterstack", "incident.started__heartbeat.json") == [
        "🔴 **Incident started: Nightly [export] job**\n\n"
        "**Cause:** Missed heartbeat\n"
        "**Started at:** 2026-11-29T02:15:00.000Z",
    ]


def test_incident_acknowledged_is_a_warning_naming_who():
    assert render_fixture("betterstack", "incident.acknowledged__by_email.json") == [
        "🟠 **Incident acknowledged: Shop homepage**\n\n"
        "**Target:** [https://shop.example.com/](https://shop.example.com/) (GET)\n"
        "**Cause:** Status 500\n"
        "**Regions:** `us`, `eu`\n"
        "**Acknowledged by:** oncall@example.com",
    ]


def test_incident_resolved_says_how_long_it_lasted():
    assert render_fixture("betterstack", "incident.resolved__automatically.json") == [
        "✅ **Incident resolved: Shop homepage**\n\n"
        "**Target:** [https://shop.example.com/](https://shop.example.com/) (GET)\n"
        "**Cause:** Status 500\n"
        "**Regions:** `us`, `eu`\n"
        "**Lasted:** 44m 37s\n"
        "**Resolved by:** Automatically",
    ]


def _one(fixture):
    incoming = receive_fixture("betterstack", fixture)
    [message] = SOURCES["betterstack"].format(incoming.event, incoming.payload)
    return message


def test_started_and_resolved_are_one_alert_keyed_by_incident_id():
    fired = _one("incident.started__status_500.json")
    acknowledged = _one("incident.acknowledged__by_email.json")
    resolved = _one("incident.resolved__automatically.json")
    assert (fired.severity, fired.status, fired.alert.key) == ("error", "firing", "418273645")
    assert fired.alert.started_at is not None
    assert (acknowledged.severity, acknowledged.status, acknowledged.alert) == ("warning", "firing", None)
    assert (resolved.severity, resolved.status, resolved.alert.key) == ("success", "resolved", "418273645")
    assert resolved.alert.ended_at - resolved.alert.started_at == pytest.approx(2677.56)


def test_dedup_key_is_incident_and_event():
    source = SOURCES["betterstack"]
    incoming = receive_fixture("betterstack", "incident.acknowledged__by_email.json")
    body = fixture_bytes("betterstack", "incident.acknowledged__by_email.json")
    assert source.delivery_key(incoming.event, incoming.payload, Headers(), body) == (
        "id:418273645:incident.acknowledged", source.dedup_seconds_sender_id)


@pytest.mark.parametrize("body", [
    b'{"event": "paused", "data": {"id": "1", "type": "monitor", "attributes": {"url": "https://example.com"}}}',
    b'{"event": "reopened", "data": {"id": "1", "type": "incident", "attributes": {}}}',
])
def test_other_webhook_types_and_events_are_not_supported(body):
    with pytest.raises(Ignored, match="not supported"):
        SOURCES["betterstack"].receive(body, "application/json", Headers())


@pytest.mark.parametrize("body", [
    b'{"event": "started"}',
    b'{"data": {"id": "1", "type": "incident", "attributes": {}}}',
    b'{"event": "started", "data": {"id": "1", "type": "incident", "attributes": {"regions": "us"}}}',
    b'{"check": {"name": "Shop"}, "alert_type": "ALERT_FAILURE"}',
])
def test_payload_not_from_better_stack_is_rejected(body):
    with pytest.raises(PayloadError):
        SOURCES["betterstack"].receive(body, "application/json", Headers())
