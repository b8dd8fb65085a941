"""`librato`: Librato (AppOptics) alert webhooks and chart snapshots.

Librato posts a form field `payload` holding JSON. A triggered alert lists its conditions and,
per source, the measurements that violated them; a cleared alert carries `"clear"`. Snapshots
shared to the webhook arrive in Slack's attachment shape with the chart image and its link.
"""

from typing import ClassVar

from marshmallow import fields

from bot import markdown as md
from bot.message import Message
from bot.sources._monitoring import alert
from bot.sources.base import Event, Lenient, Source

ALERT_PAGE = "https://metrics.librato.com/alerts#/{id}"
MAX_VIOLATIONS = 10


class AlertInfoSchema(Lenient):
    id = fields.Raw(allow_none=True)
    name = fields.Str(required=True)
    description = fields.Str(allow_none=True)
    runbook_url = fields.Str(allow_none=True)


class ConditionSchema(Lenient):
    id = fields.Raw(allow_none=True)
    type = fields.Str(allow_none=True)
    threshold = fields.Raw(allow_none=True)
    summary_function = fields.Str(allow_none=True)
    duration = fields.Raw(allow_none=True)


class ViolationSchema(Lenient):
    metric = fields.Str(allow_none=True)
    value = fields.Raw(allow_none=True)
    condition_violated = fields.Raw(allow_none=True)


class AlertSchema(Lenient):
    alert = fields.Nested(AlertInfoSchema, required=True)
    conditions = fields.List(fields.Nested(ConditionSchema), allow_none=True)
    violations = fields.Dict(keys=fields.Str(), values=fields.List(fields.Nested(ViolationSchema)), required=True)


class ClearSchema(Lenient):
    alert = fields.Nested(AlertInfoSchema, required=True)
    clear = fields.Str(allow_none=True)


class AttachmentSchema(Lenient):
    author_name = fields.Str(allow_none=True)
    title = fields.Str(allow_none=True)
    title_link = fields.Str(allow_none=True)
    image_url = fields.Str(allow_none=True)


class SnapshotSchema(Lenient):
    attachments = fields.List(fields.Nested(AttachmentSchema), required=True)


def _page(info: dict) -> str | None:
    alert_id = str(info.get("id") or "")
    return ALERT_PAGE.format(id=alert_id) if alert_id.isdigit() else None


def _runbook(info: dict) -> str:
    url = info.get("runbook_url")
    return md.link(url, url) if md.safe_url(url) else ""


def _condition(condition: dict | None) -> str:
    """How a condition reads: "sum above 44 for 300s", "absent for 60s"."""
    condition = condition or {}
    kind = condition.get("type") or ""
    words = [condition.get("summary_function") if kind != "absent" else None, kind]
    if kind != "absent" and condition.get("threshold") is not None:
        words.append(str(condition["threshold"]))
    if condition.get("duration"):
        words.append(f"for {condition['duration']}s")
    return md.inline(" ".join(str(w) for w in words if w), 120)


def _value(value) -> str:
    """A measured value: numbers need no escaping and read better without it; anything else is escaped."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return md.inline(value, 30)


def _violation(source: str, violation: dict, conditions: dict) -> str:
    metric = md.code(violation.get("metric"), 120) or "a metric"
    value = _value(violation.get("value"))
    shown = f" = {value}" if value else ""
    rule = _condition(conditions.get(str(violation.get("condition_violated"))))
    return f"{metric}{shown} on {md.code(source, 80)}" + (f" ({rule})" if rule else "")


def format_alert(p: dict) -> Message:
    info = p["alert"]
    conditions = {str(c.get("id")): c for c in p.get("conditions") or []}
    items = [
        _violation(source, violation, conditions)
        for source, violations in p["violations"].items()
        for violation in violations
    ]
    # Librato's "Test" button sends a real-looking alert; say so, or people will act on it.
    test = " (test)" if p.get("triggered_by_user_test") is True else ""
    return alert(
        f"Alert {info['name']} triggered{test}",
        up=False,
        url=_page(info),
        fields=[("Description", md.inline(info.get("description"), 300)), ("Runbook", _runbook(info))],
        details=[md.bullets(items, MAX_VIOLATIONS)] if items else [],
    )


def format_clear(p: dict) -> Message:
    info = p["alert"]
    return alert(f"Alert {info['name']} cleared", up=True, url=_page(info))


def format_snapshot(p: dict) -> list[Message]:
    messages = []
    for attachment in p["attachments"]:
        chart, label = attachment.get("title_link"), attachment.get("title") or ""
        # Librato titles a snapshot with the chart's own address; a short label reads better.
        label = "open in Librato" if not label or md.safe_url(label) else label
        body = md.fields([("Chart", md.link(label, chart) if md.safe_url(chart) else "")])
        messages.append(
            Message(
                title=f"{attachment.get('author_name') or 'Someone'} shared a snapshot",
                url=attachment.get("image_url"),
                body=[body] if body else [],
            )
        )
    return messages


class Librato(Source):
    name = "librato"
    title = "Librato"
    setup = (
        "Settings → Notification Services → Webhook → Add Configuration: URL "
        "https://<relay>/hooks/<route>?token=<secret>; then add the service to your alerts"
    )
    events: ClassVar[dict[str, Event]] = {
        "alert": Event(format_alert, AlertSchema),
        "clear": Event(format_clear, ClearSchema),
        "snapshot": Event(format_snapshot, SnapshotSchema),
    }

    def detect_event(self, payload, headers):
        if not isinstance(payload, dict):
            return None
        if "clear" in payload:
            return "clear"
        if "violations" in payload:
            return "alert"
        if "attachments" in payload:
            return "snapshot"
        return None


SOURCE = Librato()
