"""`statuspage`: Atlassian Statuspage webhook subscriptions.

A status page with webhook subscribers posts when a component changes status and when an incident
(or scheduled maintenance) is created or updated. Component outages and open incidents are firing
alerts, a component back to operational and a resolved incident resolve them; maintenance is info.

The alert is the incident (its id, from its creation to its resolution) or the component (its id,
from the update that took it out of operational to the one that brought it back). Each update of an
open incident is news, posted in full: a new status (investigating → identified → monitoring) or a
new update text. A component moving from one outage level to another is a change too. A postmortem
published after the resolution is posted as it comes, outside the incident's alert.
"""

from typing import ClassVar
from urllib.parse import urlsplit

from marshmallow import fields

from bot import markdown as md
from bot.message import Message
from bot.sources._monitoring import alert, joined
from bot.sources.base import Event, Lenient, Source

COMPONENT_SEVERITY = {"degraded_performance": "warning", "partial_outage": "error", "major_outage": "critical"}
IMPACT_SEVERITY = {"minor": "warning", "major": "error", "critical": "critical"}
INCIDENT_RESOLVED = {"resolved", "postmortem", "completed"}
# Statuses after an incident's end that are not the end again (`completed` ends a maintenance).
AFTER_THE_END = {"postmortem", "completed"}
MAINTENANCE = {"scheduled", "in_progress", "verifying"}


class MetaSchema(Lenient):
    unsubscribe = fields.Str(allow_none=True)


class PageSchema(Lenient):
    id = fields.Str(required=True)
    status_description = fields.Str(allow_none=True)


class ComponentSchema(Lenient):
    id = fields.Str(allow_none=True)
    name = fields.Str(required=True)
    status = fields.Str(allow_none=True)


class ComponentUpdateSchema(Lenient):
    component_id = fields.Str(allow_none=True)
    created_at = fields.Str(allow_none=True)
    old_status = fields.Str(allow_none=True)
    new_status = fields.Str(required=True)


class AffectedComponentSchema(Lenient):
    name = fields.Str(allow_none=True)
    new_status = fields.Str(allow_none=True)


class IncidentUpdateSchema(Lenient):
    id = fields.Str(allow_none=True)
    status = fields.Str(allow_none=True)
    body = fields.Str(allow_none=True)
    affected_components = fields.List(fields.Nested(AffectedComponentSchema), allow_none=True)


class IncidentSchema(Lenient):
    id = fields.Str(allow_none=True)
    created_at = fields.Str(allow_none=True)
    resolved_at = fields.Str(allow_none=True)
    name = fields.Str(required=True)
    status = fields.Str(required=True)
    impact = fields.Str(allow_none=True)
    shortlink = fields.Str(allow_none=True)
    incident_updates = fields.List(fields.Nested(IncidentUpdateSchema), allow_none=True)


class NotificationSchema(Lenient):
    meta = fields.Nested(MetaSchema, allow_none=True)
    page = fields.Nested(PageSchema, required=True)


class ComponentEventSchema(NotificationSchema):
    component = fields.Nested(ComponentSchema, required=True)
    component_update = fields.Nested(ComponentUpdateSchema, required=True)


class IncidentEventSchema(NotificationSchema):
    incident = fields.Nested(IncidentSchema, required=True)


def _page_url(p: dict) -> str | None:
    """The status page itself: the unsubscribe link points at it (https://status.example.com/?unsubscribe=…)."""
    parts = urlsplit((p.get("meta") or {}).get("unsubscribe") or "")
    return f"{parts.scheme}://{parts.netloc}/" if parts.scheme in ("http", "https") and parts.netloc else None


def _status(word) -> str:
    return md.code(word or "unknown")


def format_component(p: dict) -> Message:
    update = p["component_update"]
    new = update["new_status"]
    name = p["component"]["name"]
    title = f"{name}: {new.replace('_', ' ')}"
    change = [("Status", f"{_status(update.get('old_status'))} → {_status(new)}")]
    if new in COMPONENT_SEVERITY or new == "operational":
        up = new == "operational"
        return alert(
            title,
            up=up,
            url=_page_url(p),
            severity=COMPONENT_SEVERITY.get(new, "error"),
            fields=change,
            key=p["component"].get("id") or update.get("component_id"),
            started_at=None if up else update.get("created_at"),
            ended_at=update.get("created_at"),
            revision="" if up else new,
        )
    # Maintenance (and any status Statuspage adds later) is news, not an alert.
    return Message(title=title, url=_page_url(p), body=[md.fields(change)])


def _affected(update: dict) -> str:
    return joined([md.inline(c.get("name")) for c in update.get("affected_components") or [] if c.get("name")])


def format_incident(p: dict) -> Message:
    incident = p["incident"]
    status = incident["status"]
    # Statuspage lists the updates newest first.
    latest = (incident.get("incident_updates") or [{}])[0]
    impact = incident.get("impact")
    fields_ = [
        ("Status", _status(status)),
        ("Impact", md.inline(impact) if impact in IMPACT_SEVERITY else ""),
        ("Affected", _affected(latest)),
    ]
    details = [md.quote(latest["body"], 800)] if latest.get("body") else []
    if status in MAINTENANCE:
        return Message(title=incident["name"], url=incident.get("shortlink"), body=[md.fields(fields_), *details])
    up = status in INCIDENT_RESOLVED
    return alert(
        incident["name"],
        up=up,
        url=incident.get("shortlink"),
        severity=IMPACT_SEVERITY.get(impact, "warning"),
        fields=fields_,
        details=details,
        key=None if status in AFTER_THE_END else incident.get("id"),
        started_at=incident.get("created_at"),
        ended_at=incident.get("resolved_at"),
        revision="" if up else ":".join(filter(None, [status, latest.get("id")])),
    )


class Statuspage(Source):
    name = "statuspage"
    title = "Statuspage"
    setup = (
        "Subscribe to the status page with a webhook (Subscribers → Webhook, or the page's Subscribe → Webhook): "
        "URL https://<relay>/hooks/<route>?token=<secret>"
    )
    schema = NotificationSchema
    events: ClassVar[dict[str, Event]] = {
        "component_update": Event(format_component, ComponentEventSchema),
        "incident_update": Event(format_incident, IncidentEventSchema),
    }

    def detect_event(self, payload, headers):
        if "component_update" in payload:
            return "component_update"
        return "incident_update" if "incident" in payload else None


SOURCE = Statuspage()
