"""`opsgenie`: alert activity from Opsgenie's Webhook integration.

Each delivery reports one action on one alert (`action`: Create, Acknowledge, Close, AddNote,
Escalate…, or the name of a custom action the team defined) with a subset of the alert's fields.
The message names the alert and what was done to it, by whom, and the detail that action carries
(the note, the tags, the new owner); the alert's priority P1–P5 sets the severity of new alerts.
"""

from __future__ import annotations

from typing import ClassVar
from urllib.parse import quote

from marshmallow import fields

from bot import markdown as md
from bot.auth import SharedSecret
from bot.message import Message, severity_of
from bot.sources._monitoring import alert_ref
from bot.sources.base import Event, Lenient, Source

MAX_TAGS = 10
ALERT_URL = "https://app.opsgenie.com/alert/detail/{}/details"
# Opsgenie's action -> what happened to the alert.
ACTIONS = {
    "Create": "created",
    "Acknowledge": "acknowledged",
    "UnAcknowledge": "unacknowledged",
    "Close": "closed",
    "Delete": "deleted",
    "Escalate": "escalated",
    "AddNote": "note added",
    "AddRecipient": "recipient added",
    "AddTeam": "team added",
    "AddTags": "tags added",
    "RemoveTags": "tags removed",
    "TakeOwnership": "ownership taken",
    "AssignOwnership": "owner assigned",
}
# Actions after which the alert needs someone take the alert's priority as their severity.
PAGING = {"Create", "UnAcknowledge", "Escalate"}
OTHER_STATES = {"Acknowledge": ("warning", "firing"), "Close": ("success", "resolved")}
# The field in `alert` that says what an action changed.
DETAILS = {
    "AddRecipient": ("Recipient", "recipient"),
    "AddTeam": ("Team", "team"),
    "AssignOwnership": ("Owner", "owner"),
    "AddTags": ("Tags added", "addedTags"),
    "RemoveTags": ("Tags removed", "removedTags"),
}
CUSTOM = "custom action"


class AlertSchema(Lenient):
    alertId = fields.Str(allow_none=True)
    tinyId = fields.Str(allow_none=True)
    message = fields.Str(allow_none=True)
    username = fields.Str(allow_none=True)
    entity = fields.Str(allow_none=True)
    # Opsgenie sends "P3" or just 3.
    priority = fields.Raw(allow_none=True)
    tags = fields.List(fields.Str(), allow_none=True)
    note = fields.Str(allow_none=True)
    recipient = fields.Str(allow_none=True)
    team = fields.Str(allow_none=True)
    owner = fields.Str(allow_none=True)
    addedTags = fields.Str(allow_none=True)
    removedTags = fields.Str(allow_none=True)


class NotifySchema(Lenient):
    name = fields.Str(allow_none=True)


class OpsgenieSchema(Lenient):
    action = fields.Str(required=True)
    alert = fields.Nested(AlertSchema, required=True)
    integrationName = fields.Str(allow_none=True)
    escalationName = fields.Str(allow_none=True)
    escalationNotify = fields.Nested(NotifySchema, allow_none=True)


def _priority(value) -> str:
    if value is None or isinstance(value, (dict, list)):
        return ""
    text = str(value).strip().upper()
    return f"P{text}" if text.isdigit() else text


def _tags(tags) -> str:
    shown = [md.code(t, 60) for t in (tags or [])[:MAX_TAGS]]
    return " ".join(shown) + (" …" if len(tags or []) > MAX_TAGS else "")


def _detail(action: str, alert: dict) -> tuple[str, str]:
    """(label, markdown) for what the action changed: the tags, the new owner, recipient or team."""
    label, key = DETAILS.get(action, ("", ""))
    value = alert.get(key) if key else None
    if not value:
        return "", ""
    if key in ("addedTags", "removedTags"):
        return label, _tags([tag.strip() for tag in value.split(",") if tag.strip()])
    return label, md.inline(value, 300)


def format_action(p: dict) -> Message:
    action = p["action"].strip()
    alert = p["alert"]
    priority = _priority(alert.get("priority"))
    if action in PAGING:
        severity, status = severity_of(priority, "warning"), "firing"
    else:
        severity, status = OTHER_STATES.get(action, ("info", None))
    verb = ACTIONS.get(action) or f"{CUSTOM} {action}"
    number = f" #{alert['tinyId']}" if alert.get("tinyId") else ""
    message = f": {alert['message']}" if alert.get("message") else ""
    details = [
        _detail(action, alert),
        ("Escalation", md.inline(p.get("escalationName"), 120)),
        ("Notified", md.inline((p.get("escalationNotify") or {}).get("name"), 120)),
        ("By", md.inline(alert.get("username"), 120) if action != "Escalate" else ""),
        ("Priority", md.inline(priority, 10)),
        ("Tags", _tags(alert.get("tags"))),
        ("Entity", md.inline(alert.get("entity"), 120)),
        ("Integration", md.inline(p.get("integrationName"), 120)),
    ]
    note = md.quote(alert["note"]) if action == "AddNote" and alert.get("note") else ""
    body = [note, md.fields(details)]
    return Message(
        title=f"Alert{number} {verb}{message}",
        url=ALERT_URL.format(quote(alert["alertId"], safe="")) if alert.get("alertId") else None,
        severity=severity,
        body=[block for block in body if block],
        status=status,
        # Only creating and closing move the alert's state; the other actions are news of their own.
        alert=alert_ref(alert.get("alertId"), up=action == "Close") if action in ("Create", "Close") else None,
    )


class Opsgenie(Source):
    name = "opsgenie"
    title = "Opsgenie"
    setup = (
        "Opsgenie → Settings → Integrations → Webhook: Webhook URL https://<relay>/hooks/<route>?token=<secret> "
        "(or a custom header Authorization: Bearer <secret>)"
    )
    auth = SharedSecret()
    schema = OpsgenieSchema
    events: ClassVar[dict[str, Event]] = {
        **{action: Event(format_action) for action in ACTIONS}, CUSTOM: Event(format_action),
    }

    def detect_event(self, payload, headers):
        """The alert action; names Opsgenie does not define are the team's own custom actions."""
        action = payload["action"].strip()
        if not action:
            return None
        return action if action in ACTIONS else CUSTOM


SOURCE = Opsgenie()
