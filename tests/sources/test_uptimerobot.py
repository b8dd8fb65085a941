import pytest

from bot.sources import SOURCES
from bot.sources.base import Ignored, PayloadError
from tests.formatting import render_fixture


def test_monitor_down_fires():
    assert render_fixture("uptimerobot", "down__http.json") == [
        "🔴 **[Shop health is down](https://dashboard.uptimerobot.com/monitors/795612044)**\n\n"
        "**Target:** [https://shop.example.com/health](https://shop.example.com/health)\n"
        "**Reason:** Connection Timeout",
    ]


def test_monitor_up_resolves_with_downtime():
    assert render_fixture("uptimerobot", "up__http.json") == [
        "✅ **[Shop health is up](https://dashboard.uptimerobot.com/monitors/795612044)**\n\n"
        "**Target:** [https://shop.example.com/health](https://shop.example.com/health)\n"
        "**Reason:** OK (200)\n"
        "**Down for:** 12 minutes and 5 seconds",
    ]


def test_ssl_expiry_warns():
    assert render_fixture("uptimerobot", "ssl_expiry__http.json") == [
        "🟠 **[SSL certificate of Shop health expires "
        "soon](https://dashboard.uptimerobot.com/monitors/795612044)**\n\n"
        "**Target:** [https://shop.example.com/health](https://shop.example.com/health)\n"
        "**Details:** SSL certificate expires in 7 days",
    ]


def test_unknown_alert_type_is_not_supported():
    with pytest.raises(Ignored, match="not supported"):
        SOURCES["uptimerobot"].receive(
            b'{"monitor_friendly_name": "Shop", "alert_type": "9", "alert_type_friendly_name": "Paused"}',
            "application/json",
            {},
        )


def test_payload_without_monitor_is_rejected():
    with pytest.raises(PayloadError):
        SOURCES["uptimerobot"].receive(b'{"alert_type": "1"}', "application/json", {})
