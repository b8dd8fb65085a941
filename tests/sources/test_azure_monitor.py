import json

import pytest

from bot.sources import SOURCES
from bot.sources.base import Ignored, PayloadError
from tests.formatting import fixture_bytes, receive_fixture, render_fixture

AZURE = SOURCES["azure-monitor"]
PORTAL = "https://portal.azure.com/#blade/Microsoft_Azure_Monitoring_Alerts/AlertDetailsTemplateBlade/alertId/"
ALERTS = "%2Fsubscriptions%2F11111111-2222-3333-4444-555555555555%2Fproviders%2FMicrosoft.AlertsManagement%2Falerts%2F"


def test_metric_alert_fired_shows_criterion_value_and_investigation_link():
    assert render_fixture("azure-monitor", "metric_alert__fired.json") == [
        "🔴 **[checkout-vm-high-cpu fired](https://portal.azure.com/#view/Microsoft_Azure_Monitoring_Alerts/"
        "Investigation.ReactView/alertId/%2fsubscriptions%2f11111111-2222-3333-4444-555555555555%2fproviders"
        "%2fMicrosoft.AlertsManagement%2falerts%2f6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d)**\n\n"
        "**Severity:** Sev1\n"
        "**Resource:** `checkout-vm-01` (resource group `acme-shop-prod`)\n"
        "**Window:** PT5M\n"
        "**Since:** 2026-11-28T21:04:12.5532187Z\n"
        "**Service:** Platform\n\n"
        "CPU of the checkout VM stays above 85% for 5 minutes\n\n"
        "- Percentage CPU (Average) \\> 85 · value `93.2` · `ResourceId=checkout-vm-01`",
    ]


def test_metric_alert_resolved_is_success_and_links_the_alert_in_the_portal():
    assert render_fixture("azure-monitor", "metric_alert__resolved.json") == [
        f"✅ **[orders-db-storage resolved]({PORTAL}{ALERTS}0f9e8d7c-6b5a-4c3d-9e2f-1a0b9c8d7e6f)**\n\n"
        "**Severity:** Sev3\n"
        "**Resource:** `orders` (resource group `acme-data`)\n"
        "**Window:** PT15M\n"
        "**Since:** 2026-11-28T19:40:02.1100000Z\n"
        "**Resolved:** 2026-11-28T20:15:47.8830000Z\n"
        "**Service:** Platform\n\n"
        "- storage_percent (Maximum) \\> 80 · value `72`",
    ]


def test_log_search_alert_shows_the_query_and_links_the_results():
    assert render_fixture("azure-monitor", "log_alert__fired.json") == [
        f"🟠 **[api-5xx-errors fired]({PORTAL}{ALERTS}c2d3e4f5-a6b7-4c8d-9e0f-1a2b3c4d5e6f)**\n\n"
        "**Severity:** Sev2\n"
        "**Resource:** `acme-logs` (resource group `acme-shop-prod`)\n"
        "**Window:** PT10M\n"
        "**Since:** 2026-11-28T21:20:33.0071120Z\n"
        "**Service:** Log Alerts V2\n\n"
        "More than 50 server errors in 10 minutes\n\n"
        "- log search (Count) \\> 50 · value `128` · [results](https://portal.azure.com#@acme.example.test/blade/"
        "Microsoft_Azure_Monitoring_Logs/LogsBlade/source/Alerts.EmailLinks/scope/acme-logs/q/H4sIAAAAAAAAA1)\n\n"
        "```kusto\n"
        "AppRequests\n"
        '| where ResultCode startswith "5"\n'
        "| summarize count() by bin(TimeGenerated, 10m)\n"
        "```",
    ]


