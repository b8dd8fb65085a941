"""`spinnaker`: Spinnaker pipeline and stage events from Echo's REST event listener.

Docs: https://spinnaker.io/docs/setup/other_config/features/notifications/ (notifications) and
https://spinnaker.io/docs/setup/other_config/monitoring/ ("Echo … forwards events to REST
endpoints": `echo.rest.endpoints` in `echo-local.yml`).

Echo posts every event it sees as `{"details": {"type": "orca:pipeline:complete", "application",
"source", "created"}, "content": {"execution": {...}, "context": {...}}, "eventId"}`, or wrapped as
`{"eventName": …, "payload": <event>}` when the endpoint sets `wrap: true`; both are accepted. The
event is `details.type`. Pipeline events carry the execution (name, status, trigger with the
commit and branch, who started it, its stages); stage events add the stage's `stageDetails`. Task
events are known and ignored: a pipeline runs dozens of tasks, and its stages say the same.

Echo's events carry no link to Deck (Spinnaker's UI); a failed pipeline lists its failed stages
and their error instead, and a trigger from a build links that build. Echo cannot sign: configure
the endpoint with `username`/`password` (Basic auth, password = the route's secret) or a header
`Authorization: Bearer <secret>`. Redeliveries are recognised by `eventId`.
"""

from __future__ import annotations

from typing import ClassVar

from marshmallow import fields

from bot import markdown as md
from bot.message import Message
from bot.sources._ci import build_message, codes, commit_url
from bot.sources.base import Event, Lenient, Source

# Event -> (severity, verb); a completed execution's own status can still say it was canceled.
RESULTS = {
    "orca:pipeline:starting": ("info", "started"),
    "orca:pipeline:complete": ("success", "succeeded"),
    "orca:pipeline:failed": ("error", "failed"),
    "orca:stage:starting": ("info", "started"),
    "orca:stage:complete": ("success", "succeeded"),
    "orca:stage:failed": ("error", "failed"),
}
CANCELED = {"CANCELED", "STOPPED"}
TASKS = "a pipeline's tasks are reported by its stages and the pipeline itself"
MAX_ERRORS = 3


class DetailsSchema(Lenient):
    type = fields.Str(required=True)
    application = fields.Str(allow_none=True)


class EchoEventSchema(Lenient):
    details = fields.Nested(DetailsSchema, required=True)
    content = fields.Dict(allow_none=True)
    eventId = fields.Str(allow_none=True)


class BuildInfoSchema(Lenient):
    url = fields.Str(allow_none=True)


class TriggerSchema(Lenient):
    type = fields.Str(allow_none=True)
    user = fields.Str(allow_none=True)
    hash = fields.Str(allow_none=True)
    branch = fields.Str(allow_none=True)
    project = fields.Str(allow_none=True)
    slug = fields.Str(allow_none=True)
    source = fields.Str(allow_none=True)
    buildInfo = fields.Nested(BuildInfoSchema, allow_none=True)


class StageSchema(Lenient):
    name = fields.Str(allow_none=True)
    status = fields.Str(allow_none=True)
    context = fields.Dict(allow_none=True)


class ExecutionSchema(Lenient):
    id = fields.Str(allow_none=True)
    name = fields.Str(allow_none=True)
    application = fields.Str(allow_none=True)
    status = fields.Str(allow_none=True)
    trigger = fields.Nested(TriggerSchema, allow_none=True)
    authentication = fields.Dict(allow_none=True)
    stages = fields.List(fields.Nested(StageSchema), allow_none=True)


class StageDetailsSchema(Lenient):
    name = fields.Str(allow_none=True)
    type = fields.Str(allow_none=True)


class StageContextSchema(Lenient):
    stageDetails = fields.Nested(StageDetailsSchema, allow_none=True)


class ContentSchema(Lenient):
    execution = fields.Nested(ExecutionSchema, required=True)
    context = fields.Nested(StageContextSchema, allow_none=True)


class ExecutionEventSchema(EchoEventSchema):
    content = fields.Nested(ContentSchema, required=True)


