import json

import pytest

from bot.sources import SOURCES
from bot.sources.base import PayloadError
from tests.formatting import render_fixture


def test_unified_firing_alert_with_values_and_links():
    assert render_fixture("grafana", "alert__firing.json") == [
        "🚨 **[[FIRING:1] CheckoutErrors — grafana_folder=Shop](https://grafana.example.com/)**\n\n"
        "Checkout error rate is 7.2%\n\n"
        "**Labels:** `grafana_folder=Shop` `service=checkout` `severity=critical`\n\n"
        "- `A=0.072` `C=1` · [source](https://grafana.example.com/alerting/grafana/bdk8a1/vie"
        "w?orgId=1) · [silence](https://grafana.example.com/alerting/silence/new?alertmanager"
        "=grafana&matcher=alertname%3DCheckoutErrors&matcher=service%3Dcheckout&orgId=1) · "
        "[dashboard](https://grafana.example.com/d/shop-overview?orgId=1) · "
        "[panel](https://grafana.example.com/d/shop-overview?orgId=1&viewPanel=4)",
    ]


def test_unified_resolved_alert_has_no_silence_link():
    assert render_fixture("grafana", "alert__resolved.json") == [
        "✅ **[[RESOLVED:1] QueueBacklog](https://grafana.example.com/)**\n\n"
        "More than 5000 jobs waiting in emails\n\n"
        "**Labels:** `queue=emails`\n\n"
        "- `B=812` · [source](https://grafana.example.com/alerting/grafana/q7b2c9/view?orgId=1)",
    ]


def test_legacy_alerting_rule_lists_matching_series():
    assert render_fixture("grafana", "legacy_alert__alerting.json") == [
        "🔴 **[[Alerting] Disk "
        "usage](https://grafana.example.com/d/Hx9dK2/databases?tab=alert&viewPanel=3&orgId=1)**\n\n"
        "Disk usage is above 90% on database hosts.\n\n"
        "- db-1 disk used %: `93.4`\n"
        "- db-2 disk used %: `91.0`\n\n"
        "[Image](https://grafana.example.com/public/img/attachments/k2Qm7.png)",
    ]


def test_legacy_rule_back_to_ok():
    assert render_fixture("grafana", "legacy_alert__ok.json") == [
        "✅ **[[OK] Disk usage](https://grafana.example.com/d/Hx9dK2/databases?tab=alert&viewPanel=3&orgId=1)**",
    ]


def test_form_encoded_delivery_is_accepted():
    body = "payload=" + json.dumps({"ruleName": "CPU", "state": "no_data", "title": "[No Data] CPU"})
    incoming = SOURCES["grafana"].receive(body.encode(), "application/x-www-form-urlencoded", {})
    assert incoming.event == "legacy_alert"


def test_payload_from_another_sender_is_rejected():
    with pytest.raises(PayloadError):
        SOURCES["grafana"].receive(b'{"message": "Backup finished"}', "application/json", {})


def test_legacy_payload_without_state_is_rejected():
    with pytest.raises(PayloadError) as err:
        SOURCES["grafana"].receive(b'{"ruleName": "CPU"}', "application/json", {})
    assert "state" in err.value.details
