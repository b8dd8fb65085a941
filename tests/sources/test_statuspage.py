import json

import pytest

from bot.sources import SOURCES
from bot.sources.base import PayloadError
from tests.formatting import fixture_bytes, receive_fixture, render_fixture


def test_component_outage_fires():
    assert render_fixture("statuspage", "component_update__major_outage.json") == [
        "🚨 **[Payments API: major outage](https://status.example.com/)**\n\n"
        "**Status:** `operational` → `major_outage`",
    ]


def test_component_back_to_operational_resolves():
    assert render_fixture("statuspage", "component_update__operational.json") == [
        "✅ **[Payments API: operational](https://status.example.com/)**\n\n"
        "**Status:** `major_outage` → `operational`",
    ]


def test_open_incident_fires_with_latest_update():
    assert render_fixture("statuspage", "incident_update__investigating.json") == [
        "🔴 **[Card payments failing](https://stspg.io/x7Kp2)**\n\n"
        "**Status:** `investigating`\n"
        "**Impact:** major\n"
        "**Affected:** Payments API, Checkout\n\n"
        "> Card payments are failing for some customers.\n"
        "> We are investigating.",
    ]


def test_incident_moving_to_identified_fires_with_the_new_update():
    assert render_fixture("statuspage", "incident_update__identified.json") == [
        "🔴 **[Card payments failing](https://stspg.io/x7Kp2)**\n\n"
        "**Status:** `identified`\n"
        "**Impact:** major\n\n"
        "> Our payment provider has an outage in one region; we are switching traffic to another.",
    ]


def test_resolved_incident_resolves():
    assert render_fixture("statuspage", "incident_update__resolved.json") == [
        "✅ **[Card payments failing](https://stspg.io/x7Kp2)**\n\n"
        "**Status:** `resolved`\n"
        "**Impact:** major\n"
        "**Affected:** Payments API\n\n"
        "> Our payment provider fixed the issue; payments have succeeded for 30 minutes.",
    ]


def test_scheduled_maintenance_is_info():
    assert render_fixture("statuspage", "incident_update__scheduled_maintenance.json") == [
        "🔵 **[Database upgrade](https://stspg.io/m9Qd4)**\n\n"
        "**Status:** `scheduled`\n"
        "**Affected:** Checkout\n\n"
        "> We will upgrade the primary database. Checkout may be slow for a few minutes.",
    ]


def _alert(fixture: str, **incident):
    payload = json.loads(fixture_bytes("statuspage", fixture))
    payload["incident"] = {**payload["incident"], **incident}
    incoming = SOURCES["statuspage"].receive(json.dumps(payload).encode(), "application/json", {})
    return SOURCES["statuspage"].format(incoming.event, incoming.payload)[0].alert


def test_incident_is_one_alert_from_creation_to_resolution_and_each_update_a_revision():
    opened, identified = _alert("incident_update__investigating.json"), _alert("incident_update__identified.json")
    resolved = _alert("incident_update__resolved.json")
    assert {opened.key, identified.key, resolved.key} == {"n1c5r8w2g7ty"}
    assert (opened.status, identified.status, resolved.status) == ("firing", "firing", "resolved")
    assert (opened.revision, identified.revision) == ("investigating:h2d9q4v1m8xe", "identified:k7f3m9x2b5nc")
    assert (opened.started_at, resolved.ended_at) == (1714641759.801, 1714644302.99)


def test_postmortem_and_maintenance_are_not_the_incident_alert():
    # A postmortem comes after the resolution: it is posted, not skipped as "already resolved".
    assert _alert("incident_update__resolved.json", status="postmortem") is None
    assert _alert("incident_update__scheduled_maintenance.json") is None
    assert _alert("incident_update__scheduled_maintenance.json", status="completed") is None


def test_component_is_one_alert_and_a_new_outage_level_a_revision():
    refs = []
    for fixture in ("component_update__major_outage.json", "component_update__operational.json"):
        incoming = receive_fixture("statuspage", fixture)
        refs.append(SOURCES["statuspage"].format(incoming.event, incoming.payload)[0].alert)
    fired, resolved = refs
    assert (fired.key, fired.status, fired.revision, fired.started_at) == ("f4k1w8x2c6pj", "firing", "major_outage",
                                                                          1714641611.318)
    assert (resolved.key, resolved.status, resolved.ended_at) == ("f4k1w8x2c6pj", "resolved", 1714643921.318)


def test_payload_without_page_is_rejected():
    with pytest.raises(PayloadError):
        SOURCES["statuspage"].receive(b'{"incident": {"name": "x", "status": "resolved"}}', "application/json", {})


def test_payload_without_incident_or_component_is_rejected():
    with pytest.raises(PayloadError, match="cannot tell the event"):
        SOURCES["statuspage"].receive(b'{"page": {"id": "r2h8c6v0k1zq"}}', "application/json", {})
