"""`sentry`: Sentry's integration-platform webhooks and its legacy WebHooks plugin.

An internal integration sends issue alerts (`event_alert`), metric alerts, new errors, issue state
changes (created, resolved, assigned, archived, unresolved) and issue comments, and names the kind
in the `Sentry-Hook-Resource` header. Deliveries relayed without that header are told apart by
their shape, as are the legacy plugin's unsigned posts (`project`, `culprit`, `url`, `event`).
Errors show their level, culprit and the last frames of the stack trace.
"""

from __future__ import annotations

from typing import ClassVar

from marshmallow import fields

from bot import markdown as md
from bot.auth import HmacSignature
from bot.message import Message, severity_of
from bot.sources._monitoring import alert_ref
from bot.sources.base import Event, Lenient, Source

MAX_FRAMES = 5
# Key under `data` -> resource name, for deliveries that come without the Sentry-Hook-Resource header.
RESOURCE_KEYS = {
    "event": "event_alert",
    "error": "error",
    "issue": "issue",
    "metric_alert": "metric_alert",
    "comment": "comment",
    "installation": "installation",
}
ISSUE_ACTIONS = {
    "created": "New issue",
    "unresolved": "Issue unresolved",
    "resolved": "Issue resolved",
    "assigned": "Issue assigned",
    "archived": "Issue archived",
    "ignored": "Issue ignored",
}
ISSUE_SEVERITY = {"resolved": "success", "assigned": "info", "archived": "info", "ignored": "info"}
ISSUE_STATUS = {"created": "firing", "unresolved": "firing", "resolved": "resolved"}
METRIC_ACTIONS = {
    "critical": ("critical", "firing"),
    "warning": ("warning", "firing"),
    "resolved": ("success", "resolved"),
}


class FrameSchema(Lenient):
    filename = fields.Str(allow_none=True)
    function = fields.Str(allow_none=True)
    lineno = fields.Int(allow_none=True)
    context_line = fields.Str(allow_none=True)
    in_app = fields.Bool(allow_none=True)


class StacktraceSchema(Lenient):
    frames = fields.List(fields.Nested(FrameSchema), allow_none=True)


class ExceptionValueSchema(Lenient):
    stacktrace = fields.Nested(StacktraceSchema, allow_none=True)


class ExceptionSchema(Lenient):
    values = fields.List(fields.Nested(ExceptionValueSchema), allow_none=True)


class EventSchema(Lenient):
    event_id = fields.Str(allow_none=True)
    title = fields.Str(allow_none=True)
    message = fields.Str(allow_none=True)
    level = fields.Str(allow_none=True)
    culprit = fields.Str(allow_none=True)
    transaction = fields.Str(allow_none=True)
    environment = fields.Str(allow_none=True)
    release = fields.Str(allow_none=True)
    platform = fields.Str(allow_none=True)
    web_url = fields.Str(allow_none=True)
    exception = fields.Nested(ExceptionSchema, allow_none=True)
    stacktrace = fields.Nested(StacktraceSchema, allow_none=True)


class ActorSchema(Lenient):
    type = fields.Str(allow_none=True)
    name = fields.Str(allow_none=True)


class EventAlertDataSchema(Lenient):
    event = fields.Nested(EventSchema, required=True)
    triggered_rule = fields.Str(allow_none=True)


class EventAlertSchema(Lenient):
    data = fields.Nested(EventAlertDataSchema, required=True)


class ErrorDataSchema(Lenient):
    error = fields.Nested(EventSchema, required=True)


class ErrorSchema(Lenient):
    data = fields.Nested(ErrorDataSchema, required=True)


class ProjectSchema(Lenient):
    name = fields.Str(allow_none=True)
    slug = fields.Str(allow_none=True)


class IssueSchema(Lenient):
    title = fields.Str(required=True)
    shortId = fields.Str(allow_none=True)
    level = fields.Str(allow_none=True)
    culprit = fields.Str(allow_none=True)
    web_url = fields.Str(allow_none=True)
    permalink = fields.Str(allow_none=True)
    project = fields.Nested(ProjectSchema, allow_none=True)
    assignedTo = fields.Nested(ActorSchema, allow_none=True)


class IssueDataSchema(Lenient):
    issue = fields.Nested(IssueSchema, required=True)
    assignee = fields.Nested(ActorSchema, allow_none=True)


