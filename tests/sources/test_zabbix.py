import pytest

from bot.sources import SOURCES
from bot.sources.base import Ignored, PayloadError
from tests.formatting import render_fixture


def test_problem_fires_with_zabbix_severity():
    assert render_fixture("zabbix", "problem__high.json") == [
        "🔴 **[High CPU utilization (over 90% for 5m)](https://zabbix.example.com/tr_events.php?"
        "triggerid=23417&eventid=991845)**\n\n"
        "**Host:** `db-1.internal`\n"
        "**Severity:** High\n"
        "**Item:** CPU utilization is 97.3 %\n"
        "**Duration:** 5m",
    ]


def test_recovery_resolves():
    assert render_fixture("zabbix", "resolved__high.json") == [
        "✅ **[Resolved: High CPU utilization (over 90% for "
        "5m)](https://zabbix.example.com/tr_events.php?triggerid=23417&eventid=991845)**\n\n"
        "**Host:** `db-1.internal`\n"
        "**Severity:** High\n"
        "**Item:** CPU utilization is 41.8 %\n"
        "**Duration:** 22m 10s",
    ]


def test_trigger_status_ok_counts_as_resolved():
    assert render_fixture("zabbix", "resolved__trigger_status_ok.json") == [
        "✅ **[Resolved: Free disk space is less than 10% on "
        "/var](https://zabbix.example.com/tr_events.php?triggerid=23502&eventid=992410)**\n\n"
        "**Host:** `web-2.internal`\n"
        "**Severity:** Warning\n"
        "**Item:** Free disk space on /var is 23.4 %",
    ]


def test_update_operation_is_not_supported():
    body = b'{"hostname": "db-1", "trigger": "Disk full", "status": "UPDATE"}'
    with pytest.raises(Ignored, match="not supported"):
        SOURCES["zabbix"].receive(body, "application/json", {})


def test_payload_without_host_is_rejected():
    with pytest.raises(PayloadError):
        SOURCES["zabbix"].receive(b'{"trigger": "Disk full", "status": "PROBLEM"}', "application/json", {})
