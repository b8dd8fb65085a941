"""`datadog`: Datadog monitor notifications through the Webhooks integration.

Datadog posts whatever JSON the webhook's payload template says, filling in its `$VARIABLES`. Its
default template (`id`, `title`, `body`, `date`, `last_updated`, `event_type`, `org`) is accepted;
the recommended one (`RECOMMENDED_PAYLOAD`, also shown in the setup line) adds the facts a chat
message needs:

    {"id": "$ID", "title": "$EVENT_TITLE", "body": "$EVENT_MSG", "alert_transition": "$ALERT_TRANSITION",
     "priority": "$ALERT_PRIORITY", "alert_type": "$ALERT_TYPE", "alert_status": "$ALERT_STATUS",
     "alert_query": "$ALERT_QUERY", "link": "$LINK", "hostname": "$HOSTNAME", "tags": "$TAGS",
     "date": "$DATE", "event_type": "$EVENT_TYPE", "aggreg_key": "$AGGREG_KEY", "alert_id": "$ALERT_ID",
     "alert_scope": "$ALERT_SCOPE", "org": {"id": "$ORG_ID", "name": "$ORG_NAME"}}

`priority` takes `$ALERT_PRIORITY` (P1…P5, the monitor's priority), not `$PRIORITY` (the event's
normal/low).

The transition (Triggered, Re-Triggered, Warn, No Data, Recovered…) comes from `alert_transition`,
or from the `[Triggered]`-style prefix Datadog puts in the title when the template lacks it.
Triggered and warning transitions fire an alert, Recovered resolves it; a notification that is not
about a monitor (no transition at all) is posted as info.

The alert is the monitor (`$ALERT_ID`) in the scope that triggered it (`$ALERT_SCOPE`, one group of a
multi-alert monitor); payloads made from the earlier recommended template name it by `$AGGREG_KEY`,
and Datadog's default payload not at all. `$DATE` of a first Triggered (or Warn, No Data) notification
is when the alert started, and that of the Recovered one when it ended. A Re- transition is a repeat
(Datadog's renotification); a move between Warn, Triggered and No Data is a change, posted in full.
"""

import re
from typing import ClassVar

from marshmallow import fields

from bot import markdown as md
from bot.message import Message, severity_of
from bot.sources._monitoring import alert, joined, target
from bot.sources.base import Event, Lenient, Source

RECOMMENDED_PAYLOAD = (
    '{"id": "$ID", "title": "$EVENT_TITLE", "body": "$EVENT_MSG", "alert_transition": "$ALERT_TRANSITION", '
    '"priority": "$ALERT_PRIORITY", "alert_type": "$ALERT_TYPE", "alert_status": "$ALERT_STATUS", '
    '"alert_query": "$ALERT_QUERY", "link": "$LINK", "hostname": "$HOSTNAME", "tags": "$TAGS", '
    '"date": "$DATE", "event_type": "$EVENT_TYPE", "aggreg_key": "$AGGREG_KEY", "alert_id": "$ALERT_ID", '
    '"alert_scope": "$ALERT_SCOPE", "org": {"id": "$ORG_ID", "name": "$ORG_NAME"}}'
)
WARNING_TRANSITIONS = {"warn", "re-warn", "no data", "re-no data"}
FIRING_TRANSITIONS = {"triggered", "re-triggered", *WARNING_TRANSITIONS}
# "[Triggered on {host:web-1}] CPU high", possibly after a "[P1] " priority prefix.
_TITLE_TRANSITION = re.compile(r"\[([A-Za-z -]+?)(?: on [^\]]*)?\]")
_PRIORITY = re.compile(r"^P[1-5]$", re.IGNORECASE)
_MONITOR_LINK = re.compile(r"\((https://[^\s()]+/monitors/[^\s()]*)\)")
# Notification handles (@webhook-relay, @slack-ops, @someone@example.com) only say who else was told.
_HANDLE = re.compile(r"(?<!\S)@\S+")
_IMAGE_LINE = re.compile(r"^\s*\[?!\[.*$")


class NotificationSchema(Lenient):
    title = fields.Str(required=True)
    id = fields.Raw(allow_none=True)
    body = fields.Str(allow_none=True)
    alert_transition = fields.Str(allow_none=True)
    alert_type = fields.Str(allow_none=True)
    priority = fields.Str(allow_none=True)
    alert_status = fields.Str(allow_none=True)
    alert_query = fields.Str(allow_none=True)
    link = fields.Str(allow_none=True)
    hostname = fields.Str(allow_none=True)
    tags = fields.Str(allow_none=True)
    aggreg_key = fields.Str(allow_none=True)
    alert_id = fields.Raw(allow_none=True)
    alert_scope = fields.Str(allow_none=True)
    date = fields.Raw(allow_none=True)


