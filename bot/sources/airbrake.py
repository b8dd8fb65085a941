"""`airbrake`: Airbrake's webhook integration.

Airbrake posts one JSON object each time a new error occurs or a resolved one comes back: the
error group's class and message, the project and environment, how often it occurred, and the
backtrace and request URL of its latest notice. Each is a firing error alert.

The alert is the error group (its id). Airbrake reports no resolution, so the group stays firing
here; each webhook reports a new notice (a new error, or one that came back after being resolved in
Airbrake), which is news: a new revision, posted in full. The alert starts at `last_occurred_at`.
"""

from typing import ClassVar

from marshmallow import fields

from bot import markdown as md
from bot.message import Message
from bot.sources._monitoring import alert_ref
from bot.sources.base import Event, Lenient, Source

MAX_FRAMES = 5


class ProjectSchema(Lenient):
    name = fields.Str(allow_none=True)


class NoticeSchema(Lenient):
    id = fields.Raw(allow_none=True)
    request_url = fields.Str(allow_none=True)
    backtrace = fields.List(fields.Raw(allow_none=True), allow_none=True)


class ErrorSchema(Lenient):
    id = fields.Raw(allow_none=True)
    last_occurred_at = fields.Raw(allow_none=True)
    error_class = fields.Str(allow_none=True)
    error_message = fields.Str(allow_none=True)
    environment = fields.Str(allow_none=True)
    times_occurred = fields.Raw(allow_none=True)
    project = fields.Nested(ProjectSchema, allow_none=True)
    last_notice = fields.Nested(NoticeSchema, allow_none=True)


class AirbrakeSchema(Lenient):
    error = fields.Nested(ErrorSchema, required=True)
    airbrake_error_url = fields.Str(allow_none=True)


def _title(error: dict) -> str:
    """ "Class: message", without repeating the class when the message already starts with it."""
    kind = (error.get("error_class") or "").strip()
    message = md.first_line(error.get("error_message"), 200)
    if not message or message.startswith(kind):
        return message or kind or "Airbrake error"
    return f"{kind}: {message}" if kind else message


def format_error(p: dict) -> Message:
    error = p["error"]
    notice = error.get("last_notice") or {}
    frames = [str(line) for line in notice.get("backtrace") or [] if line]
    request = notice.get("request_url")
    return Message(
        title=_title(error),
        url=p.get("airbrake_error_url"),
        severity="error",
        status="firing",
        body=[
            block
            for block in (
                md.fields(
                    [
                        ("Project", md.inline((error.get("project") or {}).get("name"), 120)),
                        ("Environment", md.code(error.get("environment"), 60)),
                        ("Occurrences", md.inline(error.get("times_occurred"), 20)),
                        ("Request", md.link(request, request) if md.safe_url(request) else ""),
                    ]
                ),
                md.fenced("\n".join(frames[:MAX_FRAMES]), limit=1500) if frames else "",
            )
            if block
        ],
        alert=alert_ref(error.get("id"), up=False, started_at=error.get("last_occurred_at"),
                        revision=str(notice.get("id") or "")),
    )


class Airbrake(Source):
    name = "airbrake"
    only_event = "error"
    title = "Airbrake"
    setup = "Project → Settings → Integrations → Webhook: URL https://<relay>/hooks/<route>?token=<secret>"
    schema = AirbrakeSchema
    events: ClassVar[dict[str, Event]] = {"error": Event(format_error)}

    def payload_delivery_id(self, event, payload):
        # Each delivery reports a new notice, so its id tells a redelivery from a new occurrence.
        notice_id = str((payload["error"].get("last_notice") or {}).get("id") or "")
        return f"notice:{notice_id[:100]}" if notice_id else None


SOURCE = Airbrake()
