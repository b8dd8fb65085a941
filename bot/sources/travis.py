"""Travis CI build notifications (the `notifications: webhooks:` setting in `.travis.yml`).

Travis posts a form with one `payload=<json>` field describing the build: its state, the commit and
who wrote it, and for pull-request builds the pull request. Every notification is one event, "build".
"""

from typing import ClassVar

from marshmallow import fields

from bot import markdown as md
from bot.sources._ci import build_message, commit_url, outcome
from bot.sources.base import Event, Lenient, Source


class Repository(Lenient):
    name = fields.Str(required=True)
    owner_name = fields.Str(allow_none=True)
    url = fields.Str(allow_none=True)


class TravisSchema(Lenient):
    id = fields.Int(required=True)
    number = fields.Str(required=True)
    status_message = fields.Str(required=True)
    repository = fields.Nested(Repository, required=True)


class Build(TravisSchema):
    build_url = fields.Str(allow_none=True)
    compare_url = fields.Str(allow_none=True)
    commit = fields.Str(allow_none=True)
    message = fields.Str(allow_none=True)
    branch = fields.Str(allow_none=True)
    tag = fields.Str(allow_none=True)
    author_name = fields.Str(allow_none=True)
    type = fields.Str(allow_none=True)
    pull_request_number = fields.Int(allow_none=True)
    pull_request_title = fields.Str(allow_none=True)


def format_build(p: dict):
    repo = p["repository"]
    slug = "/".join(part for part in (repo.get("owner_name"), repo["name"]) if part)
    pull_request = None
    if p.get("pull_request_number") is not None:
        pull_request = md.inline(f"{p.get('pull_request_title') or 'pull request'} (#{p['pull_request_number']})")
    return build_message(
        what=f"{slug} build #{p['number']}",
        result=outcome(p["status_message"]),
        url=p.get("build_url"),
        branch=p.get("branch"),
        tag=p.get("tag"),
        # Without a repository URL the compare view is the closest page to the pushed commit.
        sha=p.get("commit"),
        sha_url=commit_url(repo.get("url"), p.get("commit")) or p.get("compare_url"),
        subject=p.get("message"),
        by=p.get("author_name"),
        extra=[("Pull request", pull_request)],
        repo=slug,
    )


class Travis(Source):
    name = "travis"
    only_event = "build"
    title = "Travis CI"
    setup = (
        "In .travis.yml: notifications: webhooks: urls: [https://<relay>/hooks/<route>?token=<secret>] "
        "(keep the secret in an encrypted value)"
    )
    schema = TravisSchema
    events: ClassVar[dict[str, Event]] = {"build": Event(format_build, Build)}

    def branch(self, event, payload):
        return payload.get("branch")


SOURCE = Travis()
