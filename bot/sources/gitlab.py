"""GitLab: project, group and instance (system) webhooks.

Handles pushes and tag pushes, merge requests (with approvals), issues and comments (confidential
ones too), pipelines, jobs, deployments, releases, wiki pages and the "Test" button. GitLab names the
event in the X-Gitlab-Event header; a system hook sends "System Hook" and names the event inside the
payload instead, and of those only pushes, tag pushes and merge requests are formatted.
"""

from __future__ import annotations

import re
from typing import ClassVar
from urllib.parse import quote

from marshmallow import ValidationError, fields, validates_schema

from bot import markdown as md
from bot.auth import TokenHeader
from bot.message import Message, severity_of
from bot.sources._git import (
    ZERO_SHA,
    branch_of_ref,
    commit_count,
    commit_item,
    commit_line,
    commit_list,
    other_author,
    repo_message,
    user_name,
)
from bot.sources._monitoring import duration
from bot.sources.base import Event, Lenient, Source

# Description templates leave instructions as HTML comments, which GitLab does not display either.
HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
BLANK_LINES = re.compile(r"\n{3,}")


# -- schemas -----------------------------------------------------------------------------------
class User(Lenient):
    name = fields.Str(allow_none=True)
    username = fields.Str(allow_none=True)


class ProjectRef(Lenient):
    name = fields.Str(allow_none=True)
    web_url = fields.Str(allow_none=True)
    path_with_namespace = fields.Str(allow_none=True)


class Project(ProjectRef):
    name = fields.Str(required=True)


class RepositoryRef(Lenient):
    name = fields.Str(allow_none=True)
    homepage = fields.Str(allow_none=True)


class Repository(RepositoryRef):
    name = fields.Str(required=True)


class Author(Lenient):
    name = fields.Str(allow_none=True)


class Commit(Lenient):
    id = fields.Str(required=True)
    message = fields.Str(allow_none=True)
    url = fields.Str(allow_none=True)
    author = fields.Nested(Author, allow_none=True)


class ProjectEvent(Lenient):
    project = fields.Nested(Project, required=True)
    repository = fields.Nested(RepositoryRef, allow_none=True)
    user = fields.Nested(User, allow_none=True)


class PushSchema(ProjectEvent):
    ref = fields.Str(required=True)
    before = fields.Str(allow_none=True)
    after = fields.Str(allow_none=True)
    message = fields.Str(allow_none=True)
    checkout_sha = fields.Str(allow_none=True)
    user_name = fields.Str(allow_none=True)
    commits = fields.List(fields.Nested(Commit), allow_none=True)
    total_commits_count = fields.Int(allow_none=True)


class IssueAttributes(Lenient):
    iid = fields.Int(allow_none=True)
    title = fields.Str(allow_none=True)
    url = fields.Str(allow_none=True)
    description = fields.Str(allow_none=True)
    action = fields.Str(allow_none=True)
    confidential = fields.Bool(allow_none=True)


class IssueSchema(ProjectEvent):
    object_attributes = fields.Nested(IssueAttributes, required=True)
    assignees = fields.List(fields.Nested(User), allow_none=True)
    assignee = fields.Nested(User, allow_none=True)
    changes = fields.Dict(allow_none=True)


class MergeRequestAttributes(IssueAttributes):
    source_branch = fields.Str(allow_none=True)
    target_branch = fields.Str(allow_none=True)
    oldrev = fields.Str(allow_none=True)


class MergeRequestSchema(IssueSchema):
    object_attributes = fields.Nested(MergeRequestAttributes, required=True)


class Position(Lenient):
    new_path = fields.Str(allow_none=True)


class NoteAttributes(Lenient):
    note = fields.Str(required=True)
    noteable_type = fields.Str(required=True)
    url = fields.Str(allow_none=True)
    action = fields.Str(allow_none=True)
    commit_id = fields.Str(allow_none=True)
    position = fields.Nested(Position, allow_none=True)


class Noteable(Lenient):
    iid = fields.Int(allow_none=True)
    id = fields.Int(allow_none=True)
    title = fields.Str(allow_none=True)
    confidential = fields.Bool(allow_none=True)


class NoteSchema(ProjectEvent):
    object_attributes = fields.Nested(NoteAttributes, required=True)
    issue = fields.Nested(Noteable, allow_none=True)
    merge_request = fields.Nested(Noteable, allow_none=True)
    snippet = fields.Nested(Noteable, allow_none=True)


