import pytest

from bot.sources import SOURCES
from bot.sources.base import Ignored, PayloadError
from tests.formatting import receive_fixture, render_fixture


def test_monitor_down_fires():
    assert render_fixture("uptime-kuma", "down__http.json") == [
        "🔴 **Billing API is down**\n\n"
        "**Target:** [https://billing.example.com/healthz](https://billing.example.com/healthz) "
        "(http)\n"
        "**Reason:** Request failed with status code 502",
    ]


def test_monitor_up_resolves():
    assert render_fixture("uptime-kuma", "up__port.json") == [
        "✅ **Postgres primary is up**\n\n**Target:** `db-1.internal:5432` (port)\n**Response time:** 23 ms",
    ]


def test_maintenance_window_is_info_with_the_target():
    assert render_fixture("uptime-kuma", "maintenance__window_started.json") == [
        "🔵 **Postgres primary is under maintenance**\n\n**Target:** `db-1.internal:5432` (port)",
    ]


def test_test_button_posts_a_short_message():
    assert render_fixture("uptime-kuma", "test__notification.json") == [
        "🔵 **Uptime Kuma test notification**\n\nCopera relay Testing",
    ]


def test_pending_heartbeat_is_ignored():
    with pytest.raises(Ignored, match="pending"):
        receive_fixture("uptime-kuma", "pending__http.json")


def test_certificate_notice_warns():
    assert render_fixture("uptime-kuma", "notice__certificate.json") == [
        "🟠 **Billing API**\n\n"
        "[Billing API\\][https://billing.example.com/healthz] Certificate will expire in 7 days",
    ]


def test_unknown_heartbeat_status_is_not_supported():
    body = b'{"heartbeat": {"status": 7}, "monitor": {"name": "Billing API"}, "msg": "?"}'
    with pytest.raises(Ignored, match="not supported"):
        SOURCES["uptime-kuma"].receive(body, "application/json", {})


def test_payload_without_msg_is_rejected():
    with pytest.raises(PayloadError):
        SOURCES["uptime-kuma"].receive(b'{"status": "down"}', "application/json", {})