class IssueEventSchema(Lenient):
    action = fields.Str(required=True)
    actor = fields.Nested(ActorSchema, allow_none=True)
    data = fields.Nested(IssueDataSchema, required=True)


class AlertRuleSchema(Lenient):
    name = fields.Str(allow_none=True)
    projects = fields.List(fields.Str(), allow_none=True)


class MetricAlertSchema(Lenient):
    alert_rule = fields.Nested(AlertRuleSchema, allow_none=True)


class MetricDataSchema(Lenient):
    description_title = fields.Str(allow_none=True)
    description_text = fields.Str(allow_none=True)
    web_url = fields.Str(allow_none=True)
    metric_alert = fields.Nested(MetricAlertSchema, allow_none=True)


class MetricEventSchema(Lenient):
    action = fields.Str(required=True)
    data = fields.Nested(MetricDataSchema, required=True)


class CommentDataSchema(Lenient):
    comment = fields.Str(required=True)
    project_slug = fields.Str(allow_none=True)
    issue_id = fields.Int(allow_none=True, strict=False)


class CommentEventSchema(Lenient):
    action = fields.Str(required=True)
    actor = fields.Nested(ActorSchema, allow_none=True)
    data = fields.Nested(CommentDataSchema, required=True)


class PluginSchema(Lenient):
    url = fields.Str(required=True)
    message = fields.Str(allow_none=True)
    project = fields.Str(allow_none=True)
    project_name = fields.Str(allow_none=True)
    culprit = fields.Str(allow_none=True)
    level = fields.Str(allow_none=True)
    event = fields.Nested(EventSchema, allow_none=True)


def _stack_trace(event: dict) -> str:
    """The last frames of the crashing thread (in-app ones when there are any), oldest first."""
    values = (event.get("exception") or {}).get("values") or []
    traces = [v.get("stacktrace") for v in reversed(values)] + [event.get("stacktrace")]
    frames = next((f for t in traces if (f := (t or {}).get("frames"))), [])
    frames = [f for f in frames if f.get("in_app")] or frames
    lines = []
    for frame in frames[-MAX_FRAMES:]:
        where = f"{frame.get('filename') or '?'}:{frame.get('lineno') or '?'}"
        lines.append(f"{where} in {frame['function']}" if frame.get("function") else where)
        if (frame.get("context_line") or "").strip():
            lines.append("    " + frame["context_line"].strip())
    return md.fenced("\n".join(lines), event.get("platform") or "", 1500) if lines else ""


def _event_fields(event: dict, extra=()) -> str:
    where = ("Transaction", "transaction") if event.get("transaction") else ("Culprit", "culprit")
    return md.fields(
        [
            ("Level", md.inline(event.get("level"), 20)),
            *extra,
            (where[0], md.code(event.get(where[1]), 150)),
            ("Environment", md.code(event.get("environment"), 60)),
            ("Release", md.code(event.get("release"), 60)),
        ]
    )


def _event_message(event: dict, url, extra=()) -> Message:
    return Message(
        title=event.get("title") or md.first_line(event.get("message")) or "Sentry event",
        url=url,
        severity=severity_of(event.get("level"), "error"),
        body=[block for block in (_event_fields(event, extra), _stack_trace(event)) if block],
        status="firing",
    )


def format_event_alert(p: dict) -> Message:
    data = p["data"]
    rule = ("Alert rule", md.inline(data.get("triggered_rule"), 120))
    return _event_message(data["event"], data["event"].get("web_url"), [rule])


def format_error(p: dict) -> Message:
    error = p["data"]["error"]
    return _event_message(error, error.get("web_url"))


def _who(person: dict | None) -> str:
    if not person or not person.get("name"):
        return ""
    prefix = "team " if person.get("type") == "team" else ""
    return md.inline(prefix + person["name"], 120)


def format_issue(p: dict) -> Message:
    action = p["action"]
    data = p["data"]
    issue = data["issue"]
    level = issue.get("level")
    actor = p.get("actor") or {}
    by = _who(actor) if actor.get("type") == "user" else ""
    # Level and culprit matter when an issue (re)appears, not when someone triages it.
    news = action in ("created", "unresolved")
    body = md.fields(
        [
            ("Assigned to", _who(issue.get("assignedTo") or data.get("assignee")) if action == "assigned" else ""),
            ("By", by),
            ("Issue", md.code(issue.get("shortId"), 80)),
            ("Project", md.inline((issue.get("project") or {}).get("name"), 120)),
            ("Level", md.inline(level, 20) if news else ""),
            ("Culprit", md.code(issue.get("culprit"), 150) if news else ""),
        ]
    )
    return Message(
        title=f"{ISSUE_ACTIONS.get(action, 'Issue ' + action)}: {issue['title']}",
        url=issue.get("web_url") or issue.get("permalink"),
        severity=ISSUE_SEVERITY.get(action) or severity_of(level, "error"),
        body=[body] if body else [],
        status=ISSUE_STATUS.get(action),
        alert=alert_ref(issue.get("id"), up=action == "resolved") if action in ISSUE_STATUS else None,
    )