class Build(Lenient):
    id = fields.Int(required=True)
    name = fields.Str(allow_none=True)
    stage = fields.Str(allow_none=True)
    status = fields.Str(allow_none=True)
    allow_failure = fields.Bool(allow_none=True)


class PipelineAttributes(Lenient):
    id = fields.Int(required=True)
    ref = fields.Str(allow_none=True)
    tag = fields.Bool(allow_none=True)
    status = fields.Str(required=True)
    duration = fields.Float(allow_none=True)


class MergeRequestRef(Lenient):
    iid = fields.Int(allow_none=True)
    title = fields.Str(allow_none=True)
    url = fields.Str(allow_none=True)


class PipelineSchema(ProjectEvent):
    object_attributes = fields.Nested(PipelineAttributes, required=True)
    commit = fields.Nested(Commit, allow_none=True)
    builds = fields.List(fields.Nested(Build), allow_none=True)
    merge_request = fields.Nested(MergeRequestRef, allow_none=True)


class JobCommit(Lenient):
    message = fields.Str(allow_none=True)


class JobSchema(Lenient):
    build_id = fields.Int(required=True)
    build_name = fields.Str(required=True)
    build_stage = fields.Str(allow_none=True)
    build_status = fields.Str(required=True)
    build_allow_failure = fields.Bool(allow_none=True)
    build_failure_reason = fields.Str(allow_none=True)
    ref = fields.Str(allow_none=True)
    tag = fields.Bool(allow_none=True)
    sha = fields.Str(allow_none=True)
    # Job events gained a "project" object in GitLab 16; before it, only "repository" named the project.
    repository = fields.Nested(Repository, required=True)
    project = fields.Nested(ProjectRef, allow_none=True)
    commit = fields.Nested(JobCommit, allow_none=True)


class DeploymentSchema(ProjectEvent):
    status = fields.Str(required=True)
    environment = fields.Str(allow_none=True)
    environment_external_url = fields.Str(allow_none=True)
    deployable_url = fields.Str(allow_none=True)
    ref = fields.Str(allow_none=True)
    short_sha = fields.Str(allow_none=True)
    commit_url = fields.Str(allow_none=True)
    commit_title = fields.Str(allow_none=True)


class ReleaseSchema(ProjectEvent):
    tag = fields.Str(required=True)
    name = fields.Str(allow_none=True)
    url = fields.Str(allow_none=True)
    action = fields.Str(allow_none=True)
    description = fields.Str(allow_none=True)


class WikiAttributes(Lenient):
    title = fields.Str(required=True)
    url = fields.Str(allow_none=True)
    action = fields.Str(allow_none=True)


class WikiSchema(ProjectEvent):
    object_attributes = fields.Nested(WikiAttributes, required=True)


# -- shared pieces -------------------------------------------------------------------------------
def _actor(p: dict) -> str:
    return user_name(p.get("user"), "name", "username") or p.get("user_name") or "Someone"


def _project(p: dict) -> str:
    # Job events describe the project only in their older "repository" object.
    project = p.get("project") or {}
    return project.get("path_with_namespace") or project.get("name") or (p.get("repository") or {}).get("name")


def _message(p: dict, sentence: str, url, body=(), severity="info", branch=None, subject=None) -> Message:
    """A message titled "<sentence> in <project>: <subject>", routed by the project's path."""
    return repo_message(_project(p), sentence, url, body, severity, branch, subject)


def _description(value) -> str:
    shown = BLANK_LINES.sub("\n\n", HTML_COMMENT.sub("", value or "")).strip()
    return md.quote(shown, limit=500, max_lines=8)


def _people(p: dict) -> str:
    users = p.get("assignees") or ([p["assignee"]] if p.get("assignee") else [])
    names = dict.fromkeys(u.get("name") or u.get("username") for u in users if u)
    return ", ".join(md.inline(name) for name in names if name)


def _project_url(p: dict, *path: str) -> str | None:
    base = (p.get("project") or {}).get("web_url") or (p.get("repository") or {}).get("homepage")
    return "/".join([base.rstrip("/"), "-", *(quote(part, safe="/") for part in path)]) if base else None


def _removed(p: dict) -> bool:
    # GitLab leaves checkout_sha null when a ref is deleted; `after` is all zeros for branches only.
    return p.get("after") == ZERO_SHA or ("checkout_sha" in p and p["checkout_sha"] is None)


# -- push and tag push ---------------------------------------------------------------------------
def _commit_item(commit: dict, pusher: str) -> str:
    """One commit of a push; its author is named only when someone else wrote it."""
    by = other_author([user_name(commit.get("author"), "name")], [pusher])
    return commit_item(commit["id"], commit.get("url"), commit.get("message"), by)


