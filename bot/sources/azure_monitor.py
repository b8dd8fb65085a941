"""`azure-monitor`: Azure Monitor alerts from an action group's webhook, in the common alert schema.

Docs: https://learn.microsoft.com/azure/azure-monitor/alerts/alerts-common-schema and
https://learn.microsoft.com/azure/azure-monitor/alerts/alerts-payload-samples

Every payload is `{"schemaId": "azureMonitorCommonAlertSchema", "data": {...}}`: `data.essentials`
names the rule, its severity `Sev0`–`Sev4`, the signal (`Metric`, `Log`, `Activity Log`), the
`monitorCondition` (`Fired`, or `Resolved` for stateful rules) and the resources it is about;
`data.alertContext` says why, and its shape depends on the signal: metric criteria with the value
seen, a log search with its result count and a link to the results, or the activity-log operation
and who called it. The event is the signal type. `data.customProperties`, set on the action group
or the rule, become the message's labels for routing rules.

Severity: Sev0 → critical, Sev1 → error, Sev2 → warning, Sev3 and Sev4 → info; a resolved alert is
success. A fired and a resolved notification are separate deliveries, so never one message.

Azure does not sign webhooks: the action group's webhook URL carries the secret
(`?token=<secret>`). Redeliveries are recognised by the alert id and its condition.
"""

from __future__ import annotations

from typing import ClassVar
from urllib.parse import quote

from marshmallow import fields, validate

from bot import markdown as md
from bot.message import Message
from bot.sources._monitoring import alert, joined
from bot.sources.base import Event, Lenient, Source, StrMap

SCHEMA_ID = "azureMonitorCommonAlertSchema"
SEVERITIES = {"sev0": "critical", "sev1": "error", "sev2": "warning", "sev3": "info", "sev4": "info"}
# essentials.signalType -> event.
SIGNALS = {"metric": "metric_alert", "log": "log_alert", "activity log": "activity_log_alert"}
PORTAL_ALERT = "https://portal.azure.com/#blade/Microsoft_Azure_Monitoring_Alerts/AlertDetailsTemplateBlade/alertId/{}"
MAX_CRITERIA = 5
MAX_RESOURCES = 5
OPERATORS = {
    "GreaterThan": ">",
    "GreaterThanOrEqual": "≥",
    "LessThan": "<",
    "LessThanOrEqual": "≤",
    "Equal": "=",
    "GreaterOrLessThan": "outside",
    "Greater Than": ">",
    "Less Than": "<",
}


class EssentialsSchema(Lenient):
    alertId = fields.Str(required=True)
    alertRule = fields.Str(required=True)
    severity = fields.Str(allow_none=True)
    signalType = fields.Str(required=True)
    monitorCondition = fields.Str(required=True)
    monitoringService = fields.Str(allow_none=True)
    alertTargetIDs = fields.List(fields.Str(), allow_none=True)
    configurationItems = fields.List(fields.Str(), allow_none=True)
    firedDateTime = fields.Str(allow_none=True)
    resolvedDateTime = fields.Str(allow_none=True)
    description = fields.Str(allow_none=True)
    investigationLink = fields.Str(allow_none=True)


class DataSchema(Lenient):
    essentials = fields.Nested(EssentialsSchema, required=True)
    alertContext = fields.Dict(allow_none=True)
    customProperties = StrMap(allow_none=True)


class CommonAlertSchema(Lenient):
    schemaId = fields.Str(required=True, validate=validate.Equal(SCHEMA_ID))
    data = fields.Nested(DataSchema, required=True)


class DimensionSchema(Lenient):
    name = fields.Str(allow_none=True)
    value = fields.Str(allow_none=True)