def format_metric_alert(p: dict) -> Message:
    data = p["data"]
    rule = (data.get("metric_alert") or {}).get("alert_rule") or {}
    severity, status = METRIC_ACTIONS.get(p["action"], ("warning", "firing"))
    fields_block = md.fields(
        [
            ("Alert rule", md.inline(rule.get("name"), 120)),
            ("Projects", ", ".join(md.code(x, 60) for x in (rule.get("projects") or [])[:5])),
        ]
    )
    # Sentry sends the line break inside description_text as a literal backslash-n.
    description = (data.get("description_text") or "").replace("\\n", "\n")
    body = [md.text(description.strip(), 800), fields_block]
    return Message(
        title=data.get("description_title") or rule.get("name") or f"Metric alert {p['action']}",
        url=data.get("web_url"),
        severity=severity,
        body=[block for block in body if block],
        status=status,
        # A warning turning critical is news, not a repeat: the action is the revision.
        alert=alert_ref((data.get("metric_alert") or {}).get("id"), up=status == "resolved", revision=p["action"]),
    )


def format_comment(p: dict) -> Message:
    data = p["data"]
    who = (p.get("actor") or {}).get("name") or "Someone"
    verb = "edited a comment" if p["action"] == "updated" else "commented"
    where = f"issue {data['issue_id']}" if data.get("issue_id") is not None else "an issue"
    project = f" in {data['project_slug']}" if data.get("project_slug") else ""
    return Message(title=f"{who} {verb} on {where}{project}", body=[md.quote(data["comment"])])


def _event_url(issue_url: str, event_id) -> str:
    """The legacy plugin links the issue; the event's own page is below it."""
    base = issue_url.split("?")[0].rstrip("/")
    if event_id and "/issues/" in base and str(event_id).isalnum():
        return f"{base}/events/{event_id}/"
    return issue_url


def format_plugin(p: dict) -> Message:
    event = p.get("event") or {}
    project = ("Project", md.inline(p.get("project_name") or p.get("project"), 120))
    merged = {
        **event,
        "title": event.get("title") or p.get("message"),
        "level": p.get("level") or event.get("level"),
        "culprit": p.get("culprit") or event.get("culprit"),
    }
    return _event_message(merged, _event_url(p["url"], event.get("event_id")), [project])


class Sentry(Source):
    name = "sentry"
    title = "Sentry"
    setup = (
        "Sentry → Settings → Developer Settings → Custom Integration: Webhook URL https://<relay>/hooks/<route>, "
        "subscribe to issue/error/comment and enable Alert Rule Action; use its Client Secret as the route secret"
    )
    auth = HmacSignature("Sentry-Hook-Signature", timestamp_header="Sentry-Hook-Timestamp")
    event_header = "Sentry-Hook-Resource"
    delivery_headers = ("Request-ID",)
    events: ClassVar[dict[str, Event]] = {
        "event_alert": Event(format_event_alert, EventAlertSchema),
        "error": Event(format_error, ErrorSchema),
        "issue": Event(format_issue, IssueEventSchema),
        "metric_alert": Event(format_metric_alert, MetricEventSchema),
        "comment": Event(format_comment, CommentEventSchema),
        "plugin": Event(format_plugin, PluginSchema),
    }
    ignored: ClassVar[dict[str, str]] = {"installation": "installation events produce no message"}

    def detect_event(self, payload, headers):
        named = super().detect_event(payload, headers)
        if named or not isinstance(payload, dict):
            return named
        data = payload.get("data")
        if isinstance(data, dict):
            return next((event for key, event in RESOURCE_KEYS.items() if key in data), None)
        if "url" in payload and ("project" in payload or "project_name" in payload):
            return "plugin"
        return None

    def ignore_reason(self, event, payload):
        if event == "comment" and payload["action"] == "deleted":
            return "deleted comments produce no message"
        return None


SOURCE = Sentry()
