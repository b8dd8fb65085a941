import base64
import json

import pytest

from bot.sources import SOURCES
from bot.sources.base import Ignored, PayloadError
from tests.conftest import CHANNEL
from tests.formatting import fixture_bytes, render_fixture

GCM = SOURCES["google-cloud-monitoring"]
SECRET = "gcm-route-secret-0123456789"


def test_open_incident_with_threshold_summary_and_documentation():
    assert render_fixture("google-cloud-monitoring", "incident.open__cpu_threshold.json") == [
        "🚨 **[Frontend CPU high incident opened](https://console.cloud.google.com/monitoring/alerting/incidents/"
        "0.nx3k7q2vbe8d?project=acme-shop-prod)**\n\n"
        "**Condition:** VM Instance - CPU utilization above 80%\n"
        "**Resource:** web-frontend-1 (VM Instance)\n"
        "**Metric:** CPU utilization\n"
        "**Value:** `0.934` (threshold `0.8`)\n"
        "**Severity:** Critical\n"
        "**Project:** `acme-shop-prod`\n"
        "**Since:** 2026-11-28 21:20:00 UTC\n\n"
        "CPU utilization for acme-shop-prod web-frontend-1 with metric labels {instance_name=web-frontend-1} "
        "is above the threshold of 0.800 with a value of 0.934.\n\n"
        "> Scale the frontend instance group, then check the latest deploy.",
    ]


def test_closed_incident_is_resolved_with_its_end_time():
    assert render_fixture("google-cloud-monitoring", "incident.closed__uptime_check.json") == [
        "✅ **[Shop home page uptime incident closed](https://console.cloud.google.com/monitoring/alerting/incidents/"
        "0.m2p9w4r7ha1c?project=acme-shop-prod)**\n\n"
        "**Condition:** Failure of uptime check shop-home\n"
        "**Resource:** shop.example.test (Uptime Check URL)\n"
        "**Metric:** Check passed\n"
        "**Value:** `0` (threshold `1`)\n"
        "**Severity:** No severity\n"
        "**Project:** `acme-shop-prod`\n"
        "**Since:** 2026-11-28 20:20:00 UTC\n"
        "**Ended:** 2026-11-28 20:41:00 UTC\n\n"
        "Check passed for shop.example.test returned to normal.",
    ]


def _incident(**changes) -> dict:
    payload = json.loads(fixture_bytes("google-cloud-monitoring", "incident.open__cpu_threshold.json"))
    payload["incident"].update(changes)
    return payload


@pytest.mark.parametrize("policy_severity, expected", [
    ("Critical", "critical"), ("Error", "error"), ("Warning", "warning"), ("No severity", "error"), (None, "error"),
])
def test_policy_severity_feeds_routing(policy_severity, expected):
    payload = _incident(severity=policy_severity)
    incoming = GCM.receive(json.dumps(payload).encode(), "application/json", {})
    [message] = GCM.format(incoming.event, incoming.payload)
    assert (message.severity, message.status, message.labels) == (expected, "firing", {"team": "web"})


def test_open_and_closed_of_one_incident_are_different_deliveries():
    opened, closed = _incident(), _incident(state="closed")
    assert GCM.payload_delivery_id("incident.open", opened) != GCM.payload_delivery_id("incident.closed", closed)


def test_unknown_state_is_not_supported():
    with pytest.raises(Ignored, match=r"incident\.acknowledged is not supported"):
        GCM.receive(json.dumps(_incident(state="acknowledged")).encode(), "application/json", {})


def test_payload_from_another_sender_is_rejected():
    with pytest.raises(PayloadError):
        GCM.receive(b'{"alerts": [{"status": "firing"}]}', "application/json", {})


def test_basic_auth_and_token_url_are_accepted_through_the_app(make_relay):
    relay = make_relay({"gcm": {"source": "google-cloud-monitoring", "channel": CHANNEL, "secret": SECRET}},
                       dry_run=True)
    body = fixture_bytes("google-cloud-monitoring", "incident.open__cpu_threshold.json")
    basic = "Basic " + base64.b64encode(f"monitoring:{SECRET}".encode()).decode()
    wrong = "Basic " + base64.b64encode(b"monitoring:guess").decode()
    ctype = ("Content-Type", "application/json")
    assert relay.client.post("/hooks/gcm", data=body, headers=[ctype, ("Authorization", wrong)]).status_code == 401
    assert relay.client.post("/hooks/gcm", data=body, headers=[ctype, ("Authorization", basic)]).status_code == 202
    # The same incident again (Google retries) is answered as a redelivery.
    assert relay.client.post(f"/hooks/gcm?token={SECRET}", data=body, headers=[ctype]).status_code == 200
