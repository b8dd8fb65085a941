"""`pagerduty`: PagerDuty incident webhooks, V3 and the older V2 and V1 formats.

A V3 delivery carries one event (`event.event_type`, e.g. `incident.triggered`) about one incident.
V2 and V1 deliveries carry a list of `messages` (`incident.trigger`, `incident.resolve`…), each
posted as its own message. Every message names the incident, its service, who it is assigned to
and who acted; triggered incidents fire, acknowledged ones are a warning, resolved ones resolve.
"""

from __future__ import annotations

import re
from typing import ClassVar

from marshmallow import fields

from bot import markdown as md
from bot.auth import HmacSignature
from bot.message import Message
from bot.sources._monitoring import alert_ref
from bot.sources.base import Event, Lenient, Source

MAX_ASSIGNEES = 5
NUMBERED_SUMMARY = re.compile(r"\[#(\d+)\]\s*(.+)", re.DOTALL)
# PagerDuty's event name -> the verb shown. V3 names events in the past tense, V2/V1 in the present.
V3_VERBS = {
    "incident.triggered": "triggered",
    "incident.acknowledged": "acknowledged",
    "incident.unacknowledged": "unacknowledged",
    "incident.resolved": "resolved",
    "incident.reopened": "reopened",
    "incident.reassigned": "reassigned",
    "incident.escalated": "escalated",
    "incident.delegated": "delegated",
    "incident.priority_updated": "priority changed",
}
V2_VERBS = {
    "incident.trigger": "triggered",
    "incident.acknowledge": "acknowledged",
    "incident.unacknowledge": "unacknowledged",
    "incident.resolve": "resolved",
    "incident.assign": "reassigned",
    "incident.escalate": "escalated",
    "incident.delegate": "delegated",
}
# Verbs after which the incident needs someone; their severity follows the incident's urgency.
PAGING = {"triggered", "unacknowledged", "reopened"}
LIFECYCLE = {"triggered", "reopened", "resolved"}
OTHER_STATES = {"acknowledged": ("warning", "firing"), "resolved": ("success", "resolved")}


class RefSchema(Lenient):
    """A user, service or incident reference: V2/V3 name it `summary`, V1 `name`."""

    summary = fields.Str(allow_none=True)
    name = fields.Str(allow_none=True)
    html_url = fields.Str(allow_none=True)


def _ref(**kwargs):
    return fields.Nested(RefSchema, allow_none=True, **kwargs)


class V3IncidentSchema(Lenient):
    number = fields.Int(allow_none=True)
    title = fields.Str(allow_none=True)
    html_url = fields.Str(allow_none=True)
    urgency = fields.Str(allow_none=True)
    service = _ref()
    assignees = fields.List(_ref(), allow_none=True)
    escalation_policy = _ref()
    priority = _ref()


class V3EventSchema(Lenient):
    id = fields.Str(allow_none=True)
    event_type = fields.Str(required=True)
    agent = _ref()
    data = fields.Nested(V3IncidentSchema, required=True)


class V3Schema(Lenient):
    event = fields.Nested(V3EventSchema, required=True)


class V3NoteSchema(Lenient):
    incident = _ref(required=True)
    content = fields.Str(allow_none=True)


class V3NoteEventSchema(V3EventSchema):
    data = fields.Nested(V3NoteSchema, required=True)


class V3AnnotatedSchema(Lenient):
    event = fields.Nested(V3NoteEventSchema, required=True)


class AssignmentSchema(Lenient):
    assignee = _ref()


class V1AssignmentSchema(Lenient):
    object = _ref()


class TriggerSummarySchema(Lenient):
    subject = fields.Str(allow_none=True)
    description = fields.Str(allow_none=True)


class IncidentSchema(Lenient):
    """A V2 incident, or a V1 one (`assigned_to_user`, `trigger_summary_data`…)."""

    incident_number = fields.Int(allow_none=True)
    title = fields.Str(allow_none=True)
    html_url = fields.Str(allow_none=True)
    urgency = fields.Str(allow_none=True)
    service = _ref()
    assignments = fields.List(fields.Nested(AssignmentSchema), allow_none=True)
    escalation_policy = _ref()
    last_status_change_by = _ref()
    assigned_to = fields.List(fields.Nested(V1AssignmentSchema), allow_none=True)
    assigned_to_user = _ref()
    resolved_by_user = _ref()
    trigger_summary_data = fields.Nested(TriggerSummarySchema, allow_none=True)


class V1DataSchema(Lenient):
    incident = fields.Nested(IncidentSchema, allow_none=True)


class LogEntrySchema(Lenient):
    agent = _ref()


class MessageSchema(Lenient):
    id = fields.Str(allow_none=True)
    event = fields.Str(allow_none=True)
    type = fields.Str(allow_none=True)
    incident = fields.Nested(IncidentSchema, allow_none=True)
    data = fields.Nested(V1DataSchema, allow_none=True)
    log_entries = fields.List(fields.Nested(LogEntrySchema), allow_none=True)


class MessagesSchema(Lenient):
    messages = fields.List(fields.Nested(MessageSchema), required=True)


def _link(ref: dict | None) -> str:
    ref = ref or {}
    name = ref.get("summary") or ref.get("name")
    return md.link(name, ref.get("html_url"), 120) if name else ""


