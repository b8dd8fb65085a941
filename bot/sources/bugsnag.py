"""`bugsnag`: BugSnag's (Insight Hub's) per-project webhook integration.

Documented at https://docs.bugsnag.com/product/integrations/webhook/: each notification is one
JSON POST with `account` and `project` (`id`, `name`, `url`), the `trigger` that fired it (`type`,
a `message` describing it, `rate` for a spike, `stateChange` for a collaborator's change) and,
for error triggers, the `error`: the event's `id`, the error's `errorId`, `exceptionClass`,
`message`, `context`, `releaseStage`, `appVersion`, `requestUrl`, `firstReceived`, `receivedAt`,
`severity` (error, warning, info), `url` (the event's page) and `stackTrace` frames (`file`,
`lineNumber`, `method`, `inProject`, `code` by line number). A comment adds `comment` and the
commenting `user`.

The trigger type is the event. Errors are alerts keyed by the error's `errorId`: a new error, a
milestone (`powerTen`), a frequency rule, every occurrence and an automatic reopening fire with
the error's severity; a collaborator marking it fixed resolves it and reopening it fires it again.
A milestone, a frequency notice and each occurrence are news about the firing error (its
revision), not repeats. Other manual state changes (snoozed, ignored…) and comments are shown
without touching the alert. Project spikes and rate limiting are project-level warnings. The
`release` trigger's payload is not documented, so it is not supported.

BugSnag does not sign webhooks or add a secret header, so the route secret goes in the URL
(`?token=`). It sends no delivery id: event-driven triggers are recognised by the trigger type and
the event id, anything else by a body hash.
"""

from __future__ import annotations

from typing import ClassVar

from marshmallow import fields

from bot import markdown as md
from bot.message import Message, severity_of
from bot.sources._monitoring import alert_ref
from bot.sources.base import Event, Lenient, Source

MAX_FRAMES = 5
# Error triggers that report the error (still) happening -> how the title says it.
ERROR_TRIGGERS = {
    "firstException": "New error",
    "powerTen": "Error milestone",
    "errorEventFrequency": "Frequent error",
    "exception": "Error occurred",
    "reopened": "Error reopened",
}
# A collaborator's stateChange -> (how the title says it, alert status it implies or None).
STATE_CHANGES = {
    "fixed": ("Error marked as fixed", "resolved"),
    "reopened": ("Error reopened", "firing"),
    "snoozed": ("Error snoozed", None),
    "snoozeCancelled": ("Error snooze cancelled", None),
    "ignored": ("Error ignored", None),
    "unignored": ("Error no longer ignored", None),
}
PROJECT_TRIGGERS = {
    "projectSpiking": "is spiking",
    "projectSamplingStarted": "is being rate-limited",
    "projectApproachingRateLimit": "is close to being rate-limited",
}


class NamedSchema(Lenient):
    id = fields.Raw(allow_none=True)
    name = fields.Str(allow_none=True)
    url = fields.Str(allow_none=True)


class TriggerSchema(Lenient):
    type = fields.Str(required=True)
    message = fields.Str(allow_none=True)
    rate = fields.Raw(allow_none=True)
    stateChange = fields.Str(allow_none=True)


class FrameSchema(Lenient):
    file = fields.Str(allow_none=True)
    lineNumber = fields.Raw(allow_none=True)
    method = fields.Str(allow_none=True)
    inProject = fields.Bool(allow_none=True)
    code = fields.Dict(allow_none=True)


class ErrorSchema(Lenient):
    id = fields.Raw(allow_none=True)
    errorId = fields.Raw(required=True)
    exceptionClass = fields.Str(allow_none=True)
    message = fields.Str(allow_none=True)
    context = fields.Str(allow_none=True)
    releaseStage = fields.Str(allow_none=True)
    appVersion = fields.Str(allow_none=True)
    requestUrl = fields.Str(allow_none=True)
    severity = fields.Str(allow_none=True)
    url = fields.Str(allow_none=True)
    firstReceived = fields.Str(allow_none=True)
    receivedAt = fields.Str(allow_none=True)
    stackTrace = fields.List(fields.Nested(FrameSchema), allow_none=True)


class CommentSchema(Lenient):
    id = fields.Raw(allow_none=True)
    message = fields.Str(allow_none=True)


class BugsnagSchema(Lenient):
    account = fields.Nested(NamedSchema, allow_none=True)
    project = fields.Nested(NamedSchema, required=True)
    trigger = fields.Nested(TriggerSchema, required=True)


class ErrorEventSchema(BugsnagSchema):
    error = fields.Nested(ErrorSchema, required=True)
    comment = fields.Nested(CommentSchema, allow_none=True)
    user = fields.Nested(NamedSchema, allow_none=True)


def _error_name(error: dict) -> str:
    """ "Class: message", or whichever of the two there is."""
    kind = (error.get("exceptionClass") or "").strip()
    message = md.first_line(error.get("message"), 200)
    return f"{kind}: {message}" if kind and message else kind or message or "an error"


def _project(p: dict) -> str:
    project = p["project"]
    return md.link(project["name"], project.get("url"), 120) if project.get("name") else ""


