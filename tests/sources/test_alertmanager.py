import json

import pytest

from bot.sources import SOURCES
from bot.sources.base import Ignored, PayloadError
from tests.formatting import fixture_bytes, render_fixture

ALERTMANAGER = SOURCES["alertmanager"]


def test_firing_group_lists_each_alert():
    assert render_fixture("alertmanager", "alert__firing.json") == [
        "🚨 **[[FIRING:2] HighLatency — job=api](https://alertmanager.example.com)**\n\n"
        "p99 latency above 500ms\n\n"
        "**Labels:** `job=api` `severity=critical`\n\n"
        "- p99 is 812ms on api-1 · `instance=api-1:9100` · "
        "[source](https://prometheus.example.com/graph?g0.expr=histogram_quantile%280.99%2C+r"
        "ate%28http_request_duration_seconds_bucket%5B5m%5D%29%29+%3E+0.5&g0.tab=1) · "
        "[runbook](https://runbooks.example.com/high-latency)\n"
        "- p99 is 640ms on api-2 · `instance=api-2:9100` · "
        "[source](https://prometheus.example.com/graph?g0.expr=histogram_quantile%280.99%2C+r"
        "ate%28http_request_duration_seconds_bucket%5B5m%5D%29%29+%3E+0.5&g0.tab=1)\n\n"
        "[Silence](https://alertmanager.example.com/#/silences/new?filter=%7Balertname%3D%22H"
        "ighLatency%22%2Cjob%3D%22api%22%2Cseverity%3D%22critical%22%7D)",
    ]


def test_firing_and_resolved_alerts_are_separate_messages():
    assert render_fixture("alertmanager", "alert__mixed.json") == [
        "🟠 **[[FIRING:1] DiskFull](https://alertmanager.example.com)**\n\n"
        "**Labels:** `mountpoint=/var` `severity=warning`\n\n"
        "- /var is 93% full on db-3 · `instance=db-3` · "
        "[source](https://prometheus.example.com/graph?g0.expr=disk_used_ratio+%3E+0.9)\n\n"
        "[Silence](https://alertmanager.example.com/#/silences/new?filter=%7Balertname%3D%22D"
        "iskFull%22%2Cmountpoint%3D%22%2Fvar%22%2Cseverity%3D%22warning%22%7D)",
        "✅ **[[RESOLVED:1] DiskFull](https://alertmanager.example.com)**\n\n"
        "**Labels:** `mountpoint=/var` `severity=warning`\n\n"
        "- /var is 91% full on db-1 · `instance=db-1` · "
        "[source](https://prometheus.example.com/graph?g0.expr=disk_used_ratio+%3E+0.9)",
    ]


def test_resolved_group():
    assert render_fixture("alertmanager", "alert__resolved.json") == [
        "✅ **[[RESOLVED:1] TargetDown](https://alertmanager.example.com)**\n\n"
        "worker-7 is unreachable\n\n"
        "**Labels:** `instance=worker-7:9100` `job=node` `severity=error`\n\n"
        "- [source](https://prometheus.example.com/graph?g0.expr=up+%3D%3D+0)",
    ]


def _fixture(name: str) -> dict:
    return json.loads(fixture_bytes("alertmanager", name))


def test_long_groups_are_capped():
    payload = _fixture("alert__firing.json")
    template = payload["alerts"][1]
    payload["alerts"] = [
        {**template, "labels": {**template["labels"], "instance": f"api-{i}:9100"}, "fingerprint": f"f{i}"}
        for i in range(12)
    ]
    payload["truncatedAlerts"] = 3
    [message] = ALERTMANAGER.format("alert", payload)
    assert message.title == "[FIRING:15] HighLatency — job=api"
    assert message.body[2].splitlines()[-1] == "- … and 5 more"


def test_redelivery_has_the_same_id_but_a_changed_group_does_not():
    first = _fixture("alert__firing.json")
    again = _fixture("alert__firing.json")
    again["alerts"].reverse()
    changed = _fixture("alert__firing.json")
    changed["alerts"][1]["status"] = "resolved"
    key = ALERTMANAGER.payload_delivery_id
    assert key("alert", first) == key("alert", again)
    assert key("alert", first) != key("alert", changed)
    assert len(key("alert", first)) == 64


def test_unknown_payload_version_is_not_supported():
    body = json.dumps({**_fixture("alert__resolved.json"), "version": "5"}).encode()
    with pytest.raises(Ignored) as err:
        ALERTMANAGER.receive(body, "application/json", {})
    assert "not supported" in err.value.reason


def test_payload_from_another_sender_is_rejected():
    with pytest.raises(PayloadError) as err:
        ALERTMANAGER.receive(b'{"message": "Backup finished"}', "application/json", {})
    assert set(err.value.details) == {"alerts", "status"}
