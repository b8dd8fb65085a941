import json

import pytest

from bot.sources import SOURCES
from bot.sources.base import Ignored, PayloadError
from tests.formatting import fixture_bytes, render_fixture


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


def test_multi_alert_group_fires_and_resolves_as_one_alert_of_monitor_and_scope():
    assert render_fixture("datadog", "alert__multi_alert_group.json") == [
        "🚨 **[[P1] [Triggered on {env:prod,service:checkout-api}] Checkout API error rate above "
        "5%](https://app.datadoghq.com/monitors/5521907?group=env%3Aprod%2Cservice%3Acheckout-api)**\n\n"
        "**Status:** trace.http.request.errors over env:prod,service:checkout-api was \\> 0.05 on average "
        "during the last 5m.\n"
        "**Query:** `avg(last_5m):avg:trace.http.request.errors{env:prod} by {service} > 0.05`\n"
        "**Tags:** `env:prod`, `service:checkout-api`\n\n"
        "> Checkout API is failing more than 5% of requests.",
    ]
    assert render_fixture("datadog", "recovery__multi_alert_group.json") == [
        "✅ **[[P1] [Recovered on {env:prod,service:checkout-api}] Checkout API error rate above "
        "5%](https://app.datadoghq.com/monitors/5521907?group=env%3Aprod%2Cservice%3Acheckout-api)**\n\n"
        "**Status:** trace.http.request.errors over env:prod,service:checkout-api was \\<= 0.05 on average "
        "during the last 5m.\n"
        "**Query:** `avg(last_5m):avg:trace.http.request.errors{env:prod} by {service} > 0.05`\n"
        "**Tags:** `env:prod`, `service:checkout-api`\n\n"
        "> Checkout API is failing more than 5% of requests.",
    ]


def _alert(fixture: str, **changes):
    payload = {**json.loads(fixture_bytes("datadog", fixture)), **changes}
    incoming = SOURCES["datadog"].receive(json.dumps(payload).encode(), "application/json", {})
    return SOURCES["datadog"].format(incoming.event, incoming.payload)[0].alert


def test_alert_is_the_monitor_in_its_scope_with_the_payload_dates():
    fired, resolved = _alert("alert__multi_alert_group.json"), _alert("recovery__multi_alert_group.json")
    # The scope's tags are sorted: the recovery lists them in another order, with spaces.
    assert (fired.key, fired.status, fired.started_at) == ("5521907:env:prod,service:checkout-api", "firing",
                                                           1714644000.0)
    assert (resolved.key, resolved.status, resolved.ended_at) == (fired.key, "resolved", 1714645530.0)


def test_alert_without_scope_is_the_monitor_and_without_monitor_id_the_aggregation_key():
    assert _alert("alert__multi_alert_group.json", alert_scope="").key == "5521907"
    assert _alert("alert__triggered.json").key == "8b3c1e4f0a9d27c6e5b4a3f2d1c0b9a8"
    assert _alert("alert__default_payload.json") is None


def test_renotification_is_a_repeat_and_a_move_between_warn_and_triggered_a_change():
    fired = _alert("alert__multi_alert_group.json")
    again = _alert("alert__multi_alert_group.json", alert_transition="Re-Triggered", date="1714647600000")
    warn = _alert("alert__multi_alert_group.json", alert_transition="Warn")
    assert (fired.revision, again.revision, warn.revision) == ("triggered", "triggered", "warn")
    # A renotification's date is not when the alert started.
    assert again.started_at is None


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
