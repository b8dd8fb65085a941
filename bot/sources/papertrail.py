"""`papertrail`: Papertrail's saved-search alerts posted to a webhook.

Papertrail posts a form field `payload` holding JSON: the saved search (name, query, links) and
either the log events that matched since the last run or, when the alert is set to send only
counts, the number of matches per sender. Matching lines are shown as a log excerpt; the message
takes the most severe syslog severity among them.
"""

from typing import ClassVar

from marshmallow import fields

from bot import markdown as md
from bot.message import Message, rank, severity_of
from bot.sources._monitoring import joined
from bot.sources.base import Event, Lenient, Source

MAX_LINES = 10


class SavedSearchSchema(Lenient):
    name = fields.Str(required=True)
    query = fields.Str(allow_none=True)
    html_search_url = fields.Str(allow_none=True)


class LogEventSchema(Lenient):
    display_received_at = fields.Str(allow_none=True)
    source_name = fields.Str(allow_none=True)
    program = fields.Str(allow_none=True)
    severity = fields.Str(allow_none=True)
    message = fields.Str(allow_none=True)


class CountSchema(Lenient):
    source_name = fields.Str(allow_none=True)
    timeseries = fields.Dict(allow_none=True)


class PapertrailSchema(Lenient):
    saved_search = fields.Nested(SavedSearchSchema, required=True)
    events = fields.List(fields.Nested(LogEventSchema), allow_none=True)
    counts = fields.List(fields.Nested(CountSchema), allow_none=True)


def _matches(n: int) -> str:
    return f"{n} match{'' if n == 1 else 'es'}"


def _line(event: dict) -> str:
    """A matched event as Papertrail's log viewer shows it: time, sender, program and message."""
    program = f" {event['program']}:" if event.get("program") else ""
    head = " ".join(part for part in (event.get("display_received_at"), event.get("source_name")) if part)
    return md.shorten(f"{head}{program} {' '.join(md.clean(event.get('message')).split())}".strip(), 300)


def _severity(events: list) -> str:
    found = [severity_of(e.get("severity"), "info") for e in events]
    return min(found, key=rank, default="info")


def _message(search: dict, title: str, severity: str, extra=(), blocks=()) -> Message:
    """The alert of a saved search: its query and `extra` (label, markdown) fields, then `blocks`."""
    return Message(
        title=title,
        url=search.get("html_search_url"),
        severity=severity,
        body=[block for block in (md.fields([("Query", md.code(search.get("query"), 200)), *extra]), *blocks) if block],
    )


def format_events(p: dict) -> Message:
    search = p["saved_search"]
    events = p.get("events") or []
    lines = [_line(event) for event in events[:MAX_LINES]]
    more = len(events) - len(lines)
    blocks = [md.fenced("\n".join(lines)) if lines else "", md.text(f"… and {more} more") if more > 0 else ""]
    title = f'Search "{search["name"]}" found {_matches(len(events))}'
    return _message(search, title, _severity(events), blocks=blocks)


def _count(entry: dict) -> int:
    return sum(v for v in (entry.get("timeseries") or {}).values() if isinstance(v, int) and not isinstance(v, bool))


def format_counts(p: dict) -> Message:
    search = p["saved_search"]
    counts = [(entry.get("source_name") or "unknown sender", _count(entry)) for entry in p.get("counts") or []]
    total = sum(n for _, n in counts)
    per_sender = joined([f"{md.code(name, 80)}: {n}" for name, n in counts])
    title = f'Search "{search["name"]}" found {_matches(total)}'
    return _message(search, title, "info", extra=[("By sender", per_sender)])


class Papertrail(Source):
    name = "papertrail"
    title = "Papertrail"
    setup = (
        "Search → Save search → Create alert → Webhook: URL https://<relay>/hooks/<route>?token=<secret> "
        "(optionally send only counts)"
    )
    schema = PapertrailSchema
    events: ClassVar[dict[str, Event]] = {"search_events": Event(format_events), "search_counts": Event(format_counts)}

    def detect_event(self, payload, headers):
        if payload.get("events") is not None:
            return "search_events"
        if payload.get("counts") is not None:
            return "search_counts"
        return None


SOURCE = Papertrail()
