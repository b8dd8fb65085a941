import pytest

from bot.sources import SOURCES
from bot.sources.base import Ignored, PayloadError
from tests.formatting import render_fixture


def test_triggered_monitor_fires_with_its_priority():
    assert render_fixture("datadog", "alert__triggered.json") == [
        "🔴 **[[P2] [Triggered on {host:web-3}] Disk almost full on "
        "web-3](https://app.datadoghq.com/monitors/4810233?group=host%3Aweb-3&from_"
        "ts=1714640100000&to_ts=1714641000000&event_id=7390912358820371482)**\n\n"
        "**Host:** `web-3`\n"
        "**Status:** system.disk.in_use over host:web-3,device:/dev/root was \\> 0.9 on average "
        "during the last 5m.\n"
        "**Query:** `avg(last_5m):avg:system.disk.in_use{*} by {host,device} > 0.9`\n"
        "**Tags:** `device:/dev/root`, `env:prod`, `host:web-3`, `service:checkout`\n\n"
        "> Root volume on web-3 is over 90% full. Rotate logs or grow the volume.\n"
        ">\n"
        "> The monitor was last triggered at Thu May 02 2024 09:10:00 UTC.",
    ]


def test_recovery_resolves():
    assert render_fixture("datadog", "recovery__recovered.json") == [
        "✅ **[[P2] [Recovered on {host:web-3}] Disk almost full on "
        "web-3](https://app.datadoghq.com/monitors/4810233?group=host%3Aweb-3)**\n\n"
        "**Host:** `web-3`\n"
        "**Status:** system.disk.in_use over host:web-3,device:/dev/root was \\<= 0.9 on average "
        "during the last 5m.\n"
        "**Query:** `avg(last_5m):avg:system.disk.in_use{*} by {host,device} > 0.9`\n"
        "**Tags:** `env:prod`, `host:web-3`\n\n"
        "> Root volume on web-3 is over 90% full. Rotate logs or grow the volume.",
    ]


def test_default_payload_reads_transition_from_title():
    assert render_fixture("datadog", "alert__default_payload.json") == [
        "🟠 **[[Warn] Checkout API latency](https://app.datadoghq.eu/monitors/991204?from_"
        "ts=1714643000000)**\n\n"
        "> Checkout API latency is above 800 ms.",
    ]


def test_event_that_is_not_about_a_monitor_is_info_and_keeps_its_paragraphs():
    assert render_fixture("datadog", "event__deployment.json") == [
        "🔵 **[Deployed checkout-api 4.2.0 to prod](https://app.datadoghq.com/event/event?id=7391184220573190624)**\n\n"
        "**Tags:** `env:prod`, `service:checkout-api`, `version:4.2.0`\n\n"
        "> Release 4.2.0 rolled out to 6 of 6 pods by the CD pipeline.\n"
        ">\n"
        "> Changelog: https://git.example.com/shop/checkout-api/-/releases/4.2.0",
    ]


def test_delivery_id_is_the_event_id():
    source = SOURCES["datadog"]
    payload = {"id": "7390912358820371482", "title": "[Triggered] CPU high"}
    assert source.payload_delivery_id("alert", payload) == "7390912358820371482"


def test_unknown_transition_is_not_supported():
    with pytest.raises(Ignored, match="not supported"):
        SOURCES["datadog"].receive(
            b'{"id": "1", "title": "CPU high", "alert_transition": "Downtime Started"}', "application/json", {}
        )


def test_payload_without_title_is_rejected():
    with pytest.raises(PayloadError):
        SOURCES["datadog"].receive(b'{"message": "hello"}', "application/json", {})