def test_log_search_alert_of_the_older_api_reads_its_flat_context():
    assert render_fixture("azure-monitor", "log_alert__log_analytics_v1.json") == [
        f"🚨 **[failed-logins fired]({PORTAL}{ALERTS}4e5f6a7b-8c9d-4e0f-a1b2-c3d4e5f6a7b8)**\n\n"
        "**Severity:** Sev0\n"
        "**Resource:** `acme-sec-logs` (resource group `acme-security`)\n"
        "**Window:** 5 min\n"
        "**Since:** 2026-11-28T20:45:10.6630000Z\n"
        "**Service:** Log Analytics\n\n"
        "- log search \\> 20 · value `37` · [results](https://portal.azure.com#@acme.example.test/blade/"
        "Microsoft_OperationsManagementSuite_Workspace/AnalyticsBlade/initiator/AnalyticsShareLinkToQuery/"
        "isQueryEditorVisible/true/scope/acme-sec-logs/q/H4sIAAAAAAAAA2)\n\n"
        "```kusto\nSigninLogs | where ResultType != 0 | summarize count()\n```",
    ]


def test_activity_log_alert_names_the_operation_and_caller():
    assert render_fixture("azure-monitor", "activity_log_alert__fired.json") == [
        f"🔵 **[vm-deleted-in-prod fired]({PORTAL}{ALERTS}9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d)**\n\n"
        "**Severity:** Sev4\n"
        "**Resource:** `batch-vm-07` (resource group `acme-shop-prod`)\n"
        "**Operation:** `Microsoft.Compute/virtualMachines/delete`\n"
        "**Status:** Succeeded\n"
        "**Caller:** dana@acme.example.test\n"
        "**Since:** 2026-11-28T18:02:44.9120000Z\n"
        "**Service:** Activity Log - Administrative\n\n"
        "A virtual machine was deleted in the production resource group",
    ]


@pytest.mark.parametrize("sev, expected", [("Sev0", "critical"), ("Sev1", "error"), ("Sev2", "warning"),
                                           ("Sev3", "info"), ("Sev4", "info")])
def test_severity_maps_onto_the_relay_scheme_and_custom_properties_are_labels(sev, expected):
    payload = json.loads(fixture_bytes("azure-monitor", "metric_alert__fired.json"))
    payload["data"]["essentials"]["severity"] = sev
    incoming = AZURE.receive(json.dumps(payload).encode(), "application/json", {})
    [message] = AZURE.format(incoming.event, incoming.payload)
    assert message.routing_facts() == {
        "severity": expected, "status": "firing", "branch": None, "repo": None,
        "labels": {"team": "payments", "env": "prod"},
    }


def test_fired_and_resolved_of_one_alert_are_different_deliveries():
    fired = json.loads(fixture_bytes("azure-monitor", "metric_alert__fired.json"))
    resolved = json.loads(json.dumps(fired))
    resolved["data"]["essentials"]["monitorCondition"] = "Resolved"
    keys = {AZURE.delivery_key("metric_alert", p, {}, json.dumps(p).encode())[0] for p in (fired, resolved)}
    assert len(keys) == 2 and all(k.startswith("id:") for k in keys)


def test_unknown_signal_type_is_not_supported():
    payload = json.loads(fixture_bytes("azure-monitor", "metric_alert__fired.json"))
    payload["data"]["essentials"]["signalType"] = "Smart Detector"
    with pytest.raises(Ignored, match="smart_detector is not supported"):
        AZURE.receive(json.dumps(payload).encode(), "application/json", {})


def test_payload_in_another_schema_is_rejected():
    # The legacy (non-common) metric alert schema, sent when the action group leaves the common schema off.
    legacy = {"schemaId": "AzureMonitorMetricAlert", "data": {"status": "Activated", "context": {"name": "cpu"}}}
    with pytest.raises(PayloadError) as err:
        AZURE.receive(json.dumps(legacy).encode(), "application/json", {})
    assert "schemaId" in err.value.details


def test_payload_from_another_sender_is_rejected():
    with pytest.raises(PayloadError):
        AZURE.receive(b'{"alerts": [], "status": "firing"}', "application/json", {})


def test_fixture_is_recognised_by_its_signal_type():
    assert receive_fixture("azure-monitor", "activity_log_alert__fired.json").event == "activity_log_alert"


def test_alert_without_a_condition_is_rejected():
    payload = json.loads(fixture_bytes("azure-monitor", "metric_alert__fired.json"))
    del payload["data"]["essentials"]["monitorCondition"]
    with pytest.raises(PayloadError):
        AZURE.receive(json.dumps(payload).encode(), "application/json", {})
