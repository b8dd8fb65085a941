"""`alertmanager`: notifications from Prometheus Alertmanager's webhook receiver (payload version 4).

One notification carries one alert group. Its firing and resolved alerts are posted as separate
messages, so a recovery is never buried in a page: each lists its alerts with their summary, the
labels that tell them apart and a link to the expression that fired, plus a link that opens a
silence for the group. Grafana's unified alerting sends the same shape; `bot.sources.grafana`
renders it with `alert_messages` from here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import ClassVar
from urllib.parse import quote

from marshmallow import fields

from bot import markdown as md
from bot.auth import SharedSecret
from bot.message import AlertRef, Message, rank, severity_of
from bot.sources._monitoring import alert_ref, epoch
from bot.sources.base import Event, Lenient, Source, StrMap

MAX_ALERTS = 10
MAX_LABELS = 6


def _str_map():
    return StrMap(allow_none=True)


class AlertSchema(Lenient):
    status = fields.Str(required=True)
    labels = _str_map()
    annotations = _str_map()
    startsAt = fields.Str(allow_none=True)
    endsAt = fields.Str(allow_none=True)
    generatorURL = fields.Str(allow_none=True)
    fingerprint = fields.Str(allow_none=True)


class NotificationSchema(Lenient):
    version = fields.Str(allow_none=True)
    groupKey = fields.Str(allow_none=True)
    status = fields.Str(required=True)
    alerts = fields.List(fields.Nested(AlertSchema), required=True)
    groupLabels = _str_map()
    commonLabels = _str_map()
    commonAnnotations = _str_map()
    externalURL = fields.Str(allow_none=True)
    truncatedAlerts = fields.Int(allow_none=True)


def _is_resolved(alert: dict) -> bool:
    return alert.get("status") == "resolved"


def _group_name(p: dict, alerts: list[dict]) -> str:
    """The alert names in the group, followed by the other labels it is grouped by."""
    names = dict.fromkeys(n for a in alerts if (n := (a.get("labels") or {}).get("alertname")))
    shown = ", ".join(list(names)[:3]) + (" …" if len(names) > 3 else "")
    grouped = [f"{k}={v}" for k, v in sorted((p.get("groupLabels") or {}).items()) if k != "alertname"]
    title = (p.get("commonLabels") or {}).get("alertname") or shown or "alerts"
    return f"{title} — {', '.join(grouped)}" if grouped else title


def _truncated(p: dict) -> int:
    """`truncatedAlerts` as a count: marshmallow's Int also validates "3" and 3.0, which arrive as is."""
    try:
        return max(0, int(p.get("truncatedAlerts") or 0))
    except (TypeError, ValueError, OverflowError):
        return 0


def _label_codes(labels: dict) -> str:
    shown = [md.code(f"{k}={v}", 80) for k, v in sorted(labels.items()) if k != "alertname"]
    return " ".join(shown[:MAX_LABELS]) + (" …" if len(shown) > MAX_LABELS else "")


def links_to(pairs) -> list[str]:
    """Markdown links for the (label, url) pairs whose URL is usable; the others are left out."""
    return [md.link(label, url) for label, url in pairs if md.safe_url(url)]


def source_links(alert: dict) -> list[str]:
    """Links every alert may carry: the expression that fired it and its runbook."""
    runbook = (alert.get("annotations") or {}).get("runbook_url")
    return links_to([("source", alert.get("generatorURL")), ("runbook", runbook)])


def _alert_item(alert: dict, p: dict, show_name: bool, links: Callable[[dict], list[str]]) -> str:
    """One bullet: what the alert says, where it is, and where to look."""
    labels = alert.get("labels") or {}
    annotations = alert.get("annotations") or {}
    common_labels = p.get("commonLabels") or {}
    shared = set((p.get("commonAnnotations") or {}).values())
    # The first annotation not already shown for the whole group.
    text = next((v for k in ("summary", "description", "message") if (v := annotations.get(k)) and v not in shared), "")
    parts = [
        md.bold(labels.get("alertname"), 120) if show_name else "",
        md.inline(text, 250),
        _label_codes({k: v for k, v in labels.items() if common_labels.get(k) != v}),
        *links(alert),
    ]
    return " · ".join(part for part in parts if part) or md.code(alert.get("fingerprint") or "alert")


def silence_link(p: dict) -> str:
    """A link to Alertmanager's new-silence form, pre-filled with the group's common labels."""
    base = (p.get("externalURL") or "").rstrip("/")
    matchers = ",".join(f'{k}="{v}"' for k, v in sorted((p.get("commonLabels") or {}).items()))
    if not base or not matchers:
        return ""
    return md.link("Silence", f"{base}/#/silences/new?filter={quote('{' + matchers + '}', safe='')}")


