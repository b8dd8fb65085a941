"""`azure-devops`: Azure DevOps (Azure Repos and Pipelines) service hooks of the "Web Hooks" kind.

Handles code pushes (commits, new and deleted branches and tags), pull requests (created, updated,
merged, or blocked by merge conflicts), completed builds and completed release deployments.

Every service hook names its event in the payload's `eventType` and carries its own notification
`id`, used to recognise redeliveries. Azure cannot sign requests; it sends HTTP Basic credentials.
"""

from __future__ import annotations

import re
from typing import ClassVar
from urllib.parse import urlsplit, urlunsplit

from marshmallow import fields

from bot import markdown as md
from bot.message import Message

# Pushes and pull requests read like Bitbucket's; the message builders are the same ones.
from bot.sources._git import (
    ZERO_SHA,
    Href,
    branches,
    commit_summary,
    other_author,
    pr_message,
    ref_message,
    user_name,
)
from bot.sources.base import Event, Lenient, Source

_MARKDOWN_LINK = re.compile(r"\]\((https?://[^)\s]+)\)")
BUILD_RESULTS = {
    "succeeded": ("succeeded", "success"),
    "partiallysucceeded": ("partially succeeded", "warning"),
    "failed": ("failed", "error"),
    "canceled": ("was canceled", "warning"),
    "stopped": ("was stopped", "warning"),
}
DEPLOYMENT_RESULTS = {
    "succeeded": ("succeeded", "success"),
    "partiallysucceeded": ("partially succeeded", "warning"),
    "failed": ("failed", "error"),
    "rejected": ("was rejected", "error"),
    "canceled": ("was canceled", "warning"),
}
# Merge states of a pull request that is not completed yet which someone has to act on.
MERGE_PROBLEMS = {
    "conflicts": "has merge conflicts",
    "failure": "failed to merge",
    "rejectedbypolicy": "was rejected by policy",
}


# -- schemas --------------------------------------------------------------------------------------
class WebLinks(Lenient):
    web = fields.Nested(Href, allow_none=True)


class Identity(Lenient):
    displayName = fields.Str(allow_none=True)


class Named(Lenient):
    name = fields.Str(allow_none=True)


class Text(Lenient):
    text = fields.Str(allow_none=True)
    markdown = fields.Str(allow_none=True)


class AzurePayload(Lenient):
    """The envelope every service hook shares."""

    eventType = fields.Str(required=True)
    id = fields.Str(allow_none=True)
    resource = fields.Dict(required=True)
    message = fields.Nested(Text, allow_none=True)


class Repository(Lenient):
    name = fields.Str(required=True)
    webUrl = fields.Str(allow_none=True)
    remoteUrl = fields.Str(allow_none=True)


class RefUpdate(Lenient):
    name = fields.Str(required=True)
    oldObjectId = fields.Str(allow_none=True)
    newObjectId = fields.Str(allow_none=True)


class GitCommit(Lenient):
    commitId = fields.Str(required=True)
    comment = fields.Str(allow_none=True)
    author = fields.Nested(Named, allow_none=True)


class Push(Lenient):
    refUpdates = fields.List(fields.Nested(RefUpdate), required=True)
    commits = fields.List(fields.Nested(GitCommit), allow_none=True)
    repository = fields.Nested(Repository, required=True)
    pushedBy = fields.Nested(Identity, allow_none=True)


class PushPayload(AzurePayload):
    resource = fields.Nested(Push, required=True)


class PullRequest(Lenient):
    pullRequestId = fields.Int(required=True)
    title = fields.Str(required=True)
    description = fields.Str(allow_none=True)
    sourceRefName = fields.Str(allow_none=True)
    targetRefName = fields.Str(allow_none=True)
    status = fields.Str(allow_none=True)
    mergeStatus = fields.Str(allow_none=True)
    isDraft = fields.Bool(allow_none=True)
    createdBy = fields.Nested(Identity, allow_none=True)
    closedBy = fields.Nested(Identity, allow_none=True)
    reviewers = fields.List(fields.Nested(Identity), allow_none=True)
    repository = fields.Nested(Repository, required=True)
    links = fields.Nested(WebLinks, data_key="_links", allow_none=True)


class PullRequestPayload(AzurePayload):
    resource = fields.Nested(PullRequest, required=True)


class Build(Lenient):
    buildNumber = fields.Str(required=True)
    result = fields.Str(allow_none=True)
    status = fields.Str(allow_none=True)
    sourceBranch = fields.Str(allow_none=True)
    sourceVersion = fields.Str(allow_none=True)
    definition = fields.Nested(Named, allow_none=True)
    requestedFor = fields.Nested(Identity, allow_none=True)
    links = fields.Nested(WebLinks, data_key="_links", allow_none=True)


