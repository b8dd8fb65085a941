"""`grafana`: alert notifications from Grafana's webhook contact point.

Unified alerting (Grafana 8 and later) sends Alertmanager's notification shape, with the evaluated
values and links to a silence, the dashboard, the panel and a snapshot for each alert; it is
rendered by the Alertmanager source's `alert_messages`, so both senders look the same. Legacy
dashboard alerting (Grafana 7 and earlier) sends one rule's state with the series that matched.
"""

from __future__ import annotations

from typing import ClassVar

from marshmallow import fields

from bot import markdown as md
from bot.auth import SharedSecret
from bot.message import Message
from bot.sources._monitoring import alert_ref
from bot.sources.alertmanager import (
    AlertSchema,
    NotificationSchema,
    alert_messages,
    links_to,
    notification_id,
    source_links,
)
from bot.sources.base import Event, Lenient, Source

MAX_VALUES = 6
MAX_SERIES = 10
# Legacy rule state -> (severity, alert status).
LEGACY_STATES = {
    "alerting": ("error", "firing"),
    "no_data": ("warning", "firing"),
    "ok": ("success", "resolved"),
    "pending": ("warning", None),
    "paused": ("info", None),
}


class GrafanaAlertSchema(AlertSchema):
    silenceURL = fields.Str(allow_none=True)
    dashboardURL = fields.Str(allow_none=True)
    panelURL = fields.Str(allow_none=True)
    imageURL = fields.Str(allow_none=True)
    valueString = fields.Str(allow_none=True)
    values = fields.Dict(keys=fields.Str(), values=fields.Float(allow_none=True), allow_none=True)


class UnifiedSchema(NotificationSchema):
    alerts = fields.List(fields.Nested(GrafanaAlertSchema), required=True)


class EvalMatchSchema(Lenient):
    metric = fields.Str(allow_none=True)
    value = fields.Float(allow_none=True)


class LegacySchema(Lenient):
    title = fields.Str(allow_none=True)
    ruleName = fields.Str(allow_none=True)
    ruleUrl = fields.Str(allow_none=True)
    state = fields.Str(required=True)
    message = fields.Str(allow_none=True)
    imageUrl = fields.Str(allow_none=True)
    evalMatches = fields.List(fields.Nested(EvalMatchSchema), allow_none=True)


def _values(alert: dict) -> str:
    values = sorted((alert.get("values") or {}).items())
    if values:
        shown = " ".join(md.code(f"{k}={v}", 60) for k, v in values[:MAX_VALUES])
        return shown + (" …" if len(values) > MAX_VALUES else "")
    return md.code(alert.get("valueString") or "", 120)


def grafana_links(alert: dict) -> list[str]:
    """The evaluated values and Grafana's own links; a silence only while the alert fires."""
    silence = alert.get("silenceURL") if alert.get("status") != "resolved" else None
    links = links_to(
        [
            ("silence", silence),
            ("dashboard", alert.get("dashboardURL")),
            ("panel", alert.get("panelURL")),
            ("image", alert.get("imageURL")),
        ]
    )
    return [_values(alert), *source_links(alert), *links]


def format_unified(p: dict) -> list[Message]:
    return alert_messages(p, links=grafana_links, firing_footer=lambda _: "")


def format_legacy(p: dict) -> Message:
    state = p["state"]
    severity, status = LEGACY_STATES.get(state, ("info", None))
    matches = [m for m in p.get("evalMatches") or [] if m.get("metric") or m.get("value") is not None]
    series = [f"{md.inline(m.get('metric') or 'value', 120)}: {md.code(m.get('value')) or 'no value'}" for m in matches]
    body = [
        md.text((p.get("message") or "").strip(), 1500),
        md.bullets(series[:MAX_SERIES], MAX_SERIES, len(series)),
        *links_to([("Image", p.get("imageUrl"))]),
    ]
    return Message(
        title=p.get("title") or f"[{state}] {p.get('ruleName') or 'Grafana alert'}",
        url=p.get("ruleUrl"),
        severity=severity,
        body=[block for block in body if block],
        status=status,
        alert=alert_ref(p.get("ruleId"), up=status == "resolved") if status else None,
    )


class Grafana(Source):
    name = "grafana"
    title = "Grafana"
    setup = (
        "Grafana → Alerting → Contact points → Webhook: URL https://<relay>/hooks/<route>, "
        "Authorization header scheme Bearer with credentials <secret>"
    )
    auth = SharedSecret()
    events: ClassVar[dict[str, Event]] = {
        "alert": Event(format_unified, UnifiedSchema),
        "legacy_alert": Event(format_legacy, LegacySchema),
    }
    # Derived ids are kept only as long as a body hash, so repeat-interval reminders still post.
    dedup_seconds_sender_id = Source.dedup_seconds_derived

    def detect_event(self, payload, headers):
        if not isinstance(payload, dict):
            return None
        if "alerts" in payload:
            return "alert"
        if "ruleName" in payload or "evalMatches" in payload:
            return "legacy_alert"
        return None

    def payload_delivery_id(self, event, payload):
        return notification_id(payload) if event == "alert" else None


SOURCE = Grafana()