class CriterionSchema(Lenient):
    metricName = fields.Str(allow_none=True)
    searchQuery = fields.Str(allow_none=True)
    operator = fields.Str(allow_none=True)
    threshold = fields.Raw(allow_none=True)
    timeAggregation = fields.Str(allow_none=True)
    metricValue = fields.Raw(allow_none=True)
    dimensions = fields.List(fields.Nested(DimensionSchema), allow_none=True)
    linkToFilteredSearchResultsUI = fields.Str(allow_none=True)
    linkToSearchResultsUI = fields.Str(allow_none=True)


class ConditionSchema(Lenient):
    windowSize = fields.Str(allow_none=True)
    allOf = fields.List(fields.Nested(CriterionSchema), allow_none=True)


class CriteriaContextSchema(Lenient):
    condition = fields.Nested(ConditionSchema, allow_none=True)
    # Log search alerts of the older API (monitoringService "Log Analytics", "Application Insights").
    SearchQuery = fields.Str(allow_none=True)
    Operator = fields.Str(allow_none=True)
    Threshold = fields.Raw(allow_none=True)
    ResultCount = fields.Raw(allow_none=True)
    LinkToFilteredSearchResultsUI = fields.Str(allow_none=True)
    LinkToSearchResults = fields.Str(allow_none=True)
    SearchIntervalDurationMin = fields.Raw(allow_none=True)


class CriteriaDataSchema(DataSchema):
    alertContext = fields.Nested(CriteriaContextSchema, allow_none=True)


class CriteriaAlertSchema(CommonAlertSchema):
    data = fields.Nested(CriteriaDataSchema, required=True)


class ActivityContextSchema(Lenient):
    operationName = fields.Str(allow_none=True)
    caller = fields.Str(allow_none=True)
    status = fields.Str(allow_none=True)
    level = fields.Str(allow_none=True)
    eventTimestamp = fields.Str(allow_none=True)
    properties = fields.Dict(allow_none=True)


class ActivityDataSchema(DataSchema):
    alertContext = fields.Nested(ActivityContextSchema, allow_none=True)


class ActivityAlertSchema(CommonAlertSchema):
    data = fields.Nested(ActivityDataSchema, required=True)


def _resources(essentials: dict) -> str:
    """The affected resources by name, with the resource group read from the first resource id."""
    names = [md.code(n, 120) for n in (essentials.get("configurationItems") or []) if n]
    shown = joined(names, MAX_RESOURCES)
    ids = essentials.get("alertTargetIDs") or []
    parts = ids[0].lower().split("/") if ids else []
    group = parts[parts.index("resourcegroups") + 1] if "resourcegroups" in parts[:-1] else ""
    return f"{shown} (resource group {md.code(group, 90)})" if shown and group else shown


def _value(value) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return "" if value is None or isinstance(value, (dict, list)) else str(value)


def _criterion(c: dict) -> str:
    """One condition of the rule: what was measured, against which threshold, and the value seen."""
    what = c.get("metricName") or ("log search" if c.get("searchQuery") else "condition")
    aggregation = f" ({c['timeAggregation']})" if c.get("timeAggregation") else ""
    operator = OPERATORS.get(c.get("operator") or "", c.get("operator") or "")
    threshold = f" {operator} {_value(c.get('threshold'))}" if operator and _value(c.get("threshold")) else ""
    seen = _value(c.get("metricValue"))
    dims = " ".join(md.code(f"{d.get('name')}={d.get('value')}", 80) for d in (c.get("dimensions") or [])[:6])
    results = c.get("linkToFilteredSearchResultsUI") or c.get("linkToSearchResultsUI")
    parts = [
        md.inline(f"{what}{aggregation}{threshold}", 200),
        f"value {md.code(seen, 40)}" if seen else "",
        dims,
        md.link("results", results) if md.safe_url(results) else "",
    ]
    return " · ".join(p for p in parts if p)


