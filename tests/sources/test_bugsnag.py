import pytest

from bot.sources import SOURCES
from bot.sources.base import Ignored, PayloadError
from tests.formatting import Headers, receive_fixture, render_fixture

ERROR = "ActiveRecord::RecordNotFound: Couldn't find Order with 'id'=98123"
ERROR_URL = "https://app.bugsnag.com/acme-shop/storefront-api/errors/6749a0f1000f9e8d7c6b5a40?event_id="
PROJECT = "**Project:** [Storefront API](https://app.bugsnag.com/acme-shop/storefront-api)"
DETAILS = (
    "**Release stage:** `production`\n"
    "**App version:** `3.14.2`\n"
    "**Context:** `orders#show`\n"
    "**Request:** [https://shop.example.com/orders/98123](https://shop.example.com/orders/98123)"
)
TRACE = (
    "```\n"
    "app/controllers/orders_controller.rb:18 in show\n"
    "    @order = current_user.orders.find(params[:id])\n"
    "app/controllers/application_controller.rb:7 in with_locale\n"
    "```"
)


def _messages(fixture: str):
    incoming = receive_fixture("bugsnag", fixture)
    return SOURCES["bugsnag"].format(incoming.event, incoming.payload)


def test_new_error_fires_with_its_in_project_frames():
    assert render_fixture("bugsnag", "firstException__rails.json") == [
        f"🔴 **[New error: {ERROR}]({ERROR_URL}6749c1e2000a1b2c3d4e5f60)**\n\n{PROJECT}\n{DETAILS}\n\n{TRACE}",
    ]


def test_milestone_names_the_trigger():
    assert render_fixture("bugsnag", "powerTen__hundredth.json") == [
        f"🔴 **[Error milestone: {ERROR}]({ERROR_URL}674a02b7000c1d2e3f405162)**\n\n"
        f"{PROJECT}\n**Trigger:** 100th event\n{DETAILS}\n\n{TRACE}",
    ]


def test_frequency_rule_names_the_trigger():
    assert render_fixture("bugsnag", "errorEventFrequency__users_per_hour.json") == [
        f"🔴 **[Frequent error: {ERROR}]({ERROR_URL}674a02b7000c1d2e3f405162)**\n\n"
        f"{PROJECT}\n**Trigger:** 50 events in 1 hour\n{DETAILS}\n\n{TRACE}",
    ]


def test_every_event_takes_the_event_severity():
    assert render_fixture("bugsnag", "exception__handled_warning.json") == [
        f"🟠 **[Error occurred: {ERROR}]({ERROR_URL}674a03c1000d2e3f40516273)**\n\n"
        f"{PROJECT}\n"
        "**Release stage:** `production`\n"
        "**App version:** `3.14.2`\n"
        "**Context:** `orders#show`",
    ]


def test_automatic_reopening_fires_again():
    assert render_fixture("bugsnag", "reopened__after_fix.json") == [
        f"🔴 **[Error reopened: {ERROR}]({ERROR_URL}674b11aa000e3f4051627384)**\n\n"
        f"{PROJECT}\n{DETAILS.replace('3.14.2', '3.15.0')}",
    ]


def test_marked_fixed_is_good_news_naming_who():
    assert render_fixture("bugsnag", "errorStateManualChange__fixed.json") == [
        f"✅ **[Error marked as fixed: {ERROR}]({ERROR_URL}674a02b7000c1d2e3f405162)**\n\n"
        f"**By:** Priya Natarajan\n{PROJECT}\n**Release stage:** `production`",
    ]


def test_snoozing_is_information_outside_the_alert():
    assert render_fixture("bugsnag", "errorStateManualChange__snoozed.json") == [
        f"🔵 **[Error snoozed: {ERROR}]({ERROR_URL}674a02b7000c1d2e3f405162)**\n\n"
        f"{PROJECT}\n**Release stage:** `production`",
    ]
    [snoozed] = _messages("errorStateManualChange__snoozed.json")
    assert (snoozed.status, snoozed.alert) == (None, None)


def test_comment_is_quoted():
    assert render_fixture("bugsnag", "comment__note.json") == [
        f"🔵 **[Tom Berger commented on {ERROR}]({ERROR_URL}674a02b7000c1d2e3f405162)**\n\n"
        "> Happens after the order is archived.\n"
        "> Fix in #4821.\n\n"
        f"{PROJECT}",
    ]


def test_project_spike_is_a_warning_with_its_rate():
    assert render_fixture("bugsnag", "projectSpiking__checkout.json") == [
        "🟠 **[Storefront API is spiking](https://app.bugsnag.com/acme-shop/storefront-api)**\n\n"
        "**Trigger:** Project spiking\n"
        "**Events:** 1250",
    ]


@pytest.mark.parametrize("fixture, what", [
    ("projectSamplingStarted__rate_limited.json", "is being rate-limited"),
    ("projectApproachingRateLimit__close.json", "is close to being rate-limited"),
])
def test_rate_limiting_is_a_project_warning(fixture, what):
    assert render_fixture("bugsnag", fixture) == [
        f"🟠 **[Storefront API {what}](https://app.bugsnag.com/acme-shop/storefront-api)**\n\n"
        f"**Trigger:** Your project {what}",
    ]


def test_error_lifecycle_is_one_alert_keyed_by_error_id():
    [new] = _messages("firstException__rails.json")
    [fixed] = _messages("errorStateManualChange__fixed.json")
    [reopened] = _messages("reopened__after_fix.json")
    error_id = "6749a0f1000f9e8d7c6b5a40"
    assert (new.severity, new.status, new.alert.key) == ("error", "firing", error_id)
    assert new.alert.started_at == 1795899852
    assert (fixed.severity, fixed.status, fixed.alert.key) == ("success", "resolved", error_id)
    assert (reopened.status, reopened.alert.key) == ("firing", error_id)
    # Reopened, it fires from the event that reopened it, not from the error's first event.
    assert reopened.alert.started_at == 1795940102


def test_follow_ups_are_news_about_the_firing_error_not_repeats():
    [milestone] = _messages("powerTen__hundredth.json")
    [every] = _messages("exception__handled_warning.json")
    assert milestone.alert.revision == "100th event"
    assert (every.severity, every.alert.revision) == ("warning", "674a03c1000d2e3f40516273")


@pytest.mark.parametrize("fixture, key", [
    ("firstException__rails.json", "id:firstException:6749c1e2000a1b2c3d4e5f60"),
    ("exception__handled_warning.json", "id:exception:674a03c1000d2e3f40516273"),
    ("comment__note.json", "id:comment:674a1f00000f405162738495"),
])
def test_redelivery_is_recognised_by_bugsnag_ids(fixture, key):
    incoming = receive_fixture("bugsnag", fixture)
    assert SOURCES["bugsnag"].delivery_key(incoming.event, incoming.payload, Headers(), b"")[0] == key


def test_unknown_trigger_is_not_supported():
    body = b'{"project": {"name": "Storefront API"}, "trigger": {"type": "release", "message": "New release"}}'
    with pytest.raises(Ignored, match="not supported"):
        SOURCES["bugsnag"].receive(body, "application/json", Headers())


@pytest.mark.parametrize("body", [
    b'{"event_name": "new_item", "data": {"item": {"id": 1, "title": "x"}}}',
    b'{"project": {"name": "Storefront API"}, "trigger": {"type": "firstException"}}',
    b'{"trigger": {"type": "projectSpiking"}}',
])
def test_payload_not_from_bugsnag_is_rejected(body):
    with pytest.raises(PayloadError):
        SOURCES["bugsnag"].receive(body, "application/json", Headers())
