"""AppVeyor build notifications (the Webhook notification provider of a project).

AppVeyor posts `{"eventName": ..., "eventData": {...}}` when a build finishes: `build_success` or
`build_failure`, with the project, the build version and URL, the commit and its author, and the
jobs of the build matrix with their status.
"""

from functools import partial
from typing import ClassVar

from marshmallow import fields

from bot.sources._ci import build_message, codes, outcome
from bot.sources.base import Event, Lenient, Source


class Job(Lenient):
    name = fields.Str(allow_none=True)
    failed = fields.Bool(allow_none=True)


class Build(Lenient):
    projectName = fields.Str(required=True)
    buildVersion = fields.Str(allow_none=True)
    buildNumber = fields.Int(allow_none=True)
    buildUrl = fields.Str(allow_none=True)
    repositoryName = fields.Str(allow_none=True)
    branch = fields.Str(allow_none=True)
    commitId = fields.Str(allow_none=True)
    commitUrl = fields.Str(allow_none=True)
    commitMessage = fields.Str(allow_none=True)
    commitAuthor = fields.Str(allow_none=True)
    jobs = fields.List(fields.Nested(Job), allow_none=True)


class AppVeyorSchema(Lenient):
    eventName = fields.Str(required=True)
    eventData = fields.Dict(required=True)


class Notification(Lenient):
    eventData = fields.Nested(Build, required=True)


def format_build(status: str, p: dict):
    """The finished build; `status` is the outcome the event name announces."""
    build = p["eventData"]
    version = build.get("buildVersion") or build.get("buildNumber")
    # Only a build matrix names its jobs; the one job of a plain build adds nothing to the title.
    failed_jobs = [job.get("name") for job in build.get("jobs") or [] if job.get("failed") and job.get("name")]
    return build_message(
        what=f"{build['projectName']} build {version}" if version else f"{build['projectName']} build",
        result=outcome(status),
        url=build.get("buildUrl"),
        branch=build.get("branch"),
        sha=build.get("commitId"),
        sha_url=build.get("commitUrl"),
        subject=build.get("commitMessage"),
        by=build.get("commitAuthor"),
        extra=[("Failed jobs", codes(failed_jobs))],
        repo=build.get("repositoryName") or build["projectName"],
    )


class AppVeyor(Source):
    name = "appveyor"
    title = "AppVeyor"
    setup = (
        "Project settings → Notifications → Add notification → Webhook: URL https://<relay>/hooks/<route>, "
        "custom header Authorization: Bearer <secret>, on build success and failure"
    )
    schema = AppVeyorSchema
    events: ClassVar[dict[str, Event]] = {
        "build_success": Event(partial(format_build, "success"), Notification),
        "build_failure": Event(partial(format_build, "failed"), Notification),
    }

    def detect_event(self, payload, headers):
        return payload["eventName"]

    def payload_delivery_id(self, event, payload):
        build_id = payload["eventData"].get("buildId")
        return f"{event}:{build_id}" if build_id else None

    def branch(self, event, payload):
        return payload["eventData"].get("branch")


SOURCE = AppVeyor()
