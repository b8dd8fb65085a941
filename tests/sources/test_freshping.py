import pytest

from bot.sources import SOURCES
from bot.sources.base import Ignored, PayloadError
from tests.formatting import render_fixture

TARGET = (
    "**Target:** [https://api.acme-retail.example/checkout/health](https://api.acme-retail.example/checkout/health)"
)


def test_check_not_responding_fires():
    assert render_fixture("freshping", "down__not_responding.json") == [
        "🔴 **Checkout API is down**\n\n"
        f"{TARGET}\n"
        "**State:** Not Responding\n"
        "**HTTP status:** 504\n"
        "**Response time:** 30000 ms",
    ]


def test_check_available_resolves():
    assert render_fixture("freshping", "up__available.json") == [f"✅ **Checkout API is up**\n\n{TARGET}"]


def test_test_delivery_confirms_the_setup():
    assert render_fixture("freshping", "test__configured.json") == [
        "🔵 **Freshping webhook test**\n\n"
        "**Check:** Example check\n"
        "**Target:** [https://www.example.com/](https://www.example.com/)",
    ]


def test_unknown_state_is_not_supported():
    body = b'{"webhook_event_data": {"check_name": "Checkout API", "check_state_name": "Paused"}}'
    with pytest.raises(Ignored, match="not supported"):
        SOURCES["freshping"].receive(body, "application/json", {})


def test_payload_from_another_sender_is_rejected():
    with pytest.raises(PayloadError):
        SOURCES["freshping"].receive(b'{"message": "Backup finished"}', "application/json", {})
