"""CircleCI webhooks: a workflow or a job completed, for projects on GitHub, Bitbucket or GitLab.

CircleCI names the event in the payload's `type` and gives every delivery an `id`. Pipelines
started from GitHub or Bitbucket describe their commit under `pipeline.vcs`; those started from
GitLab only under `pipeline.trigger_parameters.gitlab`, so both are read.
"""

from typing import ClassVar

from marshmallow import fields

from bot import markdown as md
from bot.auth import HmacSignature
from bot.sources._ci import build_message, commit_url, elapsed, outcome
from bot.sources.base import Event, Lenient, Source


class Named(Lenient):
    name = fields.Str(allow_none=True)


class Author(Lenient):
    name = fields.Str(allow_none=True)


class Commit(Lenient):
    subject = fields.Str(allow_none=True)
    author = fields.Nested(Author, allow_none=True)


class Vcs(Lenient):
    origin_repository_url = fields.Str(allow_none=True)
    target_repository_url = fields.Str(allow_none=True)
    revision = fields.Str(allow_none=True)
    branch = fields.Str(allow_none=True)
    tag = fields.Str(allow_none=True)
    commit = fields.Nested(Commit, allow_none=True)


class GitLabTrigger(Lenient):
    web_url = fields.Str(allow_none=True)
    branch = fields.Str(allow_none=True)
    tag = fields.Str(allow_none=True)
    checkout_sha = fields.Str(allow_none=True)
    commit_title = fields.Str(allow_none=True)
    user_name = fields.Str(allow_none=True)


class TriggerParameters(Lenient):
    gitlab = fields.Nested(GitLabTrigger, allow_none=True)


class Pipeline(Lenient):
    number = fields.Int(allow_none=True)
    vcs = fields.Nested(Vcs, allow_none=True)
    trigger_parameters = fields.Nested(TriggerParameters, allow_none=True)


class Workflow(Lenient):
    name = fields.Str(required=True)
    url = fields.Str(allow_none=True)
    status = fields.Str(allow_none=True)


class Job(Lenient):
    name = fields.Str(required=True)
    number = fields.Int(allow_none=True)
    status = fields.Str(allow_none=True)


class CircleCISchema(Lenient):
    type = fields.Str(required=True)
    id = fields.Str(allow_none=True)


class WorkflowCompleted(Lenient):
    workflow = fields.Nested(Workflow, required=True)
    pipeline = fields.Nested(Pipeline, required=True)
    project = fields.Nested(Named, required=True)


class JobCompleted(WorkflowCompleted):
    job = fields.Nested(Job, required=True)


def _revision(pipeline: dict) -> dict:
    """Branch, tag, commit and author of the pipeline, wherever this VCS provider put them."""
    vcs = pipeline.get("vcs") or {}
    if vcs:
        commit = vcs.get("commit") or {}
        repo = vcs.get("target_repository_url") or vcs.get("origin_repository_url")
        return {
            "branch": vcs.get("branch"),
            "tag": vcs.get("tag"),
            "sha": vcs.get("revision"),
            "sha_url": commit_url(repo, vcs.get("revision")),
            "subject": commit.get("subject"),
            "by": (commit.get("author") or {}).get("name"),
        }
    gitlab = (pipeline.get("trigger_parameters") or {}).get("gitlab") or {}
    sha = gitlab.get("checkout_sha")
    return {
        "branch": gitlab.get("branch"),
        "tag": gitlab.get("tag"),
        "sha": sha,
        "sha_url": f"{gitlab['web_url']}/-/commit/{sha}" if gitlab.get("web_url") and sha else None,
        "subject": gitlab.get("commit_title"),
        "by": gitlab.get("user_name"),
    }


def _pipeline_number(p: dict) -> str | None:
    number = p["pipeline"].get("number")
    return f"#{number}" if number is not None else None


def format_workflow(p: dict):
    workflow = p["workflow"]
    project = p["project"].get("name") or "CircleCI"
    return build_message(
        what=f"{project} workflow {workflow['name']}",
        result=outcome(workflow.get("status")),
        url=workflow.get("url"),
        extra=[("Pipeline", _pipeline_number(p))],
        repo=project,
        took=elapsed(workflow.get("created_at"), workflow.get("stopped_at")),
        **_revision(p["pipeline"]),
    )


def format_job(p: dict):
    job, workflow = p["job"], p["workflow"]
    project = p["project"].get("name") or "CircleCI"
    url = workflow.get("url")
    if url and job.get("number") is not None:
        url = f"{url}/jobs/{job['number']}"
    return build_message(
        what=f"{project} job {job['name']}",
        result=outcome(job.get("status")),
        url=url,
        extra=[("Workflow", md.code(workflow["name"])), ("Pipeline", _pipeline_number(p))],
        repo=project,
        took=elapsed(job.get("started_at"), job.get("stopped_at")),
        **_revision(p["pipeline"]),
    )


class CircleCI(Source):
    name = "circleci"
    title = "CircleCI"
    setup = (
        "CircleCI → Project Settings → Webhooks → Add Webhook: URL https://<relay>/hooks/<route>, "
        "Secret <secret>, events Workflow Completed and/or Job Completed"
    )
    auth = HmacSignature("circleci-signature", prefix="v1=", separator=",")
    schema = CircleCISchema
    events: ClassVar[dict[str, Event]] = {
        "workflow-completed": Event(format_workflow, WorkflowCompleted),
        "job-completed": Event(format_job, JobCompleted),
    }
    ignored: ClassVar[dict[str, str]] = {"ping": "ping (test event) received"}

    def detect_event(self, payload, headers):
        return payload.get("type")

    def payload_delivery_id(self, event, payload):
        return payload.get("id")

    def branch(self, event, payload):
        return _revision(payload["pipeline"])["branch"]


SOURCE = CircleCI()
