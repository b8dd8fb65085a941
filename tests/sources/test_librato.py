import pytest

from bot.sources import SOURCES
from bot.sources.base import PayloadError
from tests.formatting import render_fixture

FORM = "application/x-www-form-urlencoded"


def test_alert_lists_violations_with_their_conditions():
    assert render_fixture("librato", "alert__latency.txt") == [
        "🔴 **[Alert api.latency.p95 triggered](https://metrics.librato.com/alerts#/7310442)**\n\n"
        "**Description:** p95 latency of the public API\n"
        "**Runbook:** [https://wiki.example.com/runbooks/api-latency](https://wiki.example.com/runbooks/api-latency)\n\n"
        "- `api.request.latency.p95` = 1280.5 on `api-1.prod` (max above 750 for 300s)\n"
        "- `api.request.latency.p95` = 0 on `api-3.prod` (absent for 600s)",
    ]


def test_alert_sent_by_the_test_button_says_so():
    assert render_fixture("librato", "alert__user_test.txt") == [
        "🔴 **[Alert disk.free triggered (test)](https://metrics.librato.com/alerts#/7310501)**\n\n"
        "- `system.disk.free.percent` = 7 on `db-1.prod` (min below 10)",
    ]


def test_cleared_alert_resolves():
    assert render_fixture("librato", "clear__normal.txt") == [
        "✅ **[Alert api.latency.p95 cleared](https://metrics.librato.com/alerts#/7310442)**",
    ]


def test_snapshot_links_image_and_chart():
    assert render_fixture("librato", "snapshot__chart.txt") == [
        "🔵 **[Lena Fischer shared a snapshot](https://snapshots.librato.com/chart/k2v9w1qe-401822.png)**\n\n"
        "**Chart:** [API latency (p95), last 3 "
        "hours](https://metrics.librato.com/s/spaces/401822/explore/2210934?duration=10800&end_time=1715932200)",
    ]


def test_alert_without_violations_or_clear_is_rejected():
    body = b'payload={"alert": {"id": 7310442, "name": "api.latency.p95"}, "trigger_time": 1715931120}'
    with pytest.raises(PayloadError):
        SOURCES["librato"].receive(body, FORM, {})


def test_payload_from_another_sender_is_rejected():
    with pytest.raises(PayloadError):
        SOURCES["librato"].receive(b'{"message": "Backup finished"}', "application/json", {})