class BuildPayload(AzurePayload):
    resource = fields.Nested(Build, required=True)


class Release(Lenient):
    name = fields.Str(allow_none=True)
    releaseDefinition = fields.Nested(Named, allow_none=True)
    links = fields.Nested(WebLinks, data_key="_links", allow_none=True)


class Environment(Lenient):
    name = fields.Str(required=True)
    status = fields.Str(allow_none=True)
    release = fields.Nested(Release, allow_none=True)


class Deployment(Lenient):
    deploymentStatus = fields.Str(allow_none=True)
    requestedFor = fields.Nested(Identity, allow_none=True)


class DeploymentCompleted(Lenient):
    environment = fields.Nested(Environment, required=True)
    release = fields.Nested(Release, allow_none=True)
    deployment = fields.Nested(Deployment, allow_none=True)
    project = fields.Nested(Named, allow_none=True)


class DeploymentPayload(AzurePayload):
    resource = fields.Nested(DeploymentCompleted, required=True)


# -- formatting -----------------------------------------------------------------------------------
def _short_ref(ref) -> str:
    return (ref or "").removeprefix("refs/heads/").removeprefix("refs/tags/")


def _display(identity, default: str = "Someone") -> str:
    return user_name(identity, "displayName") or default


def _web(obj) -> str | None:
    return (((obj or {}).get("_links") or {}).get("web") or {}).get("href")


def _message_link(p: dict) -> str | None:
    """The first link of Azure's own summary, for resources whose payload has no web link."""
    found = _MARKDOWN_LINK.search((p.get("message") or {}).get("markdown") or "")
    return found.group(1) if found else None


def _repo_web(repo: dict) -> str | None:
    """The repository's web page; the clone URL is the same page once the user name is dropped."""
    url = repo.get("webUrl") or repo.get("remoteUrl")
    if not md.safe_url(url):
        return None
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2])).rstrip("/")


def _commit_item(commit: dict, web: str | None, pusher: str) -> str:
    by = other_author([user_name(commit.get("author"), "name")], [pusher])
    sha = commit["commitId"]
    return commit_summary(sha, web and f"{web}/commit/{sha}", commit.get("comment"), by)


def _push_ref(p: dict, update: dict, commits: list[dict]) -> Message:
    push = p["resource"]
    web = _repo_web(push["repository"])
    pusher = _display(push.get("pushedBy"))
    old, new = update.get("oldObjectId") or ZERO_SHA, update.get("newObjectId") or ZERO_SHA
    name = _short_ref(update["name"])
    if new == ZERO_SHA:
        change, url = "deleted", web
    elif old == ZERO_SHA:
        change, url = "created", web and f"{web}?version=GB{name}"
    else:
        change, url = "updated", web and f"{web}/branchCompare?baseVersion=GC{old}&targetVersion=GC{new}&_a=files"
    head = new if new != ZERO_SHA else None
    items = [_commit_item(c, web, pusher) for c in commits] if head else []
    return ref_message(
        push["repository"]["name"],
        md.bold(pusher),
        "tag" if update["name"].startswith("refs/tags/") else "branch",
        name,
        change,
        url=url,
        head=head,
        head_url=web and head and f"{web}/commit/{head}",
        commits=items,
        total=len(items),
    )


def format_push(p: dict) -> list[Message]:
    updates = p["resource"]["refUpdates"]
    # The commits of a push cannot be told apart by ref, so they are listed only for single-ref pushes.
    commits = (p["resource"].get("commits") or []) if len(updates) == 1 else []
    return [_push_ref(p, update, commits) for update in updates]


def _pull_request(p: dict, line: str, severity: str = "info", details: bool = False) -> Message:
    pr = p["resource"]
    return pr_message(
        pr["repository"]["name"],
        pr["pullRequestId"],
        pr["title"],
        _web(pr),
        line,
        reviewers=[md.inline(_display(r)) for r in pr.get("reviewers") or []] if details else None,
        text=pr.get("description") if details else None,
        severity=severity,
        target=_short_ref(pr.get("targetRefName")) or None,
    )


def _refs(pr: dict) -> str:
    return branches(_short_ref(pr.get("sourceRefName")), _short_ref(pr.get("targetRefName")))


def format_pr_created(p: dict) -> Message:
    pr = p["resource"]
    draft = " as a draft" if pr.get("isDraft") else ""
    return _pull_request(p, f"{md.bold(_display(pr.get('createdBy')))} opened {_refs(pr)}{draft}", details=True)


