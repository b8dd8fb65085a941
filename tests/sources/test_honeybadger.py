import pytest

from bot.sources import SOURCES
from bot.sources.base import Ignored, PayloadError
from tests.formatting import Headers, receive_fixture, render_fixture

ERROR = "ActiveRecord::RecordNotFound: Couldn't find Order with 'id'=98123"
FAULT_URL = "https://app.honeybadger.io/projects/98214/faults/117403221"
SITE_URL = "https://app.honeybadger.io/projects/98214/sites/3b8e6c1a-92d4-4f0e-a7b5-6c2d1e0f9a84"
SITE = "**Site:** [https://shop.example.com/](https://shop.example.com/)"


def _messages(fixture: str):
    incoming = receive_fixture("honeybadger", fixture)
    return SOURCES["honeybadger"].format(incoming.event, incoming.payload)


def test_occurred_fires_with_where_it_was_raised():
    assert render_fixture("honeybadger", "occurred__first_notice.json") == [
        f"🔴 **[Error occurred: {ERROR}]({FAULT_URL})**\n\n"
        "**Project:** Storefront\n"
        "**Environment:** `production`\n"
        "**Where:** `orders#show`\n"
        "**Notices:** 1",
    ]


def test_rate_exceeded_quotes_honeybadgers_summary():
    assert render_fixture("honeybadger", "rate_exceeded__fifty_per_hour.json") == [
        f"🔴 **[Error rate exceeded: {ERROR}]({FAULT_URL})**\n\n"
        "**Project:** Storefront\n"
        "**Environment:** `production`\n"
        "**Where:** `orders#show`\n"
        "**Notices:** 57\n"
        "**Details:** [Storefront/production] ActiveRecord::RecordNotFound occurred 50 times in 1 hour",
    ]


def test_resolved_is_good_news_naming_who():
    assert render_fixture("honeybadger", "resolved__by_teammate.json") == [
        f"✅ **[Error resolved: {ERROR}]({FAULT_URL})**\n\n"
        "**By:** Priya Natarajan\n"
        "**Environment:** `production`\n"
        "**Notices:** 63",
    ]


def test_unresolved_fires_again():
    assert render_fixture("honeybadger", "unresolved__seen_again.json") == [
        f"🔴 **[Error reopened: {ERROR}]({FAULT_URL})**\n\n"
        "**Project:** Storefront\n"
        "**Environment:** `production`\n"
        "**Where:** `orders#show`\n"
        "**Notices:** 64",
    ]


def test_assignment_names_who_assigned_it_to_whom():
    assert render_fixture("honeybadger", "assigned__teammate.json") == [
        f"🔵 **[Priya Natarajan assigned {ERROR} to Tom Berger]({FAULT_URL})**\n\n**Environment:** `production`",
    ]


def test_comment_is_quoted():
    assert render_fixture("honeybadger", "commented__note.json") == [
        f"🔵 **[Tom Berger commented on {ERROR}]({FAULT_URL})**\n\n"
        "> Happens after the order is archived.\n"
        "> Fix in #4821.\n\n"
        "**Environment:** `production`",
    ]


def test_site_down_gives_the_reason():
    assert render_fixture("honeybadger", "down__timeout.json") == [
        f"🔴 **[Shop homepage is down]({SITE_URL})**\n\n"
        f"{SITE}\n**Project:** Storefront\n**Reason:** Connection timed out",
    ]


def test_site_up_says_how_long_it_was_down():
    assert render_fixture("honeybadger", "up__recovered.json") == [
        f"✅ **[Shop homepage is up]({SITE_URL})**\n\n{SITE}\n**Project:** Storefront\n**Down for:** 7m 36s",
    ]


def test_expiring_certificate_is_a_warning_outside_the_site_alert():
    assert render_fixture("honeybadger", "cert_will_expire__ten_days.json") == [
        f"🟠 **[Certificate of Shop homepage will expire]({SITE_URL})**\n\n"
        f"{SITE}\n**Expires:** 2026-12-09T23:59:59.000Z\n**Project:** Storefront",
    ]
    [cert] = _messages("cert_will_expire__ten_days.json")
    assert (cert.status, cert.alert) == (None, None)


