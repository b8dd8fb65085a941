import json

import pytest

from bot.sources import SOURCES
from bot.sources.base import Ignored, PayloadError
from tests.formatting import fixture_bytes, render_fixture

ERROR = "TypeError: Cannot read properties of undefined (reading 'total')"
ERROR_URL = "https://app.raygun.com/crashreporting/4k2h9x/errors/318862541"
APPLICATION = "**Application:** [Shop frontend](https://app.raygun.com/dashboard/4k2h9x)"


def test_new_error_fires_with_instance_details():
    assert render_fixture("raygun", "NewErrorOccurred__with_custom_data.json") == [
        f"🔴 **[New error: {ERROR}]({ERROR_URL})**\n\n"
        f"{APPLICATION}\n"
        "**Occurrences:** 3 total, 1 user(s) affected\n"
        "**Tags:** `checkout`, `production`\n"
        "**Affected user:** `customer-88213`\n"
        "**Custom data:** `cartItems`: 4, `paymentProvider`: stripe",
    ]


def test_follow_up_counts_occurrences():
    assert render_fixture("raygun", "HourlyFollowUp__still_failing.json") == [
        f"🔴 **[Error still occurring (hourly follow-up): {ERROR}]({ERROR_URL})**\n\n"
        f"{APPLICATION}\n"
        "**Occurrences:** 412 total, 57 user(s) affected",
    ]


def test_resolved_status_is_good_news():
    assert render_fixture("raygun", "StatusChanged__resolved.json") == [
        f"✅ **[Priya Natarajan marked {ERROR} as Resolved]({ERROR_URL})**\n\n{APPLICATION}",
    ]


def test_comment_is_quoted():
    assert render_fixture("raygun", "CommentAdded__note.json") == [
        f"🔵 **[Tom Berger commented on {ERROR}]({ERROR_URL})**\n\n"
        "> Happens when the cart is emptied in another tab.\n"
        "> Fix is in #4821.\n\n"
        f"{APPLICATION}",
    ]


def test_reoccurred_error_shows_its_latest_instance_without_nested_custom_data():
    assert render_fixture("raygun", "ErrorReoccurred__after_resolved.json") == [
        f"🔴 **[Error reoccurred: {ERROR}]({ERROR_URL})**\n\n"
        f"{APPLICATION}\n"
        "**Occurrences:** 413 total, 58 user(s) affected\n"
        "**Tags:** `checkout`, `production`, `release-4.3.0`\n"
        "**Affected user:** `customer-90114`\n"
        "**Custom data:** `cartItems`: 1, `paymentProvider`: paypal",
    ]


@pytest.mark.parametrize("fixture, when, occurrences", [
    ("OneMinuteFollowUp__still_failing.json", "after a minute", "9 total, 2"),
    ("FiveMinuteFollowUp__still_failing.json", "after 5 minutes", "31 total, 6"),
    ("TenMinuteFollowUp__still_failing.json", "after 10 minutes", "74 total, 11"),
    ("ThirtyMinuteFollowUp__still_failing.json", "after 30 minutes", "190 total, 29"),
])
def test_each_follow_up_says_how_long_the_error_has_kept_occurring(fixture, when, occurrences):
    assert render_fixture("raygun", fixture) == [
        f"🔴 **[Error still occurring {when}: {ERROR}]({ERROR_URL})**\n\n"
        f"{APPLICATION}\n"
        f"**Occurrences:** {occurrences} user(s) affected",
    ]


def test_assignment_names_who_assigned_it_to_whom():
    assert render_fixture("raygun", "AssignedToUser__teammate.json") == [
        f"🔵 **[Priya Natarajan assigned {ERROR} to Tom Berger]({ERROR_URL})**\n\n{APPLICATION}",
    ]


def _alert(fixture: str, **error):
    payload = json.loads(fixture_bytes("raygun", fixture))
    payload["error"] = {**payload["error"], **error}
    incoming = SOURCES["raygun"].receive(json.dumps(payload).encode(), "application/json", {})
    message = SOURCES["raygun"].format(incoming.event, incoming.payload)[0]
    return message.alert and (message.alert.key, message.status, message.alert.revision, message.alert.started_at,
                              message.alert.ended_at)


def test_the_alert_is_the_error_group_from_new_error_to_resolved():
    group = "4k2h9x/318862541"
    assert _alert("NewErrorOccurred__with_custom_data.json") == (group, "firing", "", 1713794591.0, None)
    # A follow-up's firstOccurredOn may be long before the error came back: it is no start.
    assert _alert("FiveMinuteFollowUp__still_failing.json") == (group, "firing", "", None, None)
    assert _alert("ErrorReoccurred__after_resolved.json") == (
        group, "firing", "came back 2024-04-29T08:17:52Z", 1714378672.0, None)
    assert _alert("StatusChanged__resolved.json") == (group, "resolved", "", None, 1713804005.0)


def test_activity_other_than_resolving_and_other_urls_are_no_alert():
    assert _alert("StatusChanged__resolved.json", status="Ignored") is None
    assert _alert("CommentAdded__note.json") is None
    assert _alert("NewErrorOccurred__with_custom_data.json", url="https://example.com/errors/1") is None


def test_unknown_event_type_is_not_supported():
    body = b'{"event": "error_activity", "eventType": "ErrorMerged", "error": {}}'
    with pytest.raises(Ignored, match="not supported"):
        SOURCES["raygun"].receive(body, "application/json", {})


def test_payload_from_another_sender_is_rejected():
    with pytest.raises(PayloadError):
        SOURCES["raygun"].receive(b'{"message": "Backup finished"}', "application/json", {})
