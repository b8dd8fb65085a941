import pytest

from bot.sources import SOURCES
from bot.sources.base import Ignored, PayloadError
from tests.formatting import fixture_bytes, receive_fixture, render_fixture

NO_RESOURCE_HEADER = {"Sentry-Hook-Resource": ""}


def test_issue_alert_with_stack_trace():
    assert render_fixture("sentry", "event_alert__exception.json") == [
        "🔴 **[KeyError: 'customer_id'](https://acme.sentry.io/issues/5123456789/events/e4f2a9"
        "c81b7d4c0a9d3e5f6a7b8c9d01/)**\n\n"
        "**Level:** error\n"
        "**Alert rule:** New billing errors\n"
        "**Transaction:** `/api/invoices/`\n"
        "**Environment:** `production`\n"
        "**Release:** `billing@2.14.0`\n\n"
        "```python\n"
        "billing/views.py:58 in post\n"
        "    invoice = create_invoice(request.data)\n"
        "billing/invoices.py:21 in create_invoice\n"
        '    customer = data["customer_id"]\n'
        "```",
    ]


def test_new_error_shows_culprit_and_in_app_frames():
    assert render_fixture("sentry", "error__javascript.json") == [
        "🔴 **[TypeError: Cannot read properties of null (reading "
        "'price')](https://acme.sentry.io/issues/5123457001/events/9b3d7f1a2c4e4b6d8f0a1c3e5b7d9f21/)**\n\n"
        "**Level:** error\n"
        "**Culprit:** `renderCartTotal(app/cart/CartSummary)`\n"
        "**Environment:** `production`\n"
        "**Release:** `storefront@3.8.1`\n\n"
        "```javascript\n"
        "app/cart/CartSummary.tsx:41 in CartSummary\n"
        "    const total = renderCartTotal(items);\n"
        "app/cart/CartSummary.tsx:18 in renderCartTotal\n"
        "    return items.reduce((sum, item) => sum + item.product.price * item.qty, 0);\n"
        "```",
    ]


def test_issue_resolved_by_a_user():
    assert render_fixture("sentry", "issue__resolved.json") == [
        "✅ **[Issue resolved: KeyError: 'customer_id'](https://acme.sentry.io/issues/5123456789/)**\n\n"
        "**By:** Dana Kim\n"
        "**Issue:** `BILLING-3F`\n"
        "**Project:** Billing",
    ]


def test_issue_assigned_to_a_team():
    assert render_fixture("sentry", "issue__assigned.json") == [
        "🔵 **[Issue assigned: TimeoutError: card processor did not "
        "answer](https://acme.sentry.io/issues/5123456790/)**\n\n"
        "**Assigned to:** team payments\n"
        "**By:** Dana Kim\n"
        "**Issue:** `BILLING-40`\n"
        "**Project:** Billing",
    ]


def test_metric_alert_critical():
    assert render_fixture("sentry", "metric_alert__critical.json") == [
        "🚨 **[Critical: Error spike in checkout](https://acme.sentry.io/alerts/rules/details/91/)**\n\n"
        "312 events in the last 5 minutes\n"
        "Filter: level:error\n\n"
        "**Alert rule:** Error spike in checkout\n"
        "**Projects:** `checkout-web`",
    ]


def test_comment_is_quoted():
    assert render_fixture("sentry", "comment__created.json") == [
        "🔵 **Dana Kim commented on issue 5123456789 in billing**\n\n"
        "> Fixed by validating the payload before building the invoice.\n"
        "> Deploying with 2.14.1.",
    ]


def test_legacy_plugin_links_the_event():
    assert render_fixture("sentry", "plugin__message.json") == [
        "🟠 **[Payment retry limit reached for invoice "
        "1042](https://acme.sentry.io/issues/5123456791/events/0a1b2c3d4e5f40718293a4b5c6d7e8f9/)**\n\n"
        "**Level:** warning\n"
        "**Project:** Billing\n"
        "**Culprit:** `billing.tasks in retry_payment`\n"
        "**Environment:** `production`",
    ]


@pytest.mark.parametrize(
    "fixture",
    ["event_alert__exception.json", "error__javascript.json", "issue__resolved.json", "metric_alert__critical.json",
     "plugin__message.json"],
)
def test_kind_is_told_from_the_payload_without_the_resource_header(fixture):
    assert render_fixture("sentry", fixture, headers=NO_RESOURCE_HEADER) == render_fixture("sentry", fixture)


def test_installation_is_ignored():
    with pytest.raises(Ignored):
        receive_fixture("sentry", "installation__created.json")


def test_deleted_comment_is_ignored():
    with pytest.raises(Ignored) as err:
        receive_fixture("sentry", "comment__deleted.json")
    assert "deleted" in err.value.reason


def test_unsupported_resource():
    body = fixture_bytes("sentry", "comment__created.json")
    with pytest.raises(Ignored) as err:
        SOURCES["sentry"].receive(body, "application/json", {"Sentry-Hook-Resource": "seer"})
    assert "not supported" in err.value.reason


def test_payload_from_another_sender_is_rejected():
    with pytest.raises(PayloadError):
        SOURCES["sentry"].receive(b'{"message": "Backup finished"}', "application/json", {})
