"""Semaphore CI webhooks, from both Semaphore Classic and Semaphore 2.0.

Classic posts one payload per build or deploy, naming it in `event`. Semaphore 2.0 posts one payload
per finished pipeline (`"version"`, `"pipeline"`, `"revision"`), for a branch push, a tag or a pull
request; it is the event "pipeline" here.
"""

import re
from typing import ClassVar

from marshmallow import fields

from bot import markdown as md
from bot.sources._ci import build_message, codes, commit_url, outcome
from bot.sources.base import Event, Lenient, Source

PIPELINE = "pipeline"
ORGANIZATION_SLUG = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,62}")


class ClassicCommit(Lenient):
    id = fields.Str(allow_none=True)
    url = fields.Str(allow_none=True)
    author_name = fields.Str(allow_none=True)
    message = fields.Str(allow_none=True)


class ClassicBuild(Lenient):
    project_name = fields.Str(required=True)
    result = fields.Str(required=True)
    branch_name = fields.Str(allow_none=True)
    build_number = fields.Int(allow_none=True)
    build_url = fields.Str(allow_none=True)
    commit = fields.Nested(ClassicCommit, allow_none=True)


class ClassicDeploy(ClassicBuild):
    number = fields.Int(allow_none=True)
    server_name = fields.Str(allow_none=True)
    html_url = fields.Str(allow_none=True)
    build_html_url = fields.Str(allow_none=True)


class Named(Lenient):
    name = fields.Str(allow_none=True)


class Sender(Lenient):
    login = fields.Str(allow_none=True)


class PullRequest(Lenient):
    number = fields.Str(allow_none=True)
    name = fields.Str(allow_none=True)
    head_sha = fields.Str(allow_none=True)
    branch_name = fields.Str(allow_none=True)


class Revision(Lenient):
    commit_sha = fields.Str(allow_none=True)
    commit_message = fields.Str(allow_none=True)
    sender = fields.Nested(Sender, allow_none=True)
    branch = fields.Nested(Named, allow_none=True)
    tag = fields.Nested(Named, allow_none=True)
    pull_request = fields.Nested(PullRequest, allow_none=True)


class Repository(Lenient):
    url = fields.Str(allow_none=True)
    slug = fields.Str(allow_none=True)


class Workflow(Lenient):
    id = fields.Str(allow_none=True)


class Run(Lenient):
    """A pipeline or a job: its name and result."""

    name = fields.Str(allow_none=True)
    result = fields.Str(allow_none=True)


class Block(Lenient):
    jobs = fields.List(fields.Nested(Run), allow_none=True)


class PipelineDone(Lenient):
    pipeline = fields.Nested(Run, required=True)
    revision = fields.Nested(Revision, required=True)
    project = fields.Nested(Named, required=True)
    organization = fields.Nested(Named, allow_none=True)
    repository = fields.Nested(Repository, allow_none=True)
    workflow = fields.Nested(Workflow, allow_none=True)
    blocks = fields.List(fields.Nested(Block), allow_none=True)


def _commit(p: dict) -> dict:
    commit = p.get("commit") or {}
    return {
        "sha": commit.get("id"),
        "sha_url": commit.get("url"),
        "subject": commit.get("message"),
        "by": commit.get("author_name"),
    }


def format_build(p: dict):
    number = f" #{p['build_number']}" if p.get("build_number") is not None else ""
    return build_message(
        what=f"{p['project_name']} build{number}",
        result=outcome(p["result"]),
        url=p.get("build_url"),
        branch=p.get("branch_name"),
        repo=p["project_name"],
        **_commit(p),
    )


def format_deploy(p: dict):
    number = f" #{p['number']}" if p.get("number") is not None else ""
    server = f" to {p['server_name']}" if p.get("server_name") else ""
    build = None
    if p.get("build_number") is not None:
        build = md.link(f"#{p['build_number']}", p.get("build_html_url"))
    return build_message(
        what=f"{p['project_name']} deploy{number}{server}",
        result=outcome(p["result"]),
        url=p.get("html_url"),
        branch=p.get("branch_name"),
        extra=[("Build", build)],
        repo=p["project_name"],
        **_commit(p),
    )


def _workflow_url(p: dict) -> str | None:
    organization = (p.get("organization") or {}).get("name")
    workflow = (p.get("workflow") or {}).get("id")
    # The organization name becomes a host name, so only a plain slug is used.
    if organization and workflow and ORGANIZATION_SLUG.fullmatch(organization):
        return f"https://{organization}.semaphoreci.com/workflows/{workflow}"
    return None


def _pipeline_branch(revision: dict) -> str | None:
    """The branch built: a pull request's head branch, or the pushed branch (None for tags)."""
    pull_request = revision.get("pull_request") or {}
    return pull_request.get("branch_name") or (revision.get("branch") or {}).get("name")


def format_pipeline(p: dict):
    revision, pipeline = p["revision"], p["pipeline"]
    pull_request = revision.get("pull_request") or {}
    pr_line = None
    if pull_request:
        pr_line = md.inline(f"{pull_request.get('name') or 'pull request'} (#{pull_request.get('number') or '?'})")
    failed = [
        job.get("name")
        for block in p.get("blocks") or []
        for job in block.get("jobs") or []
        if job.get("result") == "failed"
    ]
    repository = p.get("repository") or {}
    project = p["project"].get("name") or repository.get("slug") or "Semaphore"
    sha = pull_request.get("head_sha") or revision.get("commit_sha")
    return build_message(
        what=f"{project} pipeline {pipeline.get('name') or ''}".rstrip(),
        result=outcome(pipeline.get("result")),
        url=_workflow_url(p),
        branch=_pipeline_branch(revision),
        tag=(revision.get("tag") or {}).get("name"),
        sha=sha,
        sha_url=commit_url(repository.get("url"), sha),
        subject=None if pull_request else revision.get("commit_message"),
        by=(revision.get("sender") or {}).get("login"),
        extra=[("Pull request", pr_line), ("Failed jobs", codes(failed))],
        repo=repository.get("slug") or project,
    )


class Semaphore(Source):
    name = "semaphore"
    title = "Semaphore"
    setup = (
        "Semaphore → Project (Classic) or Organization (2.0) Settings → Notifications/Webhooks: "
        "URL https://<relay>/hooks/<route>?token=<secret>"
    )
    events: ClassVar[dict[str, Event]] = {
        "build": Event(format_build, ClassicBuild),
        "deploy": Event(format_deploy, ClassicDeploy),
        PIPELINE: Event(format_pipeline, PipelineDone),
    }

    def detect_event(self, payload, headers):
        if not isinstance(payload, dict):
            return None
        if "pipeline" in payload and "revision" in payload:
            return PIPELINE
        event = payload.get("event")
        return event if isinstance(event, str) else None

    def branch(self, event, payload):
        return _pipeline_branch(payload["revision"]) if event == PIPELINE else payload.get("branch_name")


SOURCE = Semaphore()
