import json

import pytest

from bot.sources import SOURCES
from bot.sources.base import PayloadError
from tests.formatting import receive_fixture, render_fixture


def test_new_p1_alert_is_critical():
    assert render_fixture("opsgenie", "Create__p1.json") == [
        "🚨 **[Alert #1187 created: Payments API health check "
        "failing](https://app.opsgenie.com/alert/detail/3b8f2c1e-7d4a-4e9b-a1c2-5f6e7d8c9b0a/"
        "details)**\n\n"
        "**By:** System\n"
        "**Priority:** P1\n"
        "**Tags:** `payments` `prod`\n"
        "**Entity:** payments-api\n"
        "**Integration:** Copera relay",
    ]


def test_closed_alert_resolves():
    assert render_fixture("opsgenie", "Close__basic.json") == [
        "✅ **[Alert #1187 closed: Payments API health check "
        "failing](https://app.opsgenie.com/alert/detail/3b8f2c1e-7d4a-4e9b-a1c2-5f6e7d8c9b0a/"
        "details)**\n\n"
        "**By:** lena@example.com\n"
        "**Tags:** `payments` `prod`\n"
        "**Entity:** payments-api\n"
        "**Integration:** Copera relay",
    ]


def test_note_is_quoted():
    assert render_fixture("opsgenie", "AddNote__basic.json") == [
        "🔵 **[Alert #1187 note added: Payments API health check "
        "failing](https://app.opsgenie.com/alert/detail/3b8f2c1e-7d4a-4e9b-a1c2-5f6e7d8c9b0a/"
        "details)**\n\n"
        "> Rolled back release 4.2.0, watching error rate.\n\n"
        "**By:** lena@example.com\n"
        "**Tags:** `payments` `prod`\n"
        "**Entity:** payments-api\n"
        "**Integration:** Copera relay",
    ]


def test_custom_action():
    assert render_fixture("opsgenie", "custom_action__restart.json") == [
        "🔵 **[Alert #1187 custom action RestartService: Payments API health check "
        "failing](https://app.opsgenie.com/alert/detail/3b8f2c1e-7d4a-4e9b-a1c2-5f6e7d8c9b0a/"
        "details)**\n\n"
        "**By:** lena@example.com\n"
        "**Integration:** Copera relay",
    ]


def test_form_encoded_delivery_is_accepted():
    body = "payload=" + json.dumps({"action": "Acknowledge", "alert": {"alertId": "a1", "message": "Disk full"}})
    incoming = SOURCES["opsgenie"].receive(body.encode(), "application/x-www-form-urlencoded", {})
    assert incoming.event == "Acknowledge"


def test_unknown_actions_are_custom_actions():
    assert receive_fixture("opsgenie", "custom_action__restart.json").event == "custom action"


def test_payload_from_another_sender_is_rejected():
    with pytest.raises(PayloadError) as err:
        SOURCES["opsgenie"].receive(b'{"message": "Backup finished"}', "application/json", {})
    assert set(err.value.details) == {"action", "alert"}
