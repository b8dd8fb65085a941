"""Buildbot build reports, as posted by its `HttpStatusPush` reporter or a compact status pusher.

`HttpStatusPush` posts the build itself when it starts and when it finishes: `complete`, the numeric
`results`, the builder, the URL and (with `wantProperties`) properties such as branch and revision.
The compact form names the event (`"event": "new"` or `"finished"`) and carries only the build id,
builder name, URL, project and results. Both are the events "new" and "finished" here.
"""

from typing import ClassVar

from marshmallow import fields

from bot import markdown as md
from bot.sources._ci import build_message, commit_url, outcome
from bot.sources.base import Event, Lenient, Source

# Buildbot's result codes (buildbot.process.results), as (severity, verb).
RESULTS = {
    0: outcome("success"),
    1: ("warning", "passed with warnings"),
    2: outcome("failure"),
    3: outcome("skipped"),
    4: ("error", "hit an exception"),
    5: ("warning", "will be retried"),
    6: outcome("cancelled"),
}


class Builder(Lenient):
    name = fields.Str(allow_none=True)


class BuildbotSchema(Lenient):
    buildid = fields.Int(required=True)
    event = fields.Str()
    complete = fields.Bool()


class Build(BuildbotSchema):
    number = fields.Int(allow_none=True)
    buildername = fields.Str(allow_none=True)
    builder = fields.Nested(Builder, allow_none=True)
    url = fields.Str(allow_none=True)
    project = fields.Str(allow_none=True)
    results = fields.Int(allow_none=True)
    state_string = fields.Str(allow_none=True)
    properties = fields.Dict(allow_none=True)


def _property(build: dict, name: str) -> str | None:
    """A build property's value; Buildbot sends each property as [value, source]."""
    value = (build.get("properties") or {}).get(name)
    if isinstance(value, list):
        value = value[0] if value else None
    return value if isinstance(value, str) and value else None


def _message(build: dict, result: tuple[str, str], state: str | None = None):
    builder = build.get("buildername") or (build.get("builder") or {}).get("name") or "Buildbot"
    # The build number is what Buildbot's pages show; the compact form only has the global build id.
    number = build.get("number") if build.get("number") is not None else build["buildid"]
    project = build.get("project") or _property(build, "project")
    sha = _property(build, "got_revision") or _property(build, "revision")
    return build_message(
        what=f"{builder} build #{number}",
        result=result,
        url=build.get("url"),
        branch=_property(build, "branch"),
        sha=sha,
        sha_url=commit_url(_property(build, "repository"), sha),
        extra=[("Project", md.code(project) if project else None), ("Status", md.inline(state) if state else None)],
        repo=project,
    )


def format_new(p: dict):
    return _message(p, outcome("started"))


def format_finished(p: dict):
    result = RESULTS.get(p.get("results"), ("info", "finished"))
    # Buildbot's own summary of a bad build names the step that broke it ("failed test").
    return _message(p, result, p.get("state_string") if result[0] != "success" else None)


class Buildbot(Source):
    name = "buildbot"
    title = "Buildbot"
    setup = (
        "master.cfg: c['services'].append(reporters.HttpStatusPush(serverUrl='https://<relay>/hooks/<route>', "
        "auth=('buildbot', '<secret>')))"
    )
    schema = BuildbotSchema
    events: ClassVar[dict[str, Event]] = {"new": Event(format_new, Build), "finished": Event(format_finished, Build)}

    def detect_event(self, payload, headers):
        if "event" in payload:
            return payload["event"]
        if "complete" in payload:
            return "finished" if payload["complete"] else "new"
        return None

    def payload_delivery_id(self, event, payload):
        return f"{event}:{payload['buildid']}"

    def branch(self, event, payload):
        return _property(payload, "branch")


SOURCE = Buildbot()
