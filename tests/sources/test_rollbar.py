import pytest

from bot.sources import SOURCES
from bot.sources.base import Ignored, PayloadError
from tests.formatting import Headers, receive_fixture, render_fixture

TITLE = "KeyError: 'customer_id'"
FRAMES = (
    "```\n"
    "/srv/shop/app/views/checkout.py:88 in submit_order\n"
    "    order = build_order(cart)\n"
    "/srv/shop/app/orders.py:141 in build_order\n"
    "    customer = cart.meta['customer_id']\n"
    "```"
)


def _url(uuid: str) -> str:
    return f"https://rollbar.com/instance/uuid?uuid={uuid}"


def _messages(fixture: str):
    incoming = receive_fixture("rollbar", fixture)
    return SOURCES["rollbar"].format(incoming.event, incoming.payload)


def test_new_item_fires_with_its_first_occurrence():
    assert render_fixture("rollbar", "new_item__python_exception.json") == [
        f"🔴 **[New item: {TITLE}]({_url('3f9c2a41-7d2e-4b8a-9c11-5e6f7a8b9c0d')})**\n\n"
        "**Item:** `#42`\n"
        "**Environment:** `production`\n"
        "**Level:** error\n"
        "**Occurrences:** 1\n"
        "**Server:** `web-3.shop.example.com`\n"
        "**Code version:** `4f1d2c9`\n\n"
        f"{FRAMES}",
    ]


def test_every_occurrence_links_that_occurrence():
    assert render_fixture("rollbar", "occurrence__python_exception.json") == [
        f"🔴 **[New occurrence: {TITLE}]({_url('b27e4d10-88c3-4f5a-a0b9-c1d2e3f40516')})**\n\n"
        "**Item:** `#42`\n"
        "**Environment:** `production`\n"
        "**Level:** error\n"
        "**Occurrences:** 7\n"
        "**Server:** `web-1.shop.example.com`\n"
        "**Code version:** `4f1d2c9`\n\n"
        f"{FRAMES}",
    ]


def test_power_of_ten_names_the_count_reached():
    assert render_fixture("rollbar", "exp_repeat_item__hundredth.json") == [
        f"🔴 **[Item reached 100 occurrences: {TITLE}]({_url('c5a0e9f2-1b3d-4e6f-8a7b-9c0d1e2f3a4b')})**\n\n"
        "**Item:** `#42`\n"
        "**Environment:** `production`\n"
        "**Level:** error\n"
        "**Occurrences:** 100\n"
        "**Server:** `web-3.shop.example.com`\n"
        "**Code version:** `4f1d2c9`\n\n"
        f"{FRAMES}",
    ]


def test_high_rate_shows_the_rule_and_the_numeric_level_as_a_word():
    assert render_fixture("rollbar", "item_velocity__five_minutes.json") == [
        f"🚨 **High occurrence rate: {TITLE}**\n\n"
        "**Item:** `#42`\n"
        "**Environment:** `production`\n"
        "**Level:** critical\n"
        "**Rate:** 50 occurrences in 5 minutes\n"
        "**Occurrences:** 163",
    ]


def test_resolved_item_is_good_news_with_the_fixing_version():
    assert render_fixture("rollbar", "resolved_item__fixed_in_release.json") == [
        f"✅ **[Item resolved: {TITLE}]({_url('3f9c2a41-7d2e-4b8a-9c11-5e6f7a8b9c0d')})**\n\n"
        "**Item:** `#42`\n"
        "**Environment:** `production`\n"
        "**Occurrences:** 163\n"
        "**Resolved in version:** `5a0e7b3`",
    ]


def test_reactivated_item_fires_again():
    assert render_fixture("rollbar", "reactivated_item__seen_again.json") == [
        f"🔴 **[Item reactivated: {TITLE}]({_url('d81f3b6c-2a4e-4c9d-b7e1-0f2a3b4c5d6e')})**\n\n"
        "**Item:** `#42`\n"
        "**Environment:** `production`\n"
        "**Level:** error\n"
        "**Occurrences:** 164\n"
        "**Server:** `web-3.shop.example.com`\n"
        "**Code version:** `5a0e7b3`\n\n"
        f"{FRAMES}",
    ]


def test_reopened_item_without_an_occurrence_has_no_link():
    assert render_fixture("rollbar", "reopened_item__by_teammate.json") == [
        f"🔴 **Item reopened: {TITLE}**\n\n"
        "**Item:** `#42`\n"
        "**Environment:** `production`\n"
        "**Level:** error\n"
        "**Occurrences:** 163",
    ]


def test_deploy_says_where_what_and_who():
    assert render_fixture("rollbar", "deploy__production.json") == [
        "✅ **Deploy to production succeeded**\n\n"
        "**Commit:** `5a0e7b3` Release 2026.11.29: checkout fixes\n"
        "**By:** mira\n"
        "**Took:** 3m",
    ]


def test_item_lifecycle_is_one_alert_keyed_by_item_id():
    [new] = _messages("new_item__python_exception.json")
    [reactivated] = _messages("reactivated_item__seen_again.json")
    [resolved] = _messages("resolved_item__fixed_in_release.json")
    assert (new.severity, new.status, new.alert.key) == ("error", "firing", "1093847561")
    assert (reactivated.status, reactivated.alert.key) == ("firing", "1093847561")
    assert (resolved.severity, resolved.status, resolved.alert.key) == ("success", "resolved", "1093847561")
    assert new.alert.started_at == 1764383012


def test_follow_ups_are_news_about_the_firing_item_not_repeats():
    [occurrence] = _messages("occurrence__python_exception.json")
    [hundredth] = _messages("exp_repeat_item__hundredth.json")
    [rate] = _messages("item_velocity__five_minutes.json")
    assert occurrence.alert.revision == "b27e4d10-88c3-4f5a-a0b9-c1d2e3f40516"
    assert hundredth.alert.revision == "100 occurrences"
    assert (rate.severity, rate.alert.revision) == ("critical", "high rate")


@pytest.mark.parametrize("fixture, key", [
    ("occurrence__python_exception.json", "id:occurrence:b27e4d10-88c3-4f5a-a0b9-c1d2e3f40516"),
    ("new_item__python_exception.json", "id:new_item:1093847561"),
    ("exp_repeat_item__hundredth.json", "id:exp_repeat_item:1093847561:100"),
    ("deploy__production.json", "id:deploy:28451937"),
])
def test_redelivery_is_recognised_by_rollbar_ids(fixture, key):
    incoming = receive_fixture("rollbar", fixture)
    assert SOURCES["rollbar"].delivery_key(incoming.event, incoming.payload, Headers(), b"")[0] == key


def test_test_notification_is_ignored():
    with pytest.raises(Ignored, match="test notification"):
        receive_fixture("rollbar", "test__send_test_notification.json")


def test_unknown_event_is_not_supported():
    body = b'{"event_name": "item_assigned", "data": {"item": {"id": 1, "title": "x"}}}'
    with pytest.raises(Ignored, match="not supported"):
        SOURCES["rollbar"].receive(body, "application/json", Headers())


@pytest.mark.parametrize("body", [
    b'{"eventType": "NewErrorOccurred", "error": {}}',
    b'{"event_name": "new_item", "data": {"deploy": {}}}',
    b'{"event_name": "new_item"}',
])
def test_payload_not_from_rollbar_is_rejected(body):
    with pytest.raises(PayloadError):
        SOURCES["rollbar"].receive(body, "application/json", Headers())
