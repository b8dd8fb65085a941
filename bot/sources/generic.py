"""`generic`: a small JSON shape for scripts and anything you control.

{"message": "Backup finished", "title": "nightly-backup", "level": "success", "url": "https://…"}
"""

from typing import ClassVar

from marshmallow import fields, validate

from bot import markdown as md
from bot.message import Message
from bot.sources.base import Event, Lenient, Source

LEVELS = {"info": "info", "success": "success", "warning": "warning", "error": "error", "critical": "critical"}


class GenericSchema(Lenient):
    message = fields.Str(required=True, validate=validate.Length(min=1, max=20_000))
    title = fields.Str(validate=validate.Length(max=500))
    level = fields.Str(validate=validate.OneOf(sorted(LEVELS)))
    url = fields.Str(validate=validate.Length(max=2000))


def format_message(p: dict) -> Message:
    title = p.get("title") or md.first_line(p["message"], 120)
    body = p["message"] if p.get("title") else "\n".join(p["message"].splitlines()[1:])
    return Message(
        title=title,
        url=p.get("url"),
        severity=LEVELS.get(p.get("level") or "info", "info"),
        body=[md.text(body.strip(), 8000)] if body.strip() else [],
    )


class Generic(Source):
    name = "generic"
    only_event = "message"
    title = "Generic JSON"
    setup = (
        'POST JSON {"message": "...", "title"?, "level"?: info|success|warning|error|critical, "url"?} '
        "with Authorization: Bearer <secret>"
    )
    schema = GenericSchema
    events: ClassVar[dict[str, Event]] = {"message": Event(format_message)}


SOURCE = Generic()