def _incident_message(verb: str, incident: dict, by: dict | None, priority: dict | None = None) -> Message:
    """One incident event; `incident` holds number, title, url, urgency, service, assignees and
    escalation policy."""
    urgency = incident.get("urgency")
    if verb in PAGING:
        severity, status = ("error" if urgency == "low" else "critical"), "firing"
    else:
        severity, status = OTHER_STATES.get(verb, ("info", None))
    assignees = [link for a in incident["assignees"] if (link := _link(a))]
    shown = ", ".join(assignees[:MAX_ASSIGNEES]) + (" …" if len(assignees) > MAX_ASSIGNEES else "")
    number = f" #{incident['number']}" if incident.get("number") is not None else ""
    title = f": {incident['title']}" if incident.get("title") else ""
    # A service "acting" (an integration triggering) is already named as the service.
    by_url = (by or {}).get("html_url")
    by_service = by_url is not None and by_url == (incident.get("service") or {}).get("html_url")
    body = md.fields(
        [
            ("Service", _link(incident.get("service"))),
            ("Assigned to", shown if verb != "resolved" else ""),
            # Delegating hands the incident to another escalation policy: that is the news.
            ("Escalation policy", _link(incident.get("escalation_policy")) if verb == "delegated" else ""),
            ("By", "" if by_service else _link(by)),
            ("Urgency", md.inline(urgency, 20) if verb in PAGING else ""),
            ("Priority", md.inline((priority or {}).get("summary"), 20)),
        ]
    )
    return Message(
        title=f"Incident{number} {verb}{title}",
        url=incident.get("html_url"),
        severity=severity,
        body=[body] if body else [],
        status=status,
        # Only what starts or ends the incident moves its state; an acknowledgement or a reassignment
        # is news of its own, never a "repeat" to compress.
        alert=alert_ref(incident.get("id"), up=verb == "resolved", started_at=incident.get("created_at"))
        if verb in LIFECYCLE else None,
    )


def format_v3(p: dict) -> Message:
    event = p["event"]
    data = event["data"]
    incident = {**data, "assignees": data.get("assignees") or []}
    return _incident_message(V3_VERBS[event["event_type"]], incident, event.get("agent"), data.get("priority"))


def format_v3_note(p: dict) -> Message:
    event = p["event"]
    incident = event["data"]["incident"] or {}
    # An incident reference's summary reads "[#2117] Title".
    summary = incident.get("summary") or ""
    numbered = NUMBERED_SUMMARY.match(summary)
    number, title = (f" #{numbered[1]}", numbered[2]) if numbered else ("", summary)
    name = f"Incident{number} note added" + (f": {title}" if title else "")
    body = [md.quote(event["data"].get("content") or ""), md.fields([("By", _link(event.get("agent")))])]
    return Message(title=name, url=incident.get("html_url"), body=[block for block in body if block])


def _v2_incident(message: dict) -> tuple[dict, dict | None] | None:
    """The incident of a V2 or V1 message in one shape, and who acted; None if it has none."""
    if message.get("incident"):
        i = message["incident"]
        entries = message.get("log_entries") or []
        by = (entries[0].get("agent") if entries else None) or i.get("last_status_change_by")
        assignees = [a.get("assignee") for a in i.get("assignments") or []]
        title = i.get("title")
    elif (message.get("data") or {}).get("incident"):
        i = message["data"]["incident"]
        by = i.get("resolved_by_user") or i.get("last_status_change_by")
        assignees = [i["assigned_to_user"]] if i.get("assigned_to_user") else []
        assignees = assignees or [a.get("object") for a in i.get("assigned_to") or []]
        summary = i.get("trigger_summary_data") or {}
        title = summary.get("subject") or summary.get("description")
    else:
        return None
    incident = {
        "id": i.get("id"),
        "created_at": i.get("created_at"),
        "number": i.get("incident_number"),
        "title": title,
        "html_url": i.get("html_url"),
        "urgency": i.get("urgency"),
        "service": i.get("service"),
        "assignees": assignees,
        "escalation_policy": i.get("escalation_policy"),
    }
    return incident, by


def _message_event(message: dict) -> str | None:
    return message.get("event") or message.get("type")


def format_messages(p: dict) -> list[Message]:
    out = []
    for message in p["messages"]:
        verb = V2_VERBS.get(_message_event(message) or "")
        found = _v2_incident(message) if verb else None
        if found:
            out.append(_incident_message(verb, *found))
    return out


class PagerDuty(Source):
    name = "pagerduty"
    title = "PagerDuty"
    setup = (
        "PagerDuty → Integrations → Generic Webhooks (v3) → New Webhook: URL https://<relay>/hooks/<route>; "
        "use the signing secret PagerDuty shows as the route secret"
    )
    auth = HmacSignature("X-PagerDuty-Signature", prefix="v1=", separator=",")
    events: ClassVar[dict[str, Event]] = {
        **{name: Event(format_v3, V3Schema) for name in V3_VERBS},
        "incident.annotated": Event(format_v3_note, V3AnnotatedSchema),
        **{name: Event(format_messages, MessagesSchema) for name in V2_VERBS},
    }
    ignored: ClassVar[dict[str, str]] = {"pagey.ping": "PagerDuty's test ping produces no message"}

    def detect_event(self, payload, headers):
        """V3: the event's type. V2/V1: the first message PagerDuty sent that is supported here."""
        if not isinstance(payload, dict):
            return None
        event = payload.get("event")
        if isinstance(event, dict):
            kind = event.get("event_type")
            return kind if isinstance(kind, str) else None
        messages = payload.get("messages")
        if not isinstance(messages, list):
            return None
        kinds = [_message_event(m) for m in messages if isinstance(m, dict)]
        kinds = [k for k in kinds if isinstance(k, str)]
        return next((k for k in kinds if k in V2_VERBS), kinds[0] if kinds else None)

    def payload_delivery_id(self, event, payload):
        if event in V2_VERBS:
            ids = [m.get("id") for m in payload["messages"]]
            return ",".join(ids) if ids and all(ids) else None
        return payload["event"].get("id")


SOURCE = PagerDuty()