def format_push(p: dict) -> Message:
    actor = _actor(p)
    branch = branch_of_ref(p["ref"])
    before, after = p.get("before") or "", p.get("after") or ""
    commits = p.get("commits") or []
    count = max(int(p.get("total_commits_count") or 0), len(commits))
    if _removed(p):
        return _message(p, f"{actor} deleted branch {branch}", _project_url(p, "branches"), branch=branch)
    items = [_commit_item(c, actor) for c in commits]
    body = [commit_list(items, count)]
    if before == ZERO_SHA:
        sentence = f"{actor} created branch {branch}"
        url = _project_url(p, "tree", branch)
        if not items:
            body = [md.fields([("At", commit_line(after, _project_url(p, "commit", after), ""))])]
    else:
        sentence = f"{actor} pushed {commit_count(count)} to {branch}"
        url = _project_url(p, "compare", f"{before}...{after}")
    return _message(p, sentence, url, body, branch=branch)


def format_tag_push(p: dict) -> Message:
    actor = _actor(p)
    tag = p["ref"].removeprefix("refs/tags/")
    if _removed(p):
        return _message(p, f"{actor} deleted tag {tag}", _project_url(p, "tags"))
    return _message(p, f"{actor} pushed tag {tag}", _project_url(p, "tags", tag), [md.quote(p.get("message") or "")])


# -- issues, merge requests, comments ------------------------------------------------------------
ISSUE_VERBS = {"open": "opened", "close": "closed", "reopen": "reopened", "update": "updated"}
MR_VERBS = {
    **ISSUE_VERBS,
    "merge": "merged",
    "approved": "approved",
    "unapproved": "unapproved",
    "approval": "added their approval to",
    "unapproval": "removed their approval from",
}


def _ref(prefix: str, number) -> str:
    """`issue #3` from ("issue #", 3); just "issue" when the number is missing, as it is in one of
    GitLab's own example payloads."""
    return prefix[:-2] if number is None else f"{prefix}{number}"


def _changed(p: dict) -> str:
    # GitLab reports bookkeeping fields as "changes" too; they say nothing a reader cares about.
    noise = {"updated_at", "updated_by_id", "last_edited_at", "last_edited_by_id", "total_time_spent"}
    return ", ".join(md.inline(k.replace("_", " ")) for k in (p.get("changes") or {}) if k not in noise)


def format_issue(p: dict) -> Message:
    attrs = p["object_attributes"]
    action = attrs.get("action") or "update"
    kind = "confidential issue #" if attrs.get("confidential") else "issue #"
    sentence = f"{_actor(p)} {ISSUE_VERBS.get(action, action)} {_ref(kind, attrs.get('iid'))}"
    body = [md.fields([("Assignees", _people(p)), ("Changed", _changed(p) if action == "update" else "")])]
    if action == "open":
        body.append(_description(attrs.get("description")))
    return _message(p, sentence, attrs.get("url"), body, subject=attrs.get("title"))


def format_merge_request(p: dict) -> Message:
    attrs = p["object_attributes"]
    action = attrs.get("action") or "update"
    verb = MR_VERBS.get(action, action)
    if action == "update" and attrs.get("oldrev"):
        verb = "pushed new commits to"
    source, target = attrs.get("source_branch"), attrs.get("target_branch")
    updated = action == "update" and not attrs.get("oldrev")
    body = [
        md.fields(
            [
                ("Branches", f"{md.code(source)} → {md.code(target)}" if source and target else ""),
                ("Assignees", _people(p) if action in ("open", "update") else ""),
                ("Changed", _changed(p) if updated else ""),
            ]
        )
    ]
    if action == "open":
        body.append(_description(attrs.get("description")))
    sentence = f"{_actor(p)} {verb} {_ref('MR !', attrs.get('iid'))}"
    severity = "success" if action == "merge" else "info"
    return _message(p, sentence, attrs.get("url"), body, severity, branch=target, subject=attrs.get("title"))


