import pytest

from bot.sources import SOURCES
from bot.sources.base import Ignored, PayloadError
from tests.formatting import render_fixture


def test_http_check_down_fires():
    assert render_fixture("pingdom", "down__http.json") == [
        "🔴 **[Storefront is down](https://my.pingdom.com/app/reports/uptime#check=8812345)**\n\n"
        "**Target:** [https://www.example.com/](https://www.example.com/) (HTTP)\n"
        "**Reason:** HTTP Server Error 503 Service Unavailable",
    ]


def test_smtp_check_up_resolves():
    assert render_fixture("pingdom", "up__smtp.json") == [
        "✅ **[Mail relay is up](https://my.pingdom.com/app/reports/uptime#check=8812399)**\n\n"
        "**Target:** `mx.example.com:25` (SMTP)",
    ]


def test_failing_transaction_check_fires_with_custom_message():
    assert render_fixture("pingdom", "failing__transaction.json") == [
        "🔴 **[Checkout flow is down](https://my.pingdom.com/app/reports/"
        "transactions#check=30211)**\n\n"
        "**Target:** TRANSACTION check\n"
        "**Reason:** Step 4: element #pay-button was not found\n\n"
        "> Payments team: check the PSP status page first.",
    ]


def test_transaction_check_success_resolves_without_a_reason():
    assert render_fixture("pingdom", "success__transaction.json") == [
        "✅ **[Checkout flow is up](https://my.pingdom.com/app/reports/transactions#check=30211)**\n\n"
        "**Target:** TRANSACTION check",
    ]


def test_unknown_state_is_not_supported():
    body = b'{"check_id": 1, "check_name": "Shop", "current_state": "PAUSED"}'
    with pytest.raises(Ignored, match="not supported"):
        SOURCES["pingdom"].receive(body, "application/json", {})


def test_payload_without_check_is_rejected():
    with pytest.raises(PayloadError):
        SOURCES["pingdom"].receive(b'{"current_state": "DOWN"}', "application/json", {})
