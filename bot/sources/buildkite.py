"""Buildkite Pipelines webhooks: a build finished (passed, failed, canceled...).

Buildkite names the event in the `X-Buildkite-Event` header. Only `build.finished` is posted: the
scheduled/running/failing steps before it and the per-job events would repeat what the finished
build says, one message per step.
"""

from typing import ClassVar

from marshmallow import fields

from bot import markdown as md
from bot.sources._ci import build_message, commit_url, elapsed, outcome
from bot.sources.base import Event, Lenient, Source

NOT_FINISHED = "only build.finished is posted"


class Creator(Lenient):
    name = fields.Str(allow_none=True)


class BuildkiteSchema(Lenient):
    event = fields.Str(required=True)


class Build(Lenient):
    id = fields.Str(allow_none=True)
    finished_at = fields.Str(allow_none=True)
    web_url = fields.Str(allow_none=True)
    number = fields.Int(required=True)
    state = fields.Str(required=True)
    message = fields.Str(allow_none=True)
    commit = fields.Str(allow_none=True)
    branch = fields.Str(allow_none=True)
    tag = fields.Str(allow_none=True)
    creator = fields.Nested(Creator, allow_none=True)
    pull_request = fields.Dict(allow_none=True)


class Pipeline(Lenient):
    name = fields.Str(required=True)
    slug = fields.Str(allow_none=True)
    repository = fields.Str(allow_none=True)


class BuildEvent(Lenient):
    build = fields.Nested(Build, required=True)
    pipeline = fields.Nested(Pipeline, required=True)


def format_build(p: dict):
    build, pipeline = p["build"], p["pipeline"]
    pull_request = build.get("pull_request") or {}
    return build_message(
        what=f"{pipeline['name']} build #{build['number']}",
        result=outcome(build["state"]),
        url=build.get("web_url"),
        branch=build.get("branch"),
        tag=build.get("tag"),
        sha=build.get("commit"),
        sha_url=commit_url(pipeline.get("repository"), build.get("commit")),
        subject=build.get("message"),
        by=(build.get("creator") or {}).get("name"),
        extra=[("Pull request", md.inline(f"#{pull_request['id']}") if pull_request.get("id") else None)],
        repo=pipeline.get("slug") or pipeline["name"],
        took=elapsed(build.get("started_at"), build.get("finished_at")),
    )


class Buildkite(Source):
    name = "buildkite"
    title = "Buildkite"
    setup = (
        "Buildkite → Settings → Notification Services → Add Webhook: URL "
        "https://<relay>/hooks/<route>?token=<secret>, event build.finished"
    )
    event_header = "X-Buildkite-Event"
    schema = BuildkiteSchema
    events: ClassVar[dict[str, Event]] = {"build.finished": Event(format_build, BuildEvent)}
    ignored: ClassVar[dict[str, str]] = {
        "ping": "ping (webhook settings changed)",
        "build.scheduled": NOT_FINISHED,
        "build.running": NOT_FINISHED,
        "build.failing": NOT_FINISHED,
        "build.skipped": NOT_FINISHED,
        "job.scheduled": NOT_FINISHED,
        "job.started": NOT_FINISHED,
        "job.finished": NOT_FINISHED,
        "job.activated": NOT_FINISHED,
    }

    def payload_delivery_id(self, event, payload):
        # Retrying a job makes a build finish again, so the finish time is part of the id.
        build = payload.get("build") or {}
        if build.get("id") and build.get("finished_at"):
            return f"{event}:{build['id']}:{build['finished_at']}"
        return None

    def branch(self, event, payload):
        return payload["build"].get("branch")


SOURCE = Buildkite()
