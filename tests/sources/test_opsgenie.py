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


def test_acknowledged_alert_is_a_warning():
    assert render_fixture("opsgenie", "Acknowledge__basic.json") == [
        "🟠 **[Alert #1187 acknowledged: Payments API health check "
        "failing](https://app.opsgenie.com/alert/detail/3b8f2c1e-7d4a-4e9b-a1c2-5f6e7d8c9b0a/details)**\n\n"
        "**By:** lena@example.com\n"
        "**Tags:** `payments` `prod`\n"
        "**Entity:** payments-api\n"
        "**Integration:** Copera relay",
    ]


def test_unacknowledged_alert_pages_at_its_priority():
    assert render_fixture("opsgenie", "UnAcknowledge__p2.json") == [
        "🔴 **[Alert #1187 unacknowledged: Payments API health check "
        "failing](https://app.opsgenie.com/alert/detail/3b8f2c1e-7d4a-4e9b-a1c2-5f6e7d8c9b0a/details)**\n\n"
        "**By:** lena@example.com\n"
        "**Priority:** P2\n"
        "**Tags:** `payments` `prod`\n"
        "**Entity:** payments-api\n"
        "**Integration:** Copera relay",
    ]


def test_deleted_alert():
    assert render_fixture("opsgenie", "Delete__basic.json") == [
        "🔵 **[Alert #1187 deleted: Payments API health check "
        "failing](https://app.opsgenie.com/alert/detail/3b8f2c1e-7d4a-4e9b-a1c2-5f6e7d8c9b0a/details)**\n\n"
        "**By:** marco@example.com\n"
        "**Entity:** payments-api\n"
        "**Integration:** Copera relay",
    ]


def test_recipient_added():
    assert render_fixture("opsgenie", "AddRecipient__user.json") == [
        "🔵 **[Alert #1187 recipient added: Payments API health check "
        "failing](https://app.opsgenie.com/alert/detail/3b8f2c1e-7d4a-4e9b-a1c2-5f6e7d8c9b0a/details)**\n\n"
        "**Recipient:** marco@example.com\n"
        "**By:** lena@example.com\n"
        "**Tags:** `payments` `prod`\n"
        "**Entity:** payments-api\n"
        "**Integration:** Copera relay",
    ]


def test_team_added():
    assert render_fixture("opsgenie", "AddTeam__sre.json") == [
        "🔵 **[Alert #1187 team added: Payments API health check "
        "failing](https://app.opsgenie.com/alert/detail/3b8f2c1e-7d4a-4e9b-a1c2-5f6e7d8c9b0a/details)**\n\n"
        "**Team:** SRE\n"
        "**By:** lena@example.com\n"
        "**Tags:** `payments` `prod`\n"
        "**Entity:** payments-api\n"
        "**Integration:** Copera relay",
    ]


def test_tags_added_are_listed_one_by_one():
    assert render_fixture("opsgenie", "AddTags__comma_separated.json") == [
        "🔵 **[Alert #1187 tags added: Payments API health check "
        "failing](https://app.opsgenie.com/alert/detail/3b8f2c1e-7d4a-4e9b-a1c2-5f6e7d8c9b0a/details)**\n\n"
        "**Tags added:** `sev1` `customer-impact`\n"
        "**By:** lena@example.com\n"
        "**Tags:** `payments` `prod` `sev1` `customer-impact`\n"
        "**Entity:** payments-api\n"
        "**Integration:** Copera relay",
    ]


def test_tags_removed():
    assert render_fixture("opsgenie", "RemoveTags__basic.json") == [
        "🔵 **[Alert #1187 tags removed: Payments API health check "
        "failing](https://app.opsgenie.com/alert/detail/3b8f2c1e-7d4a-4e9b-a1c2-5f6e7d8c9b0a/details)**\n\n"
        "**Tags removed:** `prod`\n"
        "**By:** lena@example.com\n"
        "**Tags:** `payments`\n"
        "**Entity:** payments-api\n"
        "**Integration:** Copera relay",
    ]


def test_ownership_taken():
    assert render_fixture("opsgenie", "TakeOwnership__basic.json") == [
        "🔵 **[Alert #1187 ownership taken: Payments API health check "
        "failing](https://app.opsgenie.com/alert/detail/3b8f2c1e-7d4a-4e9b-a1c2-5f6e7d8c9b0a/details)**\n\n"
        "**By:** marco@example.com\n"
        "**Tags:** `payments` `prod`\n"
        "**Entity:** payments-api\n"
        "**Integration:** Copera relay",
    ]


def test_owner_assigned():
    assert render_fixture("opsgenie", "AssignOwnership__to_teammate.json") == [
        "🔵 **[Alert #1187 owner assigned: Payments API health check "
        "failing](https://app.opsgenie.com/alert/detail/3b8f2c1e-7d4a-4e9b-a1c2-5f6e7d8c9b0a/details)**\n\n"
        "**Owner:** marco@example.com\n"
        "**By:** lena@example.com\n"
        "**Tags:** `payments` `prod`\n"
        "**Entity:** payments-api\n"
        "**Integration:** Copera relay",
    ]


def test_escalation_names_the_policy_and_who_is_notified():
    assert render_fixture("opsgenie", "Escalate__next_level.json") == [
        "🟠 **[Alert escalated](https://app.opsgenie.com/alert/detail/3b8f2c1e-7d4a-4e9b-a1c2-5f6e7d8c9b0a/details)**\n\n"
        "**Escalation:** Payments escalation\n"
        "**Notified:** marco@example.com\n"
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
