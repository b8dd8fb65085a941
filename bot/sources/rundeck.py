"""Rundeck job notifications (the "Send Webhook" notification of a job, payload format JSON).

Rundeck posts `{"trigger": ..., "status": ..., "executionId": ..., "execution": {...}}` for the job
triggers it was added to: start, success, failure, average duration exceeded and retryable failure.
The execution carries its page, the job (name, group, permalink), the project, the user who ran it
and, once finished, the nodes that failed (the same execution format as Rundeck's API).
"""

from typing import ClassVar

from marshmallow import fields

from bot import markdown as md
from bot.sources._ci import build_message, codes, outcome
from bot.sources.base import Event, Lenient, Source

TRIGGERS = ("start", "success", "failure", "avgduration", "retryablefailure")
# How each trigger reads when the execution's status alone would not say it.
TRIGGER_RESULTS = {
    "avgduration": ("warning", "is running longer than average"),
    "retryablefailure": ("warning", "failed and will be retried"),
}
# "succeeded" reads better for a job than the "passed" of a build.
STATUS_RESULTS = {"succeeded": ("success", "succeeded")}


class Job(Lenient):
    name = fields.Str(required=True)
    group = fields.Str(allow_none=True)
    permalink = fields.Str(allow_none=True)
    href = fields.Str(allow_none=True)


class Execution(Lenient):
    id = fields.Int(required=True)
    href = fields.Str(allow_none=True)
    permalink = fields.Str(allow_none=True)
    status = fields.Str(allow_none=True)
    project = fields.Str(allow_none=True)
    user = fields.Str(allow_none=True)
    job = fields.Nested(Job, allow_none=True)
    failedNodes = fields.List(fields.Str(), allow_none=True)


class RundeckSchema(Lenient):
    trigger = fields.Str(required=True)
    status = fields.Str(allow_none=True)
    execution = fields.Nested(Execution, required=True)


def _result(trigger: str, status: str) -> tuple[str, str]:
    if trigger == "start":
        return ("info", "is scheduled") if status == "scheduled" else outcome("started")
    return TRIGGER_RESULTS.get(trigger) or STATUS_RESULTS.get(status) or outcome(status or trigger)


def format_execution(p: dict):
    execution = p["execution"]
    job = execution.get("job") or {}
    name = job.get("name") or "Ad hoc command"
    path = "/".join(part for part in (job.get("group"), job.get("name")) if part)
    job_url = job.get("permalink") or job.get("href")
    return build_message(
        what=f"{name} execution #{execution['id']}",
        result=_result(p["trigger"], p.get("status") or execution.get("status") or ""),
        url=execution.get("permalink") or execution.get("href"),
        by=execution.get("user"),
        extra=[
            ("Job", md.link(path, job_url) if path else None),
            ("Project", md.code(execution["project"]) if execution.get("project") else None),
            ("Failed nodes", codes(execution.get("failedNodes") or [])),
        ],
        repo=execution.get("project"),
    )


class Rundeck(Source):
    name = "rundeck"
    title = "Rundeck"
    setup = (
        "Job → Edit → Notifications → Add notification → Send Webhook: URL "
        "https://<relay>/hooks/<route>?token=<secret>, payload format JSON, method POST"
    )
    schema = RundeckSchema
    events: ClassVar[dict[str, Event]] = {trigger: Event(format_execution) for trigger in TRIGGERS}

    def detect_event(self, payload, headers):
        return payload["trigger"]

    def payload_delivery_id(self, event, payload):
        return f"{event}:{payload['execution']['id']}"


SOURCE = Rundeck()
