import pytest

from bot.sources import SOURCES
from bot.sources.base import Ignored, PayloadError
from tests.formatting import render_fixture


def test_check_down_fires_with_the_error():
    assert render_fixture("updown", "check.down__timeout.json") == [
        "🔴 **[Storefront API is down](https://updown.io/downtimes/663890d2c4a6f1000a1b2c3d)**\n\n"
        "**Target:** [https://api.example.com/health](https://api.example.com/health)\n"
        "**Error:** Timeout (30s)",
    ]


def test_check_up_resolves_with_downtime():
    assert render_fixture("updown", "check.up__recovered.json") == [
        "✅ **[Storefront API is up](https://updown.io/k4x2)**\n\n"
        "**Target:** [https://api.example.com/health](https://api.example.com/health)\n"
        "**Down for:** 18m 15s",
    ]


def test_ssl_expiration_warns():
    assert render_fixture("updown", "check.ssl_expiration__seven_days.json") == [
        "🟠 **[SSL certificate of https://shop.example.com expires in 7 days](https://updown.io/q9m1)**\n\n"
        "**Issuer:** R11 (Let's Encrypt)\n"
        "**Expires:** 2024-06-08T05:12:39Z",
    ]


def test_valid_certificate_again_resolves_with_the_new_certificate():
    assert render_fixture("updown", "check.ssl_valid__fixed.json") == [
        "✅ **[SSL certificate of Shop is valid again](https://updown.io/q9m1)**\n\n"
        "**Target:** [https://shop.example.com](https://shop.example.com)\n"
        "**Issuer:** R10 (Let's Encrypt)\n"
        "**Expires:** 2024-09-07T06:01:12Z",
    ]


def test_renewed_certificate_shows_the_new_one_not_the_old():
    assert render_fixture("updown", "check.ssl_renewed__lets_encrypt.json") == [
        "✅ **[SSL certificate of https://shop.example.com was renewed](https://updown.io/q9m1)**\n\n"
        "**Issuer:** R10 (Let's Encrypt)\n"
        "**Expires:** 2024-09-07T06:01:12Z",
    ]


def test_performance_drop_warns_with_the_apdex_loss():
    assert render_fixture("updown", "check.performance_drop__apdex.json") == [
        "🟠 **[Performance of Storefront API dropped](https://updown.io/k4x2)**\n\n"
        "**Target:** [https://api.example.com/health](https://api.example.com/health)\n"
        "**Apdex dropped by:** 27%",
    ]


def test_each_event_of_a_batch_is_its_own_message():
    assert render_fixture("updown", "check.ssl_invalid__with_performance_drop.json") == [
        "🔴 **[SSL certificate of https://shop.example.com is invalid](https://updown.io/q9m1)**\n\n"
        "**Error:** certificate has expired\n"
        "**Issuer:** R11 (Let's Encrypt)\n"
        "**Expires:** 2024-06-08T05:12:39Z",
        "🟠 **[Performance of https://shop.example.com dropped](https://updown.io/q9m1)**\n\n**Apdex dropped by:** 38%",
    ]


def test_unknown_event_is_not_supported():
    body = b'[{"event": "check.paused", "check": {"token": "k4x2", "url": "https://api.example.com"}}]'
    with pytest.raises(Ignored, match="not supported"):
        SOURCES["updown"].receive(body, "application/json", {})


@pytest.mark.parametrize("body", [b"[]", b'{"message": "Backup finished"}', b'[{"check": {"token": "k4x2"}}]'])
def test_payload_from_another_sender_is_rejected(body):
    with pytest.raises(PayloadError):
        SOURCES["updown"].receive(body, "application/json", {})