def test_missing_check_in_fires():
    assert render_fixture("honeybadger", "check_in_missing__nightly_export.json") == [
        "🔴 **Check-in Nightly invoice export is missing**\n\n"
        "**Project:** Storefront\n"
        "**Reports every:** 1 day\n"
        "**Expected at:** 2026-11-29T02:00:00.000Z\n"
        "**Missed:** 1",
    ]


def test_reporting_check_in_resolves():
    assert render_fixture("honeybadger", "check_in_reporting__nightly_export.json") == [
        "✅ **Check-in Nightly invoice export is reporting again**\n\n"
        "**Project:** Storefront\n"
        "**Reports every:** 1 day\n"
        "**Reported at:** 2026-11-29T02:41:19.830Z",
    ]


def test_deploy_links_the_commit_in_the_repository():
    assert render_fixture("honeybadger", "deployed__production.json") == [
        "✅ **Storefront deploy to production finished**\n\n"
        "**Commit:** [5a0e7b3](https://github.com/example-shop/storefront/commit/"
        "5a0e7b3c9d1f2e4a6b8c0d2e4f6a8b0c2d4e6f8a)\n"
        "**By:** mira",
    ]


def test_fault_lifecycle_is_one_alert_keyed_by_fault_id():
    [occurred] = _messages("occurred__first_notice.json")
    [resolved] = _messages("resolved__by_teammate.json")
    [reopened] = _messages("unresolved__seen_again.json")
    assert (occurred.severity, occurred.status, occurred.alert.key) == ("error", "firing", "fault:117403221")
    assert occurred.alert.started_at == 1795899852.384
    assert (resolved.severity, resolved.status, resolved.alert.key) == ("success", "resolved", "fault:117403221")
    assert (reopened.status, reopened.alert.key) == ("firing", "fault:117403221")
    # Reopened, it fires from its latest notice, not from when the fault first appeared.
    assert reopened.alert.started_at == 1795940102


def test_notices_and_rate_thresholds_are_news_not_repeats():
    [occurred] = _messages("occurred__first_notice.json")
    [rate] = _messages("rate_exceeded__fifty_per_hour.json")
    assert (occurred.alert.revision, rate.alert.revision) == ("1", "rate exceeded")


@pytest.mark.parametrize("down, up, key", [
    ("down__timeout.json", "up__recovered.json", "site:3b8e6c1a-92d4-4f0e-a7b5-6c2d1e0f9a84"),
    ("check_in_missing__nightly_export.json", "check_in_reporting__nightly_export.json", "check_in:kP3xQz"),
])
def test_sites_and_check_ins_are_alerts_keyed_by_their_ids(down, up, key):
    [fired] = _messages(down)
    [resolved] = _messages(up)
    assert (fired.status, fired.alert.key) == ("firing", key)
    assert (resolved.severity, resolved.status, resolved.alert.key) == ("success", "resolved", key)


def test_site_recovery_carries_the_outage_times():
    [up] = _messages("up__recovered.json")
    assert up.alert.ended_at - up.alert.started_at == pytest.approx(456.551)


def test_redelivered_notice_is_recognised_by_fault_and_count():
    incoming = receive_fixture("honeybadger", "occurred__first_notice.json")
    key, _ = SOURCES["honeybadger"].delivery_key(incoming.event, incoming.payload, Headers(), b"")
    assert key == "id:occurred:117403221:1"


def test_unknown_event_is_not_supported():
    body = b'{"event": "volume_spike", "message": "[Storefront/production] Error volume spike"}'
    with pytest.raises(Ignored, match="not supported"):
        SOURCES["honeybadger"].receive(body, "application/json", Headers())


@pytest.mark.parametrize("body", [
    b'{"event_name": "new_item", "data": {"item": {"id": 1, "title": "x"}}}',
    b'{"event": "occurred", "message": "[Storefront/production] RuntimeError"}',
    b'{"event": "down", "site": {"id": "x"}}',
])
def test_payload_not_from_honeybadger_is_rejected(body):
    with pytest.raises(PayloadError):
        SOURCES["honeybadger"].receive(body, "application/json", Headers())