def _stack_trace(error: dict) -> str:
    """The first frames of the trace (in-project ones when there are any), innermost first."""
    frames = [f for f in error.get("stackTrace") or [] if f]
    frames = [f for f in frames if f.get("inProject")] or frames
    lines = []
    for frame in frames[:MAX_FRAMES]:
        where = f"{frame.get('file') or '?'}:{frame.get('lineNumber') or '?'}"
        lines.append(f"{where} in {frame['method']}" if frame.get("method") else where)
        code = (frame.get("code") or {}).get(str(frame.get("lineNumber")))
        if isinstance(code, str) and code.strip():
            lines.append("    " + code.strip())
    return md.fenced("\n".join(lines), limit=1500) if lines else ""


def _error_fields(p: dict, extra=()) -> str:
    error = p["error"]
    request = error.get("requestUrl")
    return md.fields(
        [
            ("Project", _project(p)),
            *extra,
            ("Release stage", md.code(error.get("releaseStage"), 60)),
            ("App version", md.code(error.get("appVersion"), 60)),
            ("Context", md.code(error.get("context"), 150)),
            ("Request", md.link(request, request) if md.safe_url(request) else ""),
        ]
    )


def format_error(p: dict) -> Message:
    trigger, error = p["trigger"], p["error"]
    kind = trigger["type"]
    # A milestone, a frequency notice and each occurrence are news about the firing error.
    revision = {
        "powerTen": trigger.get("message") or "",
        "errorEventFrequency": trigger.get("message") or "",
        "exception": str(error.get("id") or ""),
    }.get(kind, "")
    # A reopened error fires again from the event that reopened it, not from when it first appeared.
    started = error.get("receivedAt") if kind == "reopened" else error.get("firstReceived")
    counted = kind in ("powerTen", "errorEventFrequency")
    note = ("Trigger", md.inline(trigger.get("message"), 200) if counted else "")
    return Message(
        title=f"{ERROR_TRIGGERS[kind]}: {_error_name(error)}",
        url=error.get("url"),
        severity=severity_of(error.get("severity"), "error"),
        status="firing",
        body=[block for block in (_error_fields(p, [note]), _stack_trace(error)) if block],
        alert=alert_ref(error.get("errorId"), up=False, started_at=started, revision=revision),
    )


def format_state_change(p: dict) -> Message:
    trigger, error = p["trigger"], p["error"]
    change = trigger.get("stateChange") or ""
    what, status = STATE_CHANGES.get(change, (f"Error state changed to {change or 'unknown'}", None))
    by = (p.get("user") or {}).get("name")
    severity = {"resolved": "success", "firing": severity_of(error.get("severity"), "error")}.get(status, "info")
    return Message(
        title=f"{what}: {_error_name(error)}",
        url=error.get("url"),
        severity=severity,
        status=status,
        body=[md.fields([("By", md.inline(by, 120)), ("Project", _project(p)),
                         ("Release stage", md.code(error.get("releaseStage"), 60))])],
        alert=alert_ref(error.get("errorId"), up=status == "resolved") if status else None,
    )


def format_comment(p: dict) -> Message:
    error = p["error"]
    who = (p.get("user") or {}).get("name") or "Someone"
    text = (p.get("comment") or {}).get("message")
    return Message(
        title=f"{who} commented on {_error_name(error)}",
        url=error.get("url"),
        severity="info",
        body=[block for block in (md.quote(text) if text else "", md.fields([("Project", _project(p))])) if block],
    )


def format_project(p: dict) -> Message:
    project, trigger = p["project"], p["trigger"]
    rate = trigger.get("rate")
    return Message(
        title=f"{project.get('name') or 'BugSnag project'} {PROJECT_TRIGGERS[trigger['type']]}",
        url=project.get("url"),
        severity="warning",
        body=[md.fields([
            ("Trigger", md.inline(trigger.get("message"), 200)),
            ("Events", md.inline(rate, 20) if rate is not None else ""),
        ])],
    )


class Bugsnag(Source):
    name = "bugsnag"
    title = "BugSnag"
    setup = (
        "Project settings → Data forwarding → Webhook: "
        "URL https://<relay>/hooks/<route>?token=<secret>, then pick the notification triggers"
    )
    schema = BugsnagSchema
    events: ClassVar[dict[str, Event]] = {
        **{kind: Event(format_error, ErrorEventSchema) for kind in ERROR_TRIGGERS},
        "errorStateManualChange": Event(format_state_change, ErrorEventSchema),
        "comment": Event(format_comment, ErrorEventSchema),
        **{kind: Event(format_project) for kind in PROJECT_TRIGGERS},
    }

    def detect_event(self, payload, headers):
        return payload["trigger"]["type"].strip() or None

    def payload_delivery_id(self, event, payload):
        # Several triggers can fire for one event (firstException and exception), hence the type.
        if event in ("firstException", "exception", "reopened"):
            event_id = str((payload.get("error") or {}).get("id") or "")
            return f"{event}:{event_id[:80]}" if event_id else None
        if event == "comment":
            comment_id = str((payload.get("comment") or {}).get("id") or "")
            return f"comment:{comment_id[:80]}" if comment_id else None
        return None


SOURCE = Bugsnag()
