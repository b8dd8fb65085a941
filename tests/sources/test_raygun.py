import pytest

from bot.sources import SOURCES
from bot.sources.base import Ignored, PayloadError
from tests.formatting import render_fixture

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


def test_unknown_event_type_is_not_supported():
    body = b'{"event": "error_activity", "eventType": "ErrorMerged", "error": {}}'
    with pytest.raises(Ignored, match="not supported"):
        SOURCES["raygun"].receive(body, "application/json", {})


def test_payload_from_another_sender_is_rejected():
    with pytest.raises(PayloadError):
        SOURCES["raygun"].receive(b'{"message": "Backup finished"}', "application/json", {})
