"""GoCD stage status notifications, as sent by the GoCD WebHook Notifier plugin.

Each notification (`"type": "stage"`) describes one run of one pipeline stage: its state, the jobs
in it and the material revisions that caused it. GoCD does not send its own server URL, so the
message links to the commit rather than to the run.
"""

from typing import ClassVar

from marshmallow import fields

from bot.sources._ci import build_message, codes, commit_url, outcome
from bot.sources.base import Event, Lenient, Source

# Job results listed under the stage, worst first; "Unknown" means the job has not finished.
JOB_RESULTS = ("Failed", "Cancelled", "Passed")
# `approved-by` names a person, or says the stage ran because its materials changed.
AUTOMATIC = {"changes", "anonymous", ""}


class Job(Lenient):
    name = fields.Str(required=True)
    result = fields.Str(allow_none=True)


class Stage(Lenient):
    name = fields.Str(required=True)
    state = fields.Str(allow_none=True)
    result = fields.Str(allow_none=True)
    approved_by = fields.Str(data_key="approved-by", allow_none=True)
    jobs = fields.List(fields.Nested(Job), allow_none=True)


class Modification(Lenient):
    revision = fields.Str(allow_none=True)


class GitConfiguration(Lenient):
    url = fields.Str(allow_none=True)
    branch = fields.Str(allow_none=True)


class Material(Lenient):
    git_configuration = fields.Nested(GitConfiguration, data_key="git-configuration", allow_none=True)


class BuildCause(Lenient):
    material = fields.Nested(Material, allow_none=True)
    modifications = fields.List(fields.Nested(Modification), allow_none=True)


class Pipeline(Lenient):
    name = fields.Str(required=True)
    counter = fields.Str(allow_none=True)
    stage = fields.Nested(Stage, required=True)
    build_cause = fields.List(fields.Nested(BuildCause), data_key="build-cause", allow_none=True)


class Data(Lenient):
    pipeline = fields.Nested(Pipeline, required=True)


class GoCDSchema(Lenient):
    type = fields.Str(required=True)
    data = fields.Dict(required=True)


class StageEvent(Lenient):
    data = fields.Nested(Data, required=True)


def _git_cause(pipeline: dict) -> tuple[dict, str | None]:
    """(git configuration, revision) of the first git material with a modification."""
    for cause in pipeline.get("build-cause") or []:
        git = (cause.get("material") or {}).get("git-configuration")
        revisions = [m.get("revision") for m in cause.get("modifications") or [] if m.get("revision")]
        if git and revisions:
            return git, revisions[0]
    return {}, None


def format_stage(p: dict):
    pipeline = p["data"]["pipeline"]
    stage = pipeline["stage"]
    state = stage.get("state") or ""
    status = state if state in ("Building", "Failing") else stage.get("result") or state
    git, sha = _git_cause(pipeline)
    jobs = stage.get("jobs") or []
    by = stage.get("approved-by") or ""
    counter = f" #{pipeline['counter']}" if pipeline.get("counter") else ""
    return build_message(
        what=f"{pipeline['name']}{counter} stage {stage['name']}",
        result=outcome(status),
        branch=git.get("branch"),
        sha=sha,
        sha_url=commit_url(git.get("url"), sha),
        by=None if by.lower() in AUTOMATIC else by,
        extra=[
            (f"{result} jobs", codes(j["name"] for j in jobs if j.get("result") == result)) for result in JOB_RESULTS
        ],
        repo=pipeline["name"],
    )


class GoCD(Source):
    name = "gocd"
    title = "GoCD"
    setup = (
        "GoCD WebHook Notifier plugin: add https://<relay>/hooks/<route>?token=<secret> to its "
        "stage status endpoints (webhook_notify.properties)"
    )
    schema = GoCDSchema
    events: ClassVar[dict[str, Event]] = {"stage": Event(format_stage, StageEvent)}
    ignored: ClassVar[dict[str, str]] = {"agent": "agent status changes are not posted"}

    def detect_event(self, payload, headers):
        return payload["type"]

    def branch(self, event, payload):
        return _git_cause(payload["data"]["pipeline"])[0].get("branch")


SOURCE = GoCD()