def transition(p: dict) -> str:
    """The alert transition, lower-cased; "" for notifications that are not about a monitor."""
    if p.get("alert_transition"):
        return p["alert_transition"].strip().lower()
    for word in _TITLE_TRANSITION.findall(p["title"]):
        if word.lower() in FIRING_TRANSITIONS | {"recovered"}:
            return word.lower()
    return ""


def _message_text(body: str, status: str) -> str:
    """The monitor's own message out of `$EVENT_MSG`: without Datadog's `%%%` fences, graph images,
    link footer, notification handles, bold markers and the status line shown on its own."""
    text = body.replace("%%%", "").split("\n- - -")[0].replace("**", "")
    # Computed once (per line, a long status made this quadratic). Without a status every blank line
    # would equal it, and the paragraphs would run together.
    status_line = status.strip()
    lines = [
        _HANDLE.sub("", line).rstrip()
        for line in text.splitlines()
        if not _IMAGE_LINE.match(line) and not (status_line and line.strip() == status_line)
    ]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _link(p: dict) -> str | None:
    """The monitor's page (linked from the message footer), else the event's `$LINK`."""
    found = _MONITOR_LINK.search(p.get("body") or "")
    return found.group(1) if found else p.get("link")


def _severity(p: dict, moved_to: str) -> str:
    priority = (p.get("priority") or "").strip()
    if _PRIORITY.match(priority):
        return severity_of(priority)
    if moved_to in WARNING_TRANSITIONS:
        return "warning"
    return severity_of(p.get("alert_type"), "error")


def alert_key(p: dict) -> str | None:
    """The monitor and the scope it triggered in ("4810233:device:/dev/root,host:web-3", tags sorted so
    their order does not split one alert in two); the aggregation key when the payload has no monitor id."""
    monitor = str(p.get("alert_id") or "").strip()
    if not monitor:
        return p.get("aggreg_key")
    scope = sorted({tag.strip() for tag in (p.get("alert_scope") or "").split(",") if tag.strip()})
    return ":".join([monitor, ",".join(scope)]) if scope else monitor


def format_notification(p: dict) -> Message:
    moved_to = transition(p)
    tags = [md.code(tag.strip(), 80) for tag in (p.get("tags") or "").split(",") if tag.strip()]
    text = _message_text(p.get("body") or "", p.get("alert_status") or "")
    info = [
        ("Host", target(p.get("hostname") or "")),
        ("Status", md.inline(p.get("alert_status"))),
        ("Query", md.code(p.get("alert_query") or "", 300)),
        ("Tags", joined(tags)),
    ]
    details = [md.quote(text, 600, max_lines=8)] if text else []
    if not moved_to:
        return Message(title=p["title"], url=_link(p), body=[md.fields(info), *details])
    up = moved_to not in FIRING_TRANSITIONS
    state = moved_to.removeprefix("re-")
    return alert(
        p["title"],
        up=up,
        url=_link(p),
        severity=_severity(p, moved_to),
        fields=info,
        details=details,
        # $ID is per notification; the monitor and scope are the same for an alert and its recovery.
        key=alert_key(p),
        started_at=p.get("date") if moved_to == state and not up else None,
        ended_at=p.get("date"),
        revision="" if up else state,
    )


class Datadog(Source):
    name = "datadog"
    title = "Datadog"
    setup = (
        "Integrations → Webhooks → New: URL https://<relay>/hooks/<route>, custom headers "
        '{"Authorization": "Bearer <secret>"}, payload ' + RECOMMENDED_PAYLOAD + " (Datadog's default payload "
        "works too, with fewer details); then mention @webhook-<name> in each monitor's message"
    )
    schema = NotificationSchema
    events: ClassVar[dict[str, Event]] = {
        "alert": Event(format_notification),
        "recovery": Event(format_notification),
        "event": Event(format_notification),
    }

    def detect_event(self, payload, headers):
        moved_to = transition(payload)
        if not moved_to:
            return "event"
        return "alert" if moved_to in FIRING_TRANSITIONS else "recovery" if moved_to == "recovered" else moved_to

    def payload_delivery_id(self, event, payload):
        value = str(payload.get("id") or "").strip()
        return value[:200] or None


SOURCE = Datadog()
