"""TeamCity builds, as sent by the tcWebHooks plugin in its JSON format (a `build` object).

tcWebHooks names the event in `build.notifyType` and compares each result with the previous build
(`buildResultDelta`), which tells a newly broken build from one that is still failing.
"""

from typing import ClassVar

from marshmallow import fields

from bot import markdown as md
from bot.sources._ci import build_message, outcome
from bot.sources.base import Event, Lenient, Source

NOT_FINISHED = "only finished or interrupted builds are posted"


class Build(Lenient):
    notifyType = fields.Str(required=True)
    buildFullName = fields.Str(allow_none=True)
    buildName = fields.Str(allow_none=True)
    buildNumber = fields.Str(allow_none=True)
    buildResult = fields.Str(allow_none=True)
    buildResultDelta = fields.Str(allow_none=True)
    buildStatus = fields.Str(allow_none=True)
    buildStatusUrl = fields.Str(allow_none=True)
    branchName = fields.Str(allow_none=True)
    branchDisplayName = fields.Str(allow_none=True)
    triggeredBy = fields.Str(allow_none=True)
    projectName = fields.Str(allow_none=True)


class TeamCitySchema(Lenient):
    build = fields.Nested(Build, required=True)


def _branch(build: dict) -> str | None:
    # branchName is the VCS ref ("refs/heads/x"); the display name is what people call the branch.
    return build.get("branchDisplayName") or build.get("branchName")


def _finished_status(build: dict) -> str:
    """The finished build's status word, telling broken, still failing and fixed apart."""
    result = (build.get("buildResult") or "").lower()
    delta = (build.get("buildResultDelta") or "").lower()
    if result == "success":
        return "fixed" if delta == "fixed" else "success"
    if result == "failure":
        return {"broken": "broken", "unchanged": "still failing"}.get(delta, "failure")
    return result


def _message(build: dict, status: str):
    url = build.get("buildStatusUrl")
    changes = md.link("view", f"{url}&tab=buildChangesDiv") if md.safe_url(url) else None
    name = build.get("buildFullName") or build.get("buildName") or build.get("projectName") or "TeamCity"
    number = f" #{build['buildNumber']}" if build.get("buildNumber") else ""
    return build_message(
        what=f"{name} build{number}",
        result=outcome(status),
        url=url,
        branch=_branch(build),
        by=build.get("triggeredBy"),
        extra=[
            ("Status", md.inline(build["buildStatus"]) if build.get("buildStatus") else None),
            ("Changes", changes),
        ],
        repo=build.get("projectName"),
    )


def format_finished(p: dict):
    return _message(p["build"], _finished_status(p["build"]))


def format_interrupted(p: dict):
    return _message(p["build"], "interrupted")


class TeamCity(Source):
    name = "teamcity"
    title = "TeamCity"
    setup = (
        "TeamCity project → WebHooks (tcWebHooks plugin) → Add: URL https://<relay>/hooks/<route>?token=<secret>, "
        "payload format JSON, events Build Finished and Build Interrupted"
    )
    schema = TeamCitySchema
    events: ClassVar[dict[str, Event]] = {
        "buildFinished": Event(format_finished),
        "buildInterrupted": Event(format_interrupted),
    }
    ignored: ClassVar[dict[str, str]] = {
        "buildStarted": NOT_FINISHED,
        "changesLoaded": NOT_FINISHED,
        "beforeBuildFinish": NOT_FINISHED,
        "buildAddedToQueue": NOT_FINISHED,
        "buildRemovedFromQueue": NOT_FINISHED,
    }

    def detect_event(self, payload, headers):
        return payload["build"]["notifyType"]

    def branch(self, event, payload):
        return _branch(payload["build"])


SOURCE = TeamCity()