def _fingerprint(alert: dict) -> str:
    return alert.get("fingerprint") or json.dumps(sorted((alert.get("labels") or {}).items()))


def group_ref(p: dict, alerts: list[dict], resolved: bool) -> AlertRef | None:
    """The group as one alert: it fires from its first alert's start and resolves when its last
    alert does. A resolved part of a group that still fires leaves the group firing, so it gets no
    identity. The firing alerts' fingerprints are the revision: a group gaining an alert is news,
    not a repeat."""
    if resolved and any(not _is_resolved(a) for a in p.get("alerts") or []):
        return None
    members = hashlib.sha256("|".join(sorted(map(_fingerprint, alerts))).encode()).hexdigest()
    starts = [t for a in alerts if (t := epoch(a.get("startsAt")))]
    ends = [t for a in alerts if (t := epoch(a.get("endsAt")))]
    return alert_ref(p.get("groupKey") or members, up=resolved, started_at=min(starts, default=None),
                     ended_at=max(ends, default=None), revision="" if resolved else members[:16])


def alert_messages(
    p: dict,
    links: Callable[[dict], list[str]] = source_links,
    firing_footer: Callable[[dict], str] = silence_link,
) -> list[Message]:
    """The firing and the resolved alerts of one notification, as two separate messages.

    `links(alert)` gives the links shown beside each alert; `firing_footer(p)` a last line that
    only makes sense while alerts fire (a silence link).
    """
    common = p.get("commonLabels") or {}
    common_text = [
        md.text(md.shorten(p["commonAnnotations"][k], 400))
        for k in ("summary", "description")
        if (p.get("commonAnnotations") or {}).get(k)
    ]
    common_labels = md.fields([("Labels", _label_codes(common))])
    # Without a shared alertname, each alert is named in its own line.
    show_names = not common.get("alertname")
    messages = []
    for resolved in (False, True):
        alerts = [a for a in p.get("alerts") or [] if _is_resolved(a) == resolved]
        if not alerts:
            continue
        status = "resolved" if resolved else "firing"
        total = len(alerts) + (_truncated(p) if p.get("status") == status else 0)
        items = [_alert_item(a, p, show_names, links) for a in alerts[:MAX_ALERTS]]
        body = [
            *common_text,
            common_labels,
            md.bullets(items, MAX_ALERTS, total),
            "" if resolved else firing_footer(p),
        ]
        severities = [severity_of((a.get("labels") or {}).get("severity"), "warning") for a in alerts]
        messages.append(
            Message(
                title=f"[{status.upper()}:{total}] {_group_name(p, alerts)}",
                url=p.get("externalURL"),
                severity="success" if resolved else min(severities, key=rank),
                body=[block for block in body if block],
                status=status,
                labels=dict(common),
                alert=group_ref(p, alerts, resolved),
            )
        )
    return messages


def notification_id(p: dict) -> str:
    """Same for a redelivery of one notification, different as soon as the alert set changes."""
    alerts = sorted(
        json.dumps(
            [a.get("fingerprint") or sorted((a.get("labels") or {}).items()), a.get("status"), a.get("startsAt")],
            sort_keys=True,
        )
        for a in p.get("alerts") or []
    )
    basis = json.dumps([p.get("groupKey"), p.get("status"), alerts])
    return hashlib.sha256(basis.encode()).hexdigest()


class Alertmanager(Source):
    name = "alertmanager"
    title = "Prometheus Alertmanager"
    setup = (
        "In alertmanager.yml add a receiver with webhook_configs: - url: https://<relay>/hooks/<route> "
        "and http_config: {authorization: {credentials: <secret>}}"
    )
    auth = SharedSecret()
    schema = NotificationSchema
    events: ClassVar[dict[str, Event]] = {"alert": Event(alert_messages)}
    # The id is derived from the content, so it is kept only as long as a body hash: Alertmanager
    # re-sends an unchanged group every repeat_interval on purpose, and those reminders must post.
    dedup_seconds_sender_id = Source.dedup_seconds_derived

    def detect_event(self, payload, headers):
        """Version 4 is the only webhook format Alertmanager has sent; a later one is not guessed at."""
        version = payload.get("version") or "4"
        return "alert" if version == "4" else f"alert version {version}"

    def payload_delivery_id(self, event, payload):
        return notification_id(payload)


SOURCE = Alertmanager()