def unwrap(payload):
    """The event itself, whether Echo posted it bare or wrapped (`wrap: true`)."""
    if isinstance(payload, dict) and "details" not in payload and isinstance(payload.get("payload"), dict):
        return payload["payload"]
    return payload


def _errors(stage: dict) -> list[str]:
    """The error texts Orca keeps in a failed stage's context."""
    exception = (stage.get("context") or {}).get("exception") or {}
    details = exception.get("details") if isinstance(exception, dict) else None
    errors = (details or {}).get("errors") if isinstance(details, dict) else None
    if isinstance(errors, list):
        return [str(e) for e in errors if isinstance(e, (str, int, float))]
    error = (details or {}).get("error") if isinstance(details, dict) else None
    return [str(error)] if isinstance(error, str) else []


def format_execution(event: str, p: dict) -> Message:
    content = p["content"]
    execution = content["execution"]
    trigger = execution.get("trigger") or {}
    application = p["details"].get("application") or execution.get("application") or "spinnaker"
    pipeline = execution.get("name") or "pipeline"
    severity, verb = RESULTS[event]
    if event.startswith("orca:pipeline") and (execution.get("status") or "").upper() in CANCELED:
        severity, verb = "warning", "was canceled"
    what = f"{application} {pipeline}"
    if event.startswith("orca:stage"):
        stage = ((content.get("context") or {}).get("stageDetails") or {}).get("name") or "stage"
        what = f"{what} stage {stage}"
    failed = [s for s in execution.get("stages") or [] if (s.get("status") or "").upper() == "TERMINAL"]
    errors = [e for s in failed for e in _errors(s)]
    repo = f"{trigger['project']}/{trigger['slug']}" if trigger.get("project") and trigger.get("slug") else None
    by = (execution.get("authentication") or {}).get("user") or trigger.get("user")
    build = (trigger.get("buildInfo") or {}).get("url")
    # Git triggers name the repository but not its host; only GitHub's is known from `source`.
    github = repo and (trigger.get("source") or "").lower() == "github"
    return build_message(
        what=what,
        result=(severity, verb),
        url=build if md.safe_url(build) else None,
        branch=trigger.get("branch"),
        sha=trigger.get("hash"),
        sha_url=commit_url(f"https://github.com/{repo}", trigger.get("hash")) if github else None,
        by=by if by and by != "anonymous" else None,
        extra=[
            ("Trigger", md.inline(trigger.get("type"), 40)),
            ("Failed stages", codes([s.get("name") for s in failed]) if severity == "error" else ""),
            ("Execution", md.code(execution.get("id"), 60)),
        ],
        blocks=[md.bullets([md.inline(e, 300) for e in errors[:MAX_ERRORS]], MAX_ERRORS, len(errors))]
        if errors and severity == "error" else [],
        repo=repo or application,
    )


def _formatter(event: str):
    return lambda p: format_execution(event, p)


class Spinnaker(Source):
    name = "spinnaker"
    title = "Spinnaker"
    setup = (
        "echo-local.yml: rest.enabled: true, rest.endpoints: [{url: https://<relay>/hooks/<route>, username: relay, "
        "password: <secret>}] (or headers Authorization: Bearer <secret>)"
    )
    schema = EchoEventSchema
    events: ClassVar[dict[str, Event]] = {event: Event(_formatter(event), ExecutionEventSchema) for event in RESULTS}
    ignored: ClassVar[dict[str, str]] = {f"orca:task:{state}": TASKS for state in ("starting", "complete", "failed")}

    def parse_body(self, body, content_type):
        return unwrap(super().parse_body(body, content_type))

    def detect_event(self, payload, headers):
        return payload["details"]["type"].strip() or None

    def branch(self, event, payload):
        return ((payload["content"]["execution"].get("trigger")) or {}).get("branch")

    def payload_delivery_id(self, event, payload):
        event_id = payload.get("eventId")
        return event_id[:150] if isinstance(event_id, str) and event_id else None


SOURCE = Spinnaker()
