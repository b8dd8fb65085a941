import pytest

from bot.sources import SOURCES
from bot.sources.base import PayloadError
from tests.formatting import render_fixture


def test_component_outage_fires():
    assert render_fixture("statuspage", "component_update__major_outage.json") == [
        "🚨 **[Payments API: major outage](https://status.example.com/)**\n\n"
        "**Status:** `operational` → `major_outage`",
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


def test_payload_without_page_is_rejected():
    with pytest.raises(PayloadError):
        SOURCES["statuspage"].receive(b'{"incident": {"name": "x", "status": "resolved"}}', "application/json", {})


def test_payload_without_incident_or_component_is_rejected():
    with pytest.raises(PayloadError, match="cannot tell the event"):
        SOURCES["statuspage"].receive(b'{"page": {"id": "r2h8c6v0k1zq"}}', "application/json", {})