def format_pr_updated(p: dict) -> Message:
    # The payload does not say who changed what; Azure's own one-line summary does.
    summary = md.first_line((p.get("message") or {}).get("text"), 300)
    return _pull_request(p, md.text(summary) if summary else "The pull request was updated.")


def format_pr_merged(p: dict) -> Message:
    pr = p["resource"]
    if (pr.get("status") or "").lower() == "completed":
        who = md.bold(_display(pr.get("closedBy") or pr.get("createdBy")))
        return _pull_request(p, f"{who} merged {_refs(pr)}", "success")
    problem = MERGE_PROBLEMS.get((pr.get("mergeStatus") or "").lower(), "could not be merged")
    return _pull_request(p, f"Merging {_refs(pr)} {problem}.", "warning")


def format_build(p: dict) -> Message:
    build = p["resource"]
    outcome = (build.get("result") or build.get("status") or "").strip()
    word, severity = BUILD_RESULTS.get(outcome.lower(), (outcome.lower() or "finished", "info"))
    pipeline = (build.get("definition") or {}).get("name") or "Build"
    sha = build.get("sourceVersion") or ""
    body = md.fields(
        [
            ("Branch", md.code(_short_ref(build.get("sourceBranch")))),
            ("Commit", md.code(sha[:7])),
            ("Requested by", md.inline(_display(build.get("requestedFor"), ""))),
        ]
    )
    return Message(
        title=f"{pipeline} #{build['buildNumber']} {word}",
        url=_web(build) or _message_link(p),
        severity=severity,
        body=[body],
        branch=_short_ref(build.get("sourceBranch")) or None,
        labels={"pipeline": pipeline},
    )


def format_deployment(p: dict) -> Message:
    res = p["resource"]
    env = res["environment"]
    release = res.get("release") or {}
    env_release = env.get("release") or {}
    name = release.get("name") or env_release.get("name") or "release"
    deployment = res.get("deployment") or {}
    status = (env.get("status") or deployment.get("deploymentStatus") or "").strip()
    word, severity = DEPLOYMENT_RESULTS.get(status.lower(), (status.lower() or "finished", "info"))
    project = (res.get("project") or {}).get("name")
    body = md.fields(
        [
            ("Release pipeline", md.inline((release.get("releaseDefinition") or {}).get("name") or "")),
            ("Requested by", md.inline(_display(deployment.get("requestedFor"), ""))),
        ]
    )
    return Message(
        title=f"{project + ': ' if project else ''}{name} to {env['name']} {word}",
        url=_web(release) or _web(env_release) or _message_link(p),
        severity=severity,
        body=[body],
        labels={"environment": env["name"]},
    )


# -- event rules: why a valid delivery is not posted, and the branch it is about ----------------


def _merge_preview(p: dict) -> str | None:
    pr = p["resource"]
    completed = (pr.get("status") or "").lower() == "completed"
    # Azure test-merges an open pull request after every push; only a completed one was merged.
    if not completed and (pr.get("mergeStatus") or "").lower() not in MERGE_PROBLEMS:
        return "merge preview of a pull request that is still open"
    return None


def _pushed_branch(p: dict) -> str | None:
    refs = [u["name"] for u in p["resource"]["refUpdates"] if u["name"].startswith("refs/heads/")]
    return _short_ref(refs[0]) if refs else None


def _pr_target(p: dict) -> str | None:
    return _short_ref(p["resource"].get("targetRefName")) or None


def _build_branch(p: dict) -> str | None:
    return _short_ref(p["resource"].get("sourceBranch")) or None


class AzureDevOps(Source):
    name = "azure-devops"
    title = "Azure DevOps"
    setup = (
        "Project settings → Service hooks → + → Web Hooks: pick the event, URL https://<relay>/hooks/<route>, "
        "Basic authentication with any user name and <secret> as the password"
    )
    schema = AzurePayload
    events: ClassVar[dict[str, Event]] = {
        "git.push": Event(format_push, PushPayload, branch=_pushed_branch),
        "git.pullrequest.created": Event(format_pr_created, PullRequestPayload, branch=_pr_target),
        "git.pullrequest.updated": Event(format_pr_updated, PullRequestPayload, branch=_pr_target),
        "git.pullrequest.merged": Event(format_pr_merged, PullRequestPayload, ignore=_merge_preview,
                                          branch=_pr_target),
        "build.complete": Event(format_build, BuildPayload, branch=_build_branch),
        "ms.vss-release.deployment-completed-event": Event(format_deployment, DeploymentPayload),
    }

    def detect_event(self, payload, headers):
        return payload["eventType"].strip() or None

    def payload_delivery_id(self, event, payload):
        return payload.get("id") or None


SOURCE = AzureDevOps()
