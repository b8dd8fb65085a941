"""`google-cloud-monitoring`: incidents from a Google Cloud Monitoring webhook notification channel.

Docs: https://cloud.google.com/monitoring/support/notification-options#webhooks (schema 1.2).

Each delivery is `{"version": "1.2", "incident": {...}}` about one incident of an alerting policy:
its `state` (`open` when the condition is met, `closed` once it is not), the policy and condition,
the monitored resource and metric, the observed value against the threshold, the policy's
`severity` (`Critical`, `Error`, `Warning`, `No severity`), its documentation and a console link.
The event is `incident.<state>`. Severity maps onto critical/error/warning; a policy without one is
error while open; a closed incident is success, and open and closed always arrive apart.

Google does not sign webhooks. Use the channel type "Webhook with basic auth" (password = the
route's secret) or "Webhook with token auth" with the secret in the URL (`?token=<secret>`).
Redeliveries are recognised by the incident id and its state.
"""

from __future__ import annotations

from typing import ClassVar

from marshmallow import fields

from bot import markdown as md
from bot.message import Message, severity_of
from bot.sources._monitoring import alert, utc_time
from bot.sources.base import Event, Lenient, Source, StrMap

OPEN, CLOSED = "incident.open", "incident.closed"


class DocumentationSchema(Lenient):
    content = fields.Str(allow_none=True)
    subject = fields.Str(allow_none=True)


class NamedSchema(Lenient):
    type = fields.Str(allow_none=True)
    displayName = fields.Str(allow_none=True)


class IncidentSchema(Lenient):
    incident_id = fields.Str(required=True)
    state = fields.Str(required=True)
    url = fields.Str(allow_none=True)
    started_at = fields.Raw(allow_none=True)
    ended_at = fields.Raw(allow_none=True)
    summary = fields.Str(allow_none=True)
    policy_name = fields.Str(allow_none=True)
    condition_name = fields.Str(allow_none=True)
    severity = fields.Str(allow_none=True)
    scoping_project_id = fields.Str(allow_none=True)
    resource_name = fields.Str(allow_none=True)
    resource_display_name = fields.Str(allow_none=True)
    resource_type_display_name = fields.Str(allow_none=True)
    metric = fields.Nested(NamedSchema, allow_none=True)
    observed_value = fields.Raw(allow_none=True)
    threshold_value = fields.Raw(allow_none=True)
    documentation = fields.Nested(DocumentationSchema, allow_none=True)
    policy_user_labels = StrMap(allow_none=True)


class NotificationSchema(Lenient):
    version = fields.Str(allow_none=True)
    incident = fields.Nested(IncidentSchema, required=True)


def _scalar(value) -> str:
    return "" if value is None or isinstance(value, (dict, list)) else str(value)


def format_incident(p: dict) -> Message:
    i = p["incident"]
    closed = i["state"].strip().lower() == "closed"
    policy = i.get("policy_name") or "Alerting policy"
    resource = i.get("resource_display_name") or i.get("resource_name")
    kind = i.get("resource_type_display_name")
    metric = (i.get("metric") or {}).get("displayName") or (i.get("metric") or {}).get("type")
    observed, threshold = _scalar(i.get("observed_value")), _scalar(i.get("threshold_value"))
    value = md.code(observed, 60) + (f" (threshold {md.code(threshold, 60)})" if observed and threshold else "")
    doc = i.get("documentation") or {}
    return alert(
        f"{policy} incident {'closed' if closed else 'opened'}",
        up=closed,
        url=i.get("url"),
        severity=severity_of(i.get("severity"), "error"),
        fields=[
            ("Condition", md.inline(i.get("condition_name"), 200)),
            ("Resource", md.inline(f"{resource} ({kind})" if resource and kind else resource or kind, 200)),
            ("Metric", md.inline(metric, 150)),
            ("Value", value if observed else ""),
            ("Severity", md.inline(i.get("severity"), 30)),
            ("Project", md.code(i.get("scoping_project_id"), 100)),
            ("Since", utc_time(i.get("started_at"))),
            ("Ended", utc_time(i.get("ended_at")) if closed else ""),
        ],
        details=[
            md.text(i.get("summary"), 600) if i.get("summary") else "",
            md.quote(doc["content"], 1000) if doc.get("content") else "",
        ],
        labels=i.get("policy_user_labels") or {},
        key=i.get("incident_id"),
        started_at=i.get("started_at"),
        ended_at=i.get("ended_at"),
    )


class GoogleCloudMonitoring(Source):
    name = "google-cloud-monitoring"
    title = "Google Cloud Monitoring"
    setup = (
        "Google Cloud console → Monitoring → Alerting → Edit notification channels → Webhooks → Add new: "
        "Endpoint URL https://<relay>/hooks/<route>?token=<secret> (or basic auth with password <secret>)"
    )
    schema = NotificationSchema
    events: ClassVar[dict[str, Event]] = {OPEN: Event(format_incident), CLOSED: Event(format_incident)}

    def detect_event(self, payload, headers):
        state = payload["incident"]["state"].strip().lower()
        return f"incident.{state}" if state else None

    def payload_delivery_id(self, event, payload):
        return f"{payload['incident']['incident_id'][:150]}:{event}"


SOURCE = GoogleCloudMonitoring()