def _noteable(p: dict) -> tuple[str, str | None]:
    """What a comment is on, and that thing's title."""
    attrs = p["object_attributes"]
    kind = attrs["noteable_type"]
    issue, mr, snippet = p.get("issue") or {}, p.get("merge_request") or {}, p.get("snippet") or {}
    if kind == "Issue":
        # Said as the issue's own events say it, so a reader knows not to repeat it elsewhere.
        prefix = "confidential issue #" if issue.get("confidential") else "issue #"
        return _ref(prefix, issue.get("iid")), issue.get("title")
    if kind == "MergeRequest":
        return _ref("MR !", mr.get("iid")), mr.get("title")
    if kind == "Snippet":
        return _ref("snippet $", snippet.get("id")), snippet.get("title")
    if kind == "Commit":
        return f"commit {(attrs.get('commit_id') or '')[:7]}", None
    if kind == "DesignManagement::Design":
        path = (attrs.get("position") or {}).get("new_path") or ""
        return "design", path.rsplit("/", 1)[-1]
    return kind, None


def format_note(p: dict) -> Message:
    attrs = p["object_attributes"]
    verb = "edited a comment on" if attrs.get("action") == "update" else "commented on"
    target, subject = _noteable(p)
    return _message(p, f"{_actor(p)} {verb} {target}", attrs.get("url"), [md.quote(attrs["note"])], subject=subject)


# -- CI/CD -----------------------------------------------------------------------------------------
STATUS_WORDS = {
    "success": "passed",
    "failed": "failed",
    "running": "started",
    "pending": "is pending",
    "created": "was created",
    "canceled": "was canceled",
    "skipped": "was skipped",
    "manual": "is waiting for a manual action",
}


def _status(status: str, allow_failure=False) -> tuple[str, str]:
    """(words, severity) for a pipeline/job status; failures that are allowed only warn."""
    words = STATUS_WORDS.get(status, f"is {status}")
    if status == "canceled" or (status == "failed" and allow_failure):
        return words, "warning"
    return words, severity_of(status) if status in ("success", "failed") else "info"


def format_pipeline(p: dict) -> Message:
    attrs = p["object_attributes"]
    ref = attrs.get("ref")
    words, severity = _status(attrs["status"])
    commit = p.get("commit") or {}
    mr = p.get("merge_request") or {}
    failed = [
        f"{md.link(b.get('name') or b['id'], _project_url(p, 'jobs', str(b['id'])))} ({md.inline(b.get('stage'))})"
        for b in p.get("builds") or []
        if b.get("status") == "failed"
    ]
    mr_label = " ".join(filter(None, [_ref("!", mr.get("iid")) if mr.get("iid") else "", mr.get("title")]))
    body = [
        md.fields(
            [
                ("Commit", commit_line(commit["id"], commit.get("url"), commit.get("message")) if commit else ""),
                ("Merge request", md.link(mr_label, mr.get("url")) if mr_label else ""),
                ("By", md.inline(_actor(p)) if p.get("user") else ""),
                ("Duration", duration(attrs.get("duration")) if attrs.get("duration") else ""),
            ]
        ),
        f"**Failed jobs:**\n{md.bullets(failed)}" if failed else "",
    ]
    sentence = f"Pipeline #{attrs['id']} {words}" + (f" on {ref}" if ref else "")
    branch = None if attrs.get("tag") else ref
    return _message(p, sentence, _project_url(p, "pipelines", str(attrs["id"])), body, severity, branch)


def format_job(p: dict) -> Message:
    status = p["build_status"]
    words, severity = _status(status, p.get("build_allow_failure"))
    stage = f" ({p['build_stage']})" if p.get("build_stage") else ""
    ref = p.get("ref")
    sha = p.get("sha") or ""
    reason = (p.get("build_failure_reason") or "").replace("_", " ") if status == "failed" else ""
    body = md.fields(
        [
            ("Commit", commit_line(sha, _project_url(p, "commit", sha), (p.get("commit") or {}).get("message"))),
            ("Reason", md.inline(reason)),
        ]
    )
    sentence = f"Job {p['build_name']}{stage} {words}" + (f" on {ref}" if ref else "")
    url = _project_url(p, "jobs", str(p["build_id"]))
    return _message(p, sentence, url, [body], severity, branch=None if p.get("tag") else ref)


DEPLOYMENT_WORDS = {**STATUS_WORDS, "success": "succeeded"}


def format_deployment(p: dict) -> Message:
    status = p["status"]
    _, severity = _status(status)
    external = p.get("environment_external_url")
    body = md.fields(
        [
            ("Ref", md.code(p.get("ref") or "")),
            ("Commit", commit_line(p.get("short_sha"), p.get("commit_url"), p.get("commit_title"))),
            ("By", md.inline(_actor(p)) if p.get("user") else ""),
            ("Environment", md.link(external, external) if external else ""),
        ]
    )
    sentence = f"Deployment to {p.get('environment') or 'an environment'} {DEPLOYMENT_WORDS.get(status, status)}"
    return _message(p, sentence, p.get("deployable_url"), [body], severity)


