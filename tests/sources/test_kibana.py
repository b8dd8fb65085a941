import json
from pathlib import Path

import pytest

from bot.sources import SOURCES, kibana
from bot.sources.base import Ignored, PayloadError
from tests.formatting import fixture_bytes, render_fixture

KIBANA = SOURCES["kibana"]
RULES = "https://kibana.acme.example.test/app/management/insightsAndAlerting/triggersActions/rule/"


def test_query_rule_active_with_reason_and_rule_link():
    assert render_fixture("kibana", "active__es_query.json") == [
        f"🚨 **[Checkout errors in logs is active]({RULES}3b6c1e20-8f4a-11ee-9b1d-2f7c9e0a4d51)**\n\n"
        "**Group:** Query matched\n"
        "**Rule type:** `.es-query`\n"
        "**Tags:** `shop` `checkout`\n"
        "**At:** 2026-11-28T21:25:07.412Z\n\n"
        "Document count is 184 in the last 5m in logs-shop-\\*. Alert when greater than 100.",
    ]


def test_warning_action_group_lowers_severity_and_rule_page_is_built_without_public_url():
    assert render_fixture("kibana", "active__metric_threshold_warning.json") == [
        f"🟠 **[Host memory is active]({RULES}5d7e8f90-8f4a-11ee-9b1d-2f7c9e0a4d51)**\n\n"
        "**Alert:** `db-2.acme.example.test`\n"
        "**Group:** Warning\n"
        "**Rule type:** `metrics.alert.threshold`\n"
        "**Tags:** `infra`\n"
        "**Flapping:** yes\n"
        "**At:** 2026-11-28T21:27:00.018Z\n\n"
        "system.memory.actual.used.pct is 87.2% in the last 1 min for db-2.acme.example.test. Alert when \\> 85%.",
    ]


def test_recovered_is_resolved():
    assert render_fixture("kibana", "recovered__metric_threshold.json") == [
        f"✅ **[Host memory recovered]({RULES}5d7e8f90-8f4a-11ee-9b1d-2f7c9e0a4d51)**\n\n"
        "**Alert:** `db-2.acme.example.test`\n"
        "**Rule type:** `metrics.alert.threshold`\n"
        "**Tags:** `infra`\n"
        "**At:** 2026-11-28T21:41:00.022Z\n\n"
        "system.memory.actual.used.pct is 61.0% in the last 1 min for db-2.acme.example.test.",
    ]


@pytest.mark.parametrize("severity, expected", [("critical", "critical"), ("warning", "warning"),
                                                ("info", "info"), (None, "error"), ("{{context.severity}}", "error")])
def test_severity_from_the_template_feeds_routing(severity, expected):
    payload = json.loads(fixture_bytes("kibana", "active__es_query.json"))
    payload["severity"] = severity
    incoming = KIBANA.receive(json.dumps(payload).encode(), "application/json", {})
    [message] = KIBANA.format(incoming.event, incoming.payload)
    assert (message.severity, message.status) == (expected, "firing")


def test_empty_action_group_cannot_be_told_apart():
    payload = json.loads(fixture_bytes("kibana", "active__es_query.json"))
    payload["alert"]["actionGroup"] = " "
    with pytest.raises(PayloadError, match="cannot tell the event"):
        KIBANA.receive(json.dumps(payload).encode(), "application/json", {})


def test_filtered_event_is_ignored():
    with pytest.raises(Ignored):
        KIBANA.receive(fixture_bytes("kibana", "recovered__metric_threshold.json"), "application/json", {},
                       screen=lambda event: "only active" if event == "recovered" else None)


def test_payload_from_another_sender_is_rejected():
    with pytest.raises(PayloadError):
        KIBANA.receive(b'{"ruleName": "CPU", "state": "alerting"}', "application/json", {})


def _body_lines(text: str) -> list[str]:
    start = text.index('"rule": {"id": "{{rule.id}}"')
    return [line.strip() for line in text[start:text.index('"severity": "error"', start)].splitlines()]


def test_readme_recommends_the_body_the_module_documents():
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    assert len(_body_lines(kibana.__doc__)) == 9
    assert _body_lines(readme) == _body_lines(kibana.__doc__)
