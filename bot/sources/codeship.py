"""CodeShip build notifications (the Webhook notification of a project).

CodeShip posts `{"build": {...}}` whenever a build changes status: the project, the build URL, the
commit with its message and committer, the branch and the status word (testing, success, error,
stopped...). Every notification is one event, "build".
"""

from typing import ClassVar

from marshmallow import fields

from bot.sources._ci import build_message, outcome
from bot.sources.base import Event, Lenient, Source

# CodeShip's status words that `outcome()` does not already know.
STATUSES = {
    "testing": ("info", "started"),
    "initiated": ("info", "was initiated"),
    "waiting": ("info", "is waiting"),
    "ignored": ("info", "was ignored"),
    "infrastructure_failure": ("error", "failed on infrastructure"),
}


class Build(Lenient):
    build_id = fields.Int(allow_none=True)
    status = fields.Str(required=True)
    project_name = fields.Str(allow_none=True)
    project_full_name = fields.Str(allow_none=True)
    build_url = fields.Str(allow_none=True)
    commit_id = fields.Str(allow_none=True)
    message = fields.Str(allow_none=True)
    committer = fields.Str(allow_none=True)
    branch = fields.Str(allow_none=True)


class CodeShipSchema(Lenient):
    build = fields.Nested(Build, required=True)


def format_build(p: dict):
    build = p["build"]
    project = build.get("project_full_name") or build.get("project_name") or "CodeShip"
    status = build["status"]
    # An unknown status word is shown as it is rather than guessed at.
    result = STATUSES.get(status.lower()) or outcome(status)
    if result == ("info", status.lower().replace("_", " ")):
        result = ("info", f"has status {status}")
    return build_message(
        what=f"{project} build",
        result=result,
        url=build.get("build_url"),
        branch=build.get("branch"),
        # The commit is named, not linked: the build page links it, and two long links swamp the message.
        sha=build.get("commit_id"),
        subject=build.get("message"),
        by=build.get("committer"),
        repo=project,
    )


class CodeShip(Source):
    name = "codeship"
    only_event = "build"
    title = "CodeShip"
    setup = (
        "Project settings → Notifications → New notification → Webhook: URL "
        "https://<relay>/hooks/<route>?token=<secret>"
    )
    schema = CodeShipSchema
    events: ClassVar[dict[str, Event]] = {"build": Event(format_build)}

    def payload_delivery_id(self, event, payload):
        build = payload["build"]
        return f"{build['build_id']}:{build['status']}" if build.get("build_id") else None

    def branch(self, event, payload):
        return payload["build"].get("branch")


SOURCE = CodeShip()
