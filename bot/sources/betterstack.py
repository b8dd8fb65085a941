"""`betterstack`: Better Stack Uptime's (formerly Better Uptime) outgoing incident webhooks.

Documentation: https://betterstack.com/docs/uptime/webhooks/ (Outgoing webhooks: "Incident
webhook"; the example body is on https://docs.betteruptime.com/integrations/webhooks) and the
incident's attributes on https://betterstack.com/docs/uptime/api/incidents-api-response-params/.

Better Stack posts `{"event": "started" | "acknowledged" | "resolved", "data": {…}}` when an
incident is created, acknowledged or resolved. `data` is the incident as the Uptime API returns
it (JSON:API): `id`, `type: "incident"`, `attributes` (`name`, the monitored `url` and
`http_method`, `cause` such as "Status 500", `started_at`, `acknowledged_at`/`acknowledged_by`,
`resolved_at`/`resolved_by`, `regions`, `response_url`, `screenshot_url`) and
`relationships.monitor`. The same integration page also offers monitor and on-call webhooks
(`data.type` "monitor", …): their events are named `<type>.<event>` here and are not supported.

A started incident fires an error alert keyed by the incident id; an acknowledgement is a warning
about the still-firing incident (news of its own, not a repeat); a resolution resolves the alert.
The payload has no link to the incident's page (its address needs the team id), so the message
links the monitored URL, the saved response and the screenshot where given.

Auth: Better Stack does not sign webhooks, so the secret goes in the URL (`?token=<secret>`).
An incident reaches each state once, so the incident id and event name make the dedup key.
"""

from typing import ClassVar

from marshmallow import fields, validate

from bot import markdown as md
from bot.message import Message
from bot.sources._monitoring import alert, duration, epoch, joined, target
from bot.sources.base import Event, Lenient, Source


class AttributesSchema(Lenient):
    name = fields.Str(allow_none=True)
    url = fields.Str(allow_none=True)
    http_method = fields.Str(allow_none=True)
    cause = fields.Str(allow_none=True)
    started_at = fields.Str(allow_none=True)
    acknowledged_at = fields.Str(allow_none=True)
    acknowledged_by = fields.Str(allow_none=True)
    resolved_at = fields.Str(allow_none=True)
    resolved_by = fields.Str(allow_none=True)
    regions = fields.List(fields.Str(), allow_none=True)
    response_url = fields.Str(allow_none=True)
    screenshot_url = fields.Str(allow_none=True)


class DataSchema(Lenient):
    id = fields.Raw(required=True)
    type = fields.Str(required=True, validate=validate.Length(min=1, max=100))
    attributes = fields.Dict(required=True)


class WebhookSchema(Lenient):
    event = fields.Str(required=True, validate=validate.Length(min=1, max=100))
    data = fields.Nested(DataSchema, required=True)


class IncidentDataSchema(DataSchema):
    attributes = fields.Nested(AttributesSchema, required=True)


class IncidentSchema(Lenient):
    data = fields.Nested(IncidentDataSchema, required=True)


def _incident(p: dict) -> tuple[str, dict]:
    data = p["data"]
    return str(data["id"]), data["attributes"]


def _name(a: dict) -> str:
    return (a.get("name") or "").strip() or (a.get("url") or "").strip() or "Better Stack monitor"


def _facts(a: dict) -> list:
    method = (a.get("http_method") or "").strip().upper()
    regions = [md.code(r, 30) for r in a.get("regions") or [] if r]
    return [
        ("Target", target(a.get("url"), kind=method or None)),
        ("Cause", md.inline(a.get("cause"), 300)),
        ("Regions", joined(regions)),
    ]


def _evidence(a: dict) -> list:
    links = [md.link(label, a.get(key)) for label, key in (("Response", "response_url"),
                                                          ("Screenshot", "screenshot_url"))
             if md.safe_url(a.get(key))]
    return [("Evidence", " · ".join(links))]


def format_started(p: dict) -> Message:
    key, a = _incident(p)
    return alert(
        f"Incident started: {_name(a)}",
        up=False,
        fields=[*_facts(a), ("Started at", md.inline(a.get("started_at"), 40)), *_evidence(a)],
        key=key,
        started_at=a.get("started_at"),
    )


def format_acknowledged(p: dict) -> Message:
    """Someone is on it: the incident still fires, so this is a warning, and it carries no alert
    identity because an acknowledgement is news of its own, never a repeat to compress."""
    _, a = _incident(p)
    body = md.fields([*_facts(a), ("Acknowledged by", md.inline(a.get("acknowledged_by"), 120))])
    return Message(
        title=f"Incident acknowledged: {_name(a)}",
        severity="warning",
        status="firing",
        body=[body] if body else [],
    )


def format_resolved(p: dict) -> Message:
    key, a = _incident(p)
    started, ended = epoch(a.get("started_at")), epoch(a.get("resolved_at"))
    lasted = duration(ended - started) if started is not None and ended is not None else ""
    return alert(
        f"Incident resolved: {_name(a)}",
        up=True,
        fields=[*_facts(a), ("Lasted", lasted), ("Resolved by", md.inline(a.get("resolved_by"), 120))],
        key=key,
        started_at=a.get("started_at"),
        ended_at=a.get("resolved_at"),
    )


class BetterStack(Source):
    name = "betterstack"
    title = "Better Stack Uptime"
    setup = (
        "Uptime → Integrations → Exporting data → Outgoing webhooks → Configure: type Incident, "
        "Webhook URL https://<relay>/hooks/<route>?token=<secret>"
    )
    schema = WebhookSchema
    events: ClassVar[dict[str, Event]] = {
        "incident.started": Event(format_started, IncidentSchema),
        "incident.acknowledged": Event(format_acknowledged, IncidentSchema),
        "incident.resolved": Event(format_resolved, IncidentSchema),
    }

    def detect_event(self, payload, headers):
        return f"{payload['data']['type'].strip()}.{payload['event'].strip()}"

    def payload_delivery_id(self, event, payload):
        return f"{payload['data']['id']}:{event}"[:200]


SOURCE = BetterStack()
