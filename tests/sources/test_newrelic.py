import pytest

from bot.sources import SOURCES
from bot.sources.base import PayloadError
from tests.formatting import render_fixture


def test_activated_issue_fires_with_its_priority():
    assert render_fixture("newrelic", "issue__activated.json") == [
        "🚨 **[checkout-api error rate \\> 5% for 5 minutes on 'Checkout "
        "errors'](https://radar-api.service.newrelic.com/accounts/2210456/issues/3f9c7a52-1d4e-"
        "4b8a-9a61-2c5e0d7b8e14?notifier=WEBHOOK)**\n\n"
        "**State:** `ACTIVATED`\n"
        "**Priority:** CRITICAL\n"
        "**Policies:** `Checkout SLOs`\n"
        "**Conditions:** `Checkout errors`\n"
        "**Entities:** `checkout-api`\n"
        "**Incidents:** 2",
    ]


def test_closed_issue_resolves_and_shows_template_extras():
    assert render_fixture("newrelic", "issue__closed_custom_fields.json") == [
        "✅ **[checkout-api error rate \\> 5% for 5 minutes on 'Checkout "
        "errors'](https://radar-api.service.newrelic.com/accounts/2210456/issues/3f9c7a52-1d4e-"
        "4b8a-9a61-2c5e0d7b8e14?notifier=WEBHOOK)**\n\n"
        "**State:** `CLOSED`\n"
        "**Priority:** CRITICAL\n"
        "**Policies:** `Checkout SLOs`\n"
        "**Conditions:** `Checkout errors`\n"
        "**Entities:** `checkout-api`\n"
        "**Acknowledged by:** Dana Whitfield\n"
        "**Open for:** 45m 25s\n"
        "**team:** payments\n"
        "**Runbook:** [https://wiki.example.com/runbooks/checkout-errors](https://wiki.example.com/"
        "runbooks/checkout-errors)",
    ]


def test_legacy_channel_incident():
    assert render_fixture("newrelic", "incident__legacy_open.json") == [
        "🚨 **[Web response time \\> 1.5 s for at least 5 minutes on "
        "'storefront'](https://alerts.newrelic.com/accounts/2210456/incidents/51820339)**\n\n"
        "**State:** `open`\n"
        "**Policy:** `Storefront`\n"
        "**Condition:** `Web response time`\n"
        "**Targets:** [storefront](https://rpm.newrelic.com/accounts/2210456/applications/"
        "60112233)\n"
        "**Runbook:** [runbook](https://wiki.example.com/runbooks/storefront-latency)",
    ]


def test_customised_template_without_default_fields_still_posts():
    assert render_fixture("newrelic", "issue__custom_template.json") == [
        "🔴 **New Relic issue**\n\n"
        "**summary:** Disk almost full on db-1\n"
        "**dashboard:** [https://one.newrelic.com/dashboards/db-overview](https://one.newrelic.com/"
        "dashboards/db-overview)\n"
        "**team:** storage\n"
        "**env:** prod",
    ]


@pytest.mark.parametrize("body", [b"[1, 2]", b'{"title": 5}', b'{"createdAt": "soon", "title": "x"}'])
def test_payload_not_from_new_relic_is_rejected(body):
    with pytest.raises(PayloadError):
        SOURCES["newrelic"].receive(body, "application/json", {})
