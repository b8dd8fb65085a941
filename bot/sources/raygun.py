"""`raygun`: Raygun Crash Reporting's per-application webhook.

Raygun posts error notifications (a new error, an error that came back, and the one-minute to
hourly follow-ups while it keeps happening) and activity on an error group (its status changed,
it was assigned, someone commented), naming the kind in `eventType`. Notifications show how often
the error occurred and for how many users, with the tags and custom data of its latest instance.

The alert is the error group (application and group id, from the group's page URL). A new error
fires it; the follow-ups are repeats of it (see the route's `repeats:`). An error that came back is
news, a new revision posted in full even when the relay did not see it resolved (then the first
follow-up after it is a change too, and posted in full). Marking the group Resolved (the
StatusChanged activity) resolves it.
"""

import re
from typing import ClassVar

from marshmallow import fields

from bot import markdown as md
from bot.message import Message
from bot.sources._monitoring import alert_ref, joined
from bot.sources.base import Event, Lenient, Source

# eventType -> how the title says it.
NOTIFICATIONS = {
    "NewErrorOccurred": "New error",
    "ErrorReoccurred": "Error reoccurred",
    "OneMinuteFollowUp": "Error still occurring after a minute",
    "FiveMinuteFollowUp": "Error still occurring after 5 minutes",
    "TenMinuteFollowUp": "Error still occurring after 10 minutes",
    "ThirtyMinuteFollowUp": "Error still occurring after 30 minutes",
    "HourlyFollowUp": "Error still occurring (hourly follow-up)",
}
MAX_CUSTOM = 5
# When the alert a notification fires started; a follow-up does not say (its firstOccurredOn is the
# group's first occurrence ever, also for an error that came back).
STARTED_AT = {"NewErrorOccurred": "firstOccurredOn", "ErrorReoccurred": "lastOccurredOn"}
# https://app.raygun.com/crashreporting/<application>/errors/<error group>
_GROUP_URL = re.compile(r"/crashreporting/([^/?#]+)/errors/([^/?#]+)")


class ApplicationSchema(Lenient):
    name = fields.Str(allow_none=True)
    url = fields.Str(allow_none=True)


class AffectedUserSchema(Lenient):
    Identifier = fields.Raw(allow_none=True)


class InstanceSchema(Lenient):
    tags = fields.List(fields.Raw(allow_none=True), allow_none=True)
    affectedUser = fields.Nested(AffectedUserSchema, allow_none=True)
    customData = fields.Dict(allow_none=True)


class ErrorSchema(Lenient):
    url = fields.Str(allow_none=True)
    message = fields.Str(allow_none=True)
    usersAffected = fields.Raw(allow_none=True)
    totalOccurrences = fields.Raw(allow_none=True)
    instance = fields.Nested(InstanceSchema, allow_none=True)
    user = fields.Str(allow_none=True)
    status = fields.Str(allow_none=True)
    assignedTo = fields.Str(allow_none=True)
    comment = fields.Str(allow_none=True)
    firstOccurredOn = fields.Raw(allow_none=True)
    lastOccurredOn = fields.Raw(allow_none=True)
    activityDate = fields.Raw(allow_none=True)


class RaygunSchema(Lenient):
    event = fields.Str(required=True)
    eventType = fields.Str(required=True)
    error = fields.Nested(ErrorSchema, required=True)
    application = fields.Nested(ApplicationSchema, allow_none=True)


def _app(p: dict) -> str:
    app = p.get("application") or {}
    return md.link(app["name"], app.get("url"), 120) if app.get("name") else ""


def _error_name(error: dict) -> str:
    return md.first_line(error.get("message"), 150) or "an error"


def _occurrences(error: dict) -> str:
    total, users = error.get("totalOccurrences"), error.get("usersAffected")
    if total is None:
        return ""
    shown = f"{md.inline(total, 20)} total"
    return f"{shown}, {md.inline(users, 20)} user(s) affected" if users is not None else shown


def _group(error: dict) -> str | None:
    """"<application>/<error group>" from the group's page URL; None for another URL."""
    found = _GROUP_URL.search(error.get("url") or "")
    return "/".join(found.groups()) if found else None


def _custom_data(data: dict | None) -> str:
    pairs = [(k, v) for k, v in (data or {}).items() if not isinstance(v, (dict, list))]
    items = [f"{md.code(k, 60)}: {md.inline(v, 80)}" for k, v in pairs]
    return joined(items, MAX_CUSTOM)


def format_notification(p: dict) -> Message:
    error = p["error"]
    instance = error.get("instance") or {}
    what = NOTIFICATIONS.get(p["eventType"], "Error notification")
    message = md.first_line(error.get("message"), 150)
    tags = [md.code(tag, 60) for tag in instance.get("tags") or [] if tag not in (None, "")]
    came_back = p["eventType"] == "ErrorReoccurred"
    return Message(
        title=f"{what}: {message}" if message else what,
        url=error.get("url"),
        severity="error",
        status="firing",
        body=[
            md.fields(
                [
                    ("Application", _app(p)),
                    ("Occurrences", _occurrences(error)),
                    ("Tags", joined(tags)),
                    ("Affected user", md.code((instance.get("affectedUser") or {}).get("Identifier"), 80)),
                    ("Custom data", _custom_data(instance.get("customData"))),
                ]
            )
        ],
        alert=alert_ref(_group(error), up=False, started_at=error.get(STARTED_AT.get(p["eventType"], "")),
                        revision=f"came back {error.get('lastOccurredOn') or ''}".strip() if came_back else ""),
    )


def format_activity(p: dict) -> Message:
    error = p["error"]
    who = error.get("user") or "Someone"
    name = _error_name(error)
    kind = p["eventType"]
    severity, body, resolved = "info", [], False
    if kind == "StatusChanged":
        status = error.get("status") or "unknown"
        title = f"{who} marked {name} as {status}"
        resolved = status.strip().lower() == "resolved"
        severity = "success" if resolved else "info"
    elif kind == "AssignedToUser":
        title = f"{who} assigned {name} to {error.get('assignedTo') or 'nobody'}"
    else:
        title = f"{who} commented on {name}"
        body = [md.quote(error.get("comment") or "")]
    return Message(
        title=title,
        url=error.get("url"),
        severity=severity,
        body=[block for block in (*body, md.fields([("Application", _app(p))])) if block],
        status="resolved" if resolved else None,
        alert=alert_ref(_group(error), up=True, ended_at=error.get("activityDate")) if resolved else None,
    )


class Raygun(Source):
    name = "raygun"
    title = "Raygun"
    setup = (
        "Application → Integrations → Webhook: URL https://<relay>/hooks/<route>?token=<secret>, "
        "enable it and pick the notifications and activity to send"
    )
    schema = RaygunSchema
    events: ClassVar[dict[str, Event]] = {
        **{kind: Event(format_notification) for kind in NOTIFICATIONS},
        "StatusChanged": Event(format_activity),
        "AssignedToUser": Event(format_activity),
        "CommentAdded": Event(format_activity),
    }

    def detect_event(self, payload, headers):
        return payload["eventType"].strip() or None


SOURCE = Raygun()
