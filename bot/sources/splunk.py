"""`splunk`: Splunk's webhook alert action for saved searches.

When a saved search's alert triggers, Splunk posts the search's name and id (`sid`), its owner and
app, a link to its results and the first result row. The message shows where that event came from
(host, source) and its raw text or, for searches that aggregate (`stats count`), the row's fields.
Splunk alerts have no recovery, so every message is a firing alert.
"""

from typing import ClassVar

from marshmallow import fields

from bot import markdown as md
from bot.message import Message
from bot.sources._monitoring import alert
from bot.sources.base import Event, Lenient, Source

MAX_RESULT_FIELDS = 8


class AlertSchema(Lenient):
    sid = fields.Str(required=True)
    search_name = fields.Str(allow_none=True)
    results_link = fields.Str(allow_none=True)
    result = fields.Dict(keys=fields.Str(), allow_none=True)


def _result_fields(result: dict) -> str:
    """The row's own fields; Splunk's internal ones start with `_` or `date_` and are left out."""
    shown = [
        f"{md.code(key, 60)}: {md.inline(value, 200)}"
        for key, value in result.items()
        if not key.startswith(("_", "date_")) and isinstance(value, (str, int, float)) and str(value).strip()
    ]
    return md.bullets(shown, limit=MAX_RESULT_FIELDS)


def format_alert(p: dict) -> Message:
    result = p.get("result") or {}
    raw = result.get("_raw")
    return alert(
        f"Splunk alert: {p['search_name']}" if p.get("search_name") else "Splunk alert",
        up=False,
        url=p.get("results_link"),
        fields=[
            ("Search", "" if p.get("search_name") else md.code(p["sid"])),
            ("Host", md.inline(result.get("host"))),
            ("Source", md.code(result.get("source") or "")),
        ],
        details=[md.fenced(raw, limit=1500) if isinstance(raw, str) and raw.strip() else _result_fields(result)],
    )


class Splunk(Source):
    name = "splunk"
    only_event = "alert"
    title = "Splunk"
    setup = (
        "Saved search → Edit alert → Add actions → Webhook: URL https://<relay>/hooks/<route>?token=<secret> "
        "(Splunk 9+: add the relay to the webhook allow list)"
    )
    schema = AlertSchema
    events: ClassVar[dict[str, Event]] = {"alert": Event(format_alert)}


SOURCE = Splunk()