def _alert(p: dict, fields_: list, details: list) -> Message:
    data = p["data"]
    e = data["essentials"]
    resolved = e["monitorCondition"].strip().lower() == "resolved"
    severity = SEVERITIES.get((e.get("severity") or "").strip().lower(), "info")
    url = e.get("investigationLink") if md.safe_url(e.get("investigationLink")) else PORTAL_ALERT.format(
        quote(e["alertId"], safe="")
    )
    return alert(
        f"{e['alertRule']} {'resolved' if resolved else 'fired'}",
        up=resolved,
        url=url,
        severity=severity,
        fields=[
            ("Severity", md.inline(e.get("severity"), 10)),
            ("Resource", _resources(e)),
            *fields_,
            ("Since", md.inline(e.get("firedDateTime"), 40)),
            ("Resolved", md.inline(e.get("resolvedDateTime"), 40) if resolved else ""),
            ("Service", md.inline(e.get("monitoringService"), 80)),
        ],
        details=[md.text(e.get("description"), 1000) if e.get("description") else "", *details],
        labels=data.get("customProperties") or {},
        key=e.get("alertId"),
        started_at=e.get("firedDateTime"),
        ended_at=e.get("resolvedDateTime"),
    )


def format_criteria(p: dict):
    """A metric or log search alert: its criteria with the values that crossed the threshold."""
    context = p["data"].get("alertContext") or {}
    condition = context.get("condition") or {}
    all_of = condition.get("allOf") or []
    window = condition.get("windowSize")
    if not all_of and context.get("SearchQuery"):
        all_of = [{
            "searchQuery": context["SearchQuery"],
            "operator": context.get("Operator"),
            "threshold": context.get("Threshold"),
            "metricValue": context.get("ResultCount"),
            "linkToFilteredSearchResultsUI": context.get("LinkToFilteredSearchResultsUI"),
            "linkToSearchResultsUI": context.get("LinkToSearchResults"),
        }]
        minutes = _value(context.get("SearchIntervalDurationMin"))
        window = f"{minutes} min" if minutes else None
    criteria = [_criterion(c) for c in all_of]
    queries = [c["searchQuery"] for c in all_of if c.get("searchQuery")]
    return _alert(
        p,
        [("Window", md.inline(window, 20))],
        [
            md.bullets([c for c in criteria if c][:MAX_CRITERIA], MAX_CRITERIA, len(criteria)),
            md.fenced(queries[0], "kusto", 800) if queries else "",
        ],
    )


def format_activity(p: dict):
    """An activity log alert: the operation, its status and who called it (service health alerts
    carry their communication's title instead)."""
    ctx = p["data"].get("alertContext") or {}
    props = ctx.get("properties") or {}
    title = props.get("title") if isinstance(props.get("title"), str) else ""
    return _alert(
        p,
        [
            ("Operation", md.code(ctx.get("operationName"), 150)),
            ("Status", md.inline(ctx.get("status"), 40)),
            ("Caller", md.inline(ctx.get("caller"), 120)),
        ],
        [md.bold(title, 300) if title else ""],
    )


class AzureMonitor(Source):
    name = "azure-monitor"
    title = "Azure Monitor"
    setup = (
        "Azure portal → Monitor → Alerts → Action groups → Actions → Webhook: URI "
        "https://<relay>/hooks/<route>?token=<secret>, Enable the common alert schema: Yes"
    )
    schema = CommonAlertSchema
    events: ClassVar[dict[str, Event]] = {
        "metric_alert": Event(format_criteria, CriteriaAlertSchema),
        "log_alert": Event(format_criteria, CriteriaAlertSchema),
        "activity_log_alert": Event(format_activity, ActivityAlertSchema),
    }

    def detect_event(self, payload, headers):
        signal = " ".join(payload["data"]["essentials"]["signalType"].split()).lower()
        return SIGNALS.get(signal, signal.replace(" ", "_") or None)

    def payload_delivery_id(self, event, payload):
        e = payload["data"]["essentials"]
        return f"{e['alertId'][-150:]}:{e['monitorCondition']}"


SOURCE = AzureMonitor()
