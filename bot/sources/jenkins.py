"""Jenkins builds, as sent by the Jenkins Notification plugin in its JSON format.

The plugin posts the same `build` object at each phase of a build: QUEUED, STARTED, COMPLETED and
FINALIZED. Only FINALIZED is posted: it is the last phase, sent after post-build actions (archiving,
publishing) have run, so its status is final and each build produces exactly one message.
"""

from typing import ClassVar

from marshmallow import fields

from bot import markdown as md
from bot.sources._ci import build_message, commit_url, outcome
from bot.sources.base import Event, Lenient, Source

POSTED_PHASE = "FINALIZED"
LOG_TAIL_LINES = 20


class Scm(Lenient):
    url = fields.Str(allow_none=True)
    branch = fields.Str(allow_none=True)
    commit = fields.Str(allow_none=True)
    culprits = fields.List(fields.Str(allow_none=True), allow_none=True)


class Build(Lenient):
    full_url = fields.Str(allow_none=True)
    number = fields.Int(required=True)
    phase = fields.Str(required=True)
    status = fields.Str(allow_none=True)
    scm = fields.Nested(Scm, allow_none=True)
    log = fields.Str(allow_none=True)


class JenkinsSchema(Lenient):
    name = fields.Str(required=True)
    display_name = fields.Str(allow_none=True)
    build = fields.Nested(Build, required=True)


def _branch(scm: dict) -> str | None:
    # The Git plugin reports the remote-tracking name ("origin/main"); people call it "main".
    branch = scm.get("branch")
    return branch.removeprefix("origin/") if branch else None


def format_build(p: dict):
    build = p["build"]
    scm = build.get("scm") or {}
    job = p.get("display_name") or p["name"]
    result = outcome(build.get("status"))
    log = (build.get("log") or "").strip()
    blocks = []
    if log and result[0] == "error":
        blocks.append(md.fenced("\n".join(log.splitlines()[-LOG_TAIL_LINES:])))
    culprits = [c for c in scm.get("culprits") or [] if c]
    return build_message(
        what=f"{job} build #{build['number']}",
        result=result,
        url=build.get("full_url"),
        branch=_branch(scm),
        sha=scm.get("commit"),
        sha_url=commit_url(scm.get("url"), scm.get("commit")),
        by=", ".join(culprits[:5]) if culprits else None,
        blocks=blocks,
        repo=p["name"],
        # The notification plugin gives milliseconds, and 0 until the build has finished.
        took=build["duration"] / 1000 if isinstance(build.get("duration"), (int, float)) else None,
    )


class Jenkins(Source):
    name = "jenkins"
    only_event = "build"
    title = "Jenkins"
    setup = (
        "Job → Job Notifications → Add Endpoint (Notification plugin): Format JSON, Protocol HTTP, "
        "Event 'All Events' or 'Job Finalized', URL https://<relay>/hooks/<route>?token=<secret>"
    )
    schema = JenkinsSchema
    events: ClassVar[dict[str, Event]] = {"build": Event(format_build)}

    def ignore_reason(self, event, payload):
        phase = payload["build"]["phase"]
        if phase.upper() != POSTED_PHASE:
            return f"build phase {phase} is not posted (only {POSTED_PHASE}, the last phase)"
        return None

    def branch(self, event, payload):
        return _branch(payload["build"].get("scm") or {})


SOURCE = Jenkins()