RELEASE_WORDS = {"create": "published", "update": "updated", "delete": "deleted"}


def format_release(p: dict) -> Message:
    action = p.get("action") or "update"
    sentence = f"Release {p.get('name') or p['tag']} {RELEASE_WORDS.get(action, action)}"
    body = [md.fields([("Tag", md.code(p["tag"]))])]
    if action != "delete":
        body.append(md.quote(p.get("description") or "", limit=500, max_lines=8))
    return _message(p, sentence, None if action == "delete" else p.get("url"), body)


WIKI_VERBS = {"create": "created", "update": "updated", "delete": "deleted"}


def format_wiki_page(p: dict) -> Message:
    attrs = p["object_attributes"]
    action = attrs.get("action") or "update"
    sentence = f"{_actor(p)} {WIKI_VERBS.get(action, action)} a wiki page"
    return _message(p, sentence, attrs.get("url"), subject=attrs["title"])


def format_test(p: dict) -> Message:
    return _message(p, "GitLab webhook test", (p.get("project") or {}).get("web_url"))


# -- system hooks ----------------------------------------------------------------------------------
SYSTEM_EVENTS = {
    "push": Event(format_push, PushSchema),
    "tag_push": Event(format_tag_push, PushSchema),
    "merge_request": Event(format_merge_request, MergeRequestSchema),
}


def _system_kind(p: dict) -> str:
    return str(p.get("object_kind") or p.get("event_name") or "unknown")


class SystemHookSchema(Lenient):
    """A system hook is valid when its push or merge request part is; other kinds are ignored."""

    @validates_schema
    def _inner(self, data, **kwargs):
        event = SYSTEM_EVENTS.get(_system_kind(data))
        errors = event.schema().validate(data) if event else {}
        if errors:
            raise ValidationError(errors)


def format_system(p: dict) -> Message:
    return SYSTEM_EVENTS[_system_kind(p)].format(p)


# -- event rules: why a valid delivery is not posted, and the branch it is about ----------------


def _pushed_branch(p: dict) -> str | None:
    return branch_of_ref(p.get("ref"))


def _target_branch(p: dict) -> str | None:
    return p["object_attributes"].get("target_branch")


def _pipeline_branch(p: dict) -> str | None:
    return None if p["object_attributes"].get("tag") else p["object_attributes"].get("ref")


def _job_branch(p: dict) -> str | None:
    return None if p.get("tag") else p.get("ref")


def _unsupported_system_event(p: dict) -> str | None:
    kind = _system_kind(p)
    return None if kind in SYSTEM_EVENTS else f"system hook event {kind} is not supported"


def _system_branch(p: dict) -> str | None:
    kind = _system_kind(p)
    if kind == "push":
        return _pushed_branch(p)
    if kind == "merge_request":
        return _target_branch(p)
    return None


class GitLab(Source):
    name = "gitlab"
    title = "GitLab"
    setup = (
        "Project (or group) → Settings → Webhooks: URL https://<relay>/hooks/<route>, Secret token <secret>, "
        "tick the triggers (system hooks: Admin → System hooks)"
    )
    auth = TokenHeader("X-Gitlab-Token")
    event_header = "X-Gitlab-Event"
    delivery_headers = ("Idempotency-Key", "X-Gitlab-Event-UUID")
    events: ClassVar[dict[str, Event]] = {
        "Push Hook": Event(format_push, PushSchema, branch=_pushed_branch),
        "Tag Push Hook": Event(format_tag_push, PushSchema),
        "Merge Request Hook": Event(format_merge_request, MergeRequestSchema, branch=_target_branch),
        "Issue Hook": Event(format_issue, IssueSchema),
        "Confidential Issue Hook": Event(format_issue, IssueSchema),
        "Note Hook": Event(format_note, NoteSchema),
        "Confidential Note Hook": Event(format_note, NoteSchema),
        "Pipeline Hook": Event(format_pipeline, PipelineSchema, branch=_pipeline_branch),
        "Job Hook": Event(format_job, JobSchema, branch=_job_branch),
        "Deployment Hook": Event(format_deployment, DeploymentSchema),
        "Release Hook": Event(format_release, ReleaseSchema),
        "Wiki Page Hook": Event(format_wiki_page, WikiSchema),
        "System Hook": Event(format_system, SystemHookSchema, ignore=_unsupported_system_event,
                             branch=_system_branch),
        "Test Hook": Event(format_test, ProjectEvent),
    }


SOURCE = GitLab()
