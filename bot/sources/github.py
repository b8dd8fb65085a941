"""`github`: repository and organization webhooks from GitHub.

Covers code (push, create, delete, commit comments, releases), pull requests and their reviews,
issues and discussions with their comments, CI and deployments (workflow runs and jobs, check runs
and suites, commit statuses, deployments, Pages builds), and repository, team and Sponsors
administration. Actions that are pure noise (a PR being labeled, a workflow being queued, a
comment "edited" without changes) are acknowledged without posting.
"""

from __future__ import annotations

from typing import ClassVar
from urllib.parse import quote

from marshmallow import fields

from bot import markdown as md
from bot.auth import HmacSignature
from bot.message import Message, severity_of
from bot.sources._git import commit_count, commit_item, commit_line, other_author, pushed_branch, tag_of_ref, user_name
from bot.sources.base import Event, Lenient, Source

# -- schemas ---------------------------------------------------------------------------------


class User(Lenient):
    login = fields.Str(required=True)
    html_url = fields.Str(allow_none=True)


class Repository(Lenient):
    name = fields.Str(required=True)
    full_name = fields.Str(required=True)
    html_url = fields.Str(required=True)


class Named(Lenient):
    name = fields.Str(allow_none=True)
    login = fields.Str(allow_none=True)
    title = fields.Str(allow_none=True)
    html_url = fields.Str(allow_none=True)


class GitHubPayload(Lenient):
    """What every GitHub delivery has in common: who sent it and, usually, the repository."""

    action = fields.Str(allow_none=True)
    sender = fields.Nested(User, allow_none=True)
    repository = fields.Nested(Repository, allow_none=True)
    organization = fields.Nested(Named, allow_none=True)
    # What an edit changed: each changed key holds `{"from": <old value>}`.
    changes = fields.Dict(allow_none=True)


class RepoPayload(GitHubPayload):
    repository = fields.Nested(Repository, required=True)


class ActionPayload(RepoPayload):
    action = fields.Str(required=True)


class CommitAuthor(Lenient):
    name = fields.Str(allow_none=True)
    username = fields.Str(allow_none=True)


class Commit(Lenient):
    id = fields.Str(required=True)
    url = fields.Str(allow_none=True)
    message = fields.Str(allow_none=True)
    author = fields.Nested(CommitAuthor, allow_none=True)


class PushSchema(RepoPayload):
    ref = fields.Str(required=True)
    compare = fields.Str(allow_none=True)
    created = fields.Bool(allow_none=True)
    deleted = fields.Bool(allow_none=True)
    forced = fields.Bool(allow_none=True)
    commits = fields.List(fields.Nested(Commit), allow_none=True)
    pusher = fields.Nested(Named, allow_none=True)


class RefSchema(RepoPayload):
    ref = fields.Str(required=True)
    ref_type = fields.Str(required=True)


class Branch(Lenient):
    ref = fields.Str(required=True)
    label = fields.Str(allow_none=True)


class PullRequest(Lenient):
    number = fields.Int(required=True)
    title = fields.Str(required=True)
    html_url = fields.Str(required=True)
    body = fields.Str(allow_none=True)
    merged = fields.Bool(allow_none=True)
    active_lock_reason = fields.Str(allow_none=True)
    head = fields.Nested(Branch, required=True)
    base = fields.Nested(Branch, required=True)
    assignees = fields.List(fields.Nested(User), allow_none=True)
    requested_reviewers = fields.List(fields.Nested(User), allow_none=True)


class PullRequestSchema(ActionPayload):
    pull_request = fields.Nested(PullRequest, required=True)
    assignee = fields.Nested(User, allow_none=True)
    requested_reviewer = fields.Nested(User, allow_none=True)
    requested_team = fields.Nested(Named, allow_none=True)
    milestone = fields.Nested(Named, allow_none=True)


class Review(Lenient):
    html_url = fields.Str(required=True)
    state = fields.Str(allow_none=True)
    body = fields.Str(allow_none=True)
    user = fields.Nested(User, allow_none=True)


class ReviewSchema(ActionPayload):
    pull_request = fields.Nested(PullRequest, required=True)
    review = fields.Nested(Review, required=True)


class Comment(Lenient):
    html_url = fields.Str(required=True)
    body = fields.Str(allow_none=True)
    path = fields.Str(allow_none=True)


class CommentPayload(ActionPayload):
    comment = fields.Nested(Comment, required=True)


class ReviewCommentSchema(CommentPayload):
    pull_request = fields.Nested(PullRequest, required=True)


class CommitComment(Comment):
    commit_id = fields.Str(required=True)


class CommitCommentSchema(CommentPayload):
    comment = fields.Nested(CommitComment, required=True)


class Issue(Lenient):
    number = fields.Int(required=True)
    title = fields.Str(required=True)
    html_url = fields.Str(required=True)
    body = fields.Str(allow_none=True)
    state_reason = fields.Str(allow_none=True)
    active_lock_reason = fields.Str(allow_none=True)
    pull_request = fields.Dict(allow_none=True)


class IssueSchema(ActionPayload):
    issue = fields.Nested(Issue, required=True)
    assignee = fields.Nested(User, allow_none=True)
    label = fields.Nested(Named, allow_none=True)
    milestone = fields.Nested(Named, allow_none=True)


class IssueCommentSchema(CommentPayload):
    issue = fields.Nested(Issue, required=True)


class Release(Lenient):
    tag_name = fields.Str(required=True)
    html_url = fields.Str(required=True)
    name = fields.Str(allow_none=True)
    body = fields.Str(allow_none=True)
    prerelease = fields.Bool(allow_none=True)


class ReleaseSchema(ActionPayload):
    release = fields.Nested(Release, required=True)


class HeadCommit(Lenient):
    message = fields.Str(allow_none=True)


class PullRef(Lenient):
    number = fields.Int(required=True)


class WorkflowRun(Lenient):
    html_url = fields.Str(required=True)
    name = fields.Str(allow_none=True)
    run_number = fields.Int(allow_none=True)
    run_attempt = fields.Int(allow_none=True)
    event = fields.Str(allow_none=True)
    conclusion = fields.Str(allow_none=True)
    head_branch = fields.Str(allow_none=True)
    head_sha = fields.Str(allow_none=True)
    head_commit = fields.Nested(HeadCommit, allow_none=True)
    actor = fields.Nested(User, allow_none=True)
    pull_requests = fields.List(fields.Nested(PullRef), allow_none=True)


class WorkflowRunSchema(ActionPayload):
    workflow_run = fields.Nested(WorkflowRun, required=True)
    workflow = fields.Nested(Named, allow_none=True)


class Step(Lenient):
    name = fields.Str(allow_none=True)
    conclusion = fields.Str(allow_none=True)


class WorkflowJob(Lenient):
    html_url = fields.Str(required=True)
    name = fields.Str(required=True)
    workflow_name = fields.Str(allow_none=True)
    conclusion = fields.Str(allow_none=True)
    head_branch = fields.Str(allow_none=True)
    head_sha = fields.Str(allow_none=True)
    steps = fields.List(fields.Nested(Step), allow_none=True)


class WorkflowJobSchema(ActionPayload):
    workflow_job = fields.Nested(WorkflowJob, required=True)


class CheckSuite(Lenient):
    conclusion = fields.Str(allow_none=True)
    head_branch = fields.Str(allow_none=True)
    head_sha = fields.Str(allow_none=True)
    head_commit = fields.Nested(HeadCommit, allow_none=True)
    app = fields.Nested(Named, allow_none=True)


class CheckRun(Lenient):
    name = fields.Str(required=True)
    status = fields.Str(allow_none=True)
    conclusion = fields.Str(allow_none=True)
    html_url = fields.Str(allow_none=True)
    head_sha = fields.Str(allow_none=True)
    check_suite = fields.Nested(CheckSuite, allow_none=True)
    output = fields.Nested(Named, allow_none=True)


class CheckRunSchema(ActionPayload):
    check_run = fields.Nested(CheckRun, required=True)


class CheckSuiteSchema(ActionPayload):
    check_suite = fields.Nested(CheckSuite, required=True)


class StatusCommit(Lenient):
    html_url = fields.Str(allow_none=True)
    commit = fields.Nested(HeadCommit, allow_none=True)


class StatusSchema(RepoPayload):
    sha = fields.Str(required=True)
    state = fields.Str(required=True)
    context = fields.Str(allow_none=True)
    description = fields.Str(allow_none=True)
    target_url = fields.Str(allow_none=True)
    commit = fields.Nested(StatusCommit, allow_none=True)


class Deployment(Lenient):
    environment = fields.Str(allow_none=True)
    ref = fields.Str(allow_none=True)
    sha = fields.Str(allow_none=True)
    description = fields.Str(allow_none=True)


class DeploymentSchema(RepoPayload):
    deployment = fields.Nested(Deployment, required=True)


class DeploymentStatus(Lenient):
    state = fields.Str(required=True)
    description = fields.Str(allow_none=True)
    target_url = fields.Str(allow_none=True)
    log_url = fields.Str(allow_none=True)
    environment_url = fields.Str(allow_none=True)


class DeploymentStatusSchema(DeploymentSchema):
    deployment_status = fields.Nested(DeploymentStatus, required=True)


class Discussion(Lenient):
    number = fields.Int(required=True)
    title = fields.Str(required=True)
    html_url = fields.Str(required=True)
    body = fields.Str(allow_none=True)
    state_reason = fields.Str(allow_none=True)
    active_lock_reason = fields.Str(allow_none=True)
    category = fields.Nested(Named, allow_none=True)


class DiscussionSchema(ActionPayload):
    discussion = fields.Nested(Discussion, required=True)
    label = fields.Nested(Named, allow_none=True)
    answer = fields.Nested(Comment, allow_none=True)
    old_answer = fields.Nested(Comment, allow_none=True)


class DiscussionCommentSchema(CommentPayload):
    discussion = fields.Nested(Discussion, required=True)


class Forkee(Lenient):
    full_name = fields.Str(required=True)
    html_url = fields.Str(required=True)
    owner = fields.Nested(User, allow_none=True)


class ForkSchema(RepoPayload):
    forkee = fields.Nested(Forkee, required=True)


class MemberSchema(ActionPayload):
    member = fields.Nested(User, required=True)


class Team(Lenient):
    name = fields.Str(required=True)
    html_url = fields.Str(allow_none=True)
    description = fields.Str(allow_none=True)
    privacy = fields.Str(allow_none=True)


class MembershipSchema(GitHubPayload):
    action = fields.Str(required=True)
    member = fields.Nested(User, required=True)
    team = fields.Nested(Team, required=True)


class TeamSchema(GitHubPayload):
    action = fields.Str(required=True)
    team = fields.Nested(Team, required=True)


class TeamAddSchema(RepoPayload):
    team = fields.Nested(Team, required=True)


class WikiPage(Lenient):
    title = fields.Str(allow_none=True)
    action = fields.Str(allow_none=True)
    html_url = fields.Str(allow_none=True)


class GollumSchema(RepoPayload):
    pages = fields.List(fields.Nested(WikiPage), required=True)


class Label(Lenient):
    name = fields.Str(required=True)


class LabelSchema(ActionPayload):
    label = fields.Nested(Label, required=True)


class Milestone(Lenient):
    title = fields.Str(required=True)
    html_url = fields.Str(allow_none=True)


class MilestoneSchema(ActionPayload):
    milestone = fields.Nested(Milestone, required=True)


class BuildError(Lenient):
    message = fields.Str(allow_none=True)


class Build(Lenient):
    status = fields.Str(allow_none=True)
    commit = fields.Str(allow_none=True)
    error = fields.Nested(BuildError, allow_none=True)
    pusher = fields.Nested(User, allow_none=True)


class PageBuildSchema(RepoPayload):
    build = fields.Nested(Build, required=True)


class Sponsorship(Lenient):
    sponsor = fields.Nested(User, allow_none=True)
    sponsorable = fields.Nested(User, allow_none=True)
    tier = fields.Nested(Named, allow_none=True)
    privacy_level = fields.Str(allow_none=True)


class SponsorshipSchema(GitHubPayload):
    action = fields.Str(required=True)
    sponsorship = fields.Nested(Sponsorship, required=True)
    effective_date = fields.Str(allow_none=True)


# -- helpers ---------------------------------------------------------------------------------

# How the conclusions and states GitHub reports for workflow runs and jobs, checks, commit
# statuses, deployments and Pages builds read in a title, and their severity.
OUTCOMES = {
    "success": ("succeeded", "success"),
    "built": ("succeeded", "success"),
    "failure": ("failed", "error"),
    "errored": ("failed", "error"),
    "error": ("errored", "error"),
    "timed_out": ("timed out", "error"),
    "startup_failure": ("failed to start", "error"),
    "cancelled": ("was cancelled", "warning"),
    "action_required": ("needs action", "warning"),
    "skipped": ("was skipped", "info"),
    "neutral": ("finished (neutral)", "info"),
    "stale": ("went stale", "info"),
    "pending": ("is pending", "info"),
    "queued": ("is queued", "info"),
    "in_progress": ("is in progress", "info"),
    "building": ("started", "info"),
    "inactive": ("is inactive", "info"),
}

MERGE_QUEUE_PREFIX = "refs/heads/gh-readonly-queue/"


def _outcome(value) -> tuple[str, str]:
    value = (value or "").lower()
    if value in OUTCOMES:
        return OUTCOMES[value]
    return (f"finished ({value})" if value else "finished"), severity_of(value)


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _repo(p: dict) -> dict:
    return _dict(p.get("repository"))


def _in_repo(p: dict) -> str:
    name = _repo(p).get("full_name")
    return f" in {name}" if name else ""


def _actor(p: dict) -> str:
    return user_name(p.get("sender"), "login") or user_name(p.get("pusher"), "name") or "Someone"


def _words(action: str) -> str:
    return (action or "updated").replace("_", " ")


def _quote(value, limit: int = 600) -> str:
    value = (value or "").strip()
    return md.quote(value, limit=limit, max_lines=10) if value else ""


def _commit(p: dict, sha, message=None, url=None) -> str:
    """A short commit id, linked to its page in the repository unless `url` says where, then the
    first line of its message."""
    return commit_line(sha, url or f"{_repo(p).get('html_url')}/commit/{sha}", message) if sha else ""


def _from(changes, key: str):
    """The previous value of `key` in an edit's `changes`, if that key changed."""
    return _dict(_dict(changes).get(key)).get("from")


def _message(p: dict, title: str, url, body=(), severity: str = "info", branch=None) -> Message:
    return Message(
        title=title,
        url=url,
        severity=severity,
        body=[b for b in body if b],
        branch=branch,
        repo=_repo(p).get("full_name"),
    )


# -- code ------------------------------------------------------------------------------------


def _commit_item(p: dict, commit: dict) -> str:
    """One pushed commit, its author always named (GitHub pushes often carry others' commits)."""
    author = commit.get("author")
    by = other_author([user_name(author, "username"), user_name(author, "name")])
    url = commit.get("url") or f"{_repo(p).get('html_url')}/commit/{commit['id']}"
    return commit_item(commit["id"], url, commit.get("message"), by)


def format_push(p: dict) -> Message:
    ref, repo, who = p["ref"], _repo(p), _actor(p)
    tag = tag_of_ref(ref)
    if tag is not None:
        if p.get("deleted"):
            return _message(p, f"{who} deleted tag {tag}{_in_repo(p)}", repo["html_url"])
        return _message(p, f"{who} pushed tag {tag}{_in_repo(p)}", f"{repo['html_url']}/tree/{quote(tag)}")
    branch = pushed_branch(ref) or ref
    if p.get("deleted"):
        return _message(p, f"{who} deleted branch {branch}{_in_repo(p)}", p.get("compare"), branch=branch)
    commits = p.get("commits") or []
    verb = "force-pushed" if p.get("forced") else "pushed"
    target = f"new branch {branch}" if p.get("created") else branch
    if commits:
        title = f"{who} {verb} {commit_count(len(commits))} to {target}{_in_repo(p)}"
    else:
        title = f"{who} {verb} {'new branch' if p.get('created') else 'branch'} {branch}{_in_repo(p)}"
    return _message(
        p,
        title,
        p.get("compare"),
        [md.bullets([_commit_item(p, c) for c in commits])] if commits else [],
        severity="warning" if p.get("forced") else "info",
        branch=branch,
    )


def format_create(p: dict) -> Message:
    ref, kind = p["ref"], p["ref_type"]
    url = f"{_repo(p)['html_url']}/tree/{quote(ref)}" if kind in ("branch", "tag") else _repo(p)["html_url"]
    return _message(p, f"{_actor(p)} created {kind} {ref}{_in_repo(p)}", url, branch=ref if kind == "branch" else None)


def format_delete(p: dict) -> Message:
    ref, kind = p["ref"], p["ref_type"]
    return _message(
        p,
        f"{_actor(p)} deleted {kind} {ref}{_in_repo(p)}",
        _repo(p)["html_url"],
        branch=ref if kind == "branch" else None,
    )


def format_commit_comment(p: dict) -> Message:
    comment = p["comment"]
    return _message(
        p,
        f"{_actor(p)} commented on commit {comment['commit_id'][:7]}{_in_repo(p)}",
        comment["html_url"],
        [md.fields([("File", md.code(comment.get("path")))]), _quote(comment.get("body"))],
    )


def format_release(p: dict) -> Message:
    release = p["release"]
    name = release.get("name") or release["tag_name"]
    kind = "pre-release" if release.get("prerelease") else "release"
    action = p["action"]
    published = action == "published"
    return _message(
        p,
        f"{_actor(p)} {_words(action)} {kind} {name}{_in_repo(p)}",
        release["html_url"],
        [md.fields([("Tag", md.code(release["tag_name"]))]), _quote(release.get("body"), 500) if published else ""],
        severity="success" if published else "info",
    )


# -- pull requests, issues and discussions ---------------------------------------------------

# Pull request actions that read "<who> <phrase>", with {ref} standing for "PR #n".
PR_PHRASES = {
    "synchronize": "updated {ref}",
    "ready_for_review": "marked {ref} ready for review",
    "converted_to_draft": "converted {ref} to a draft",
    "auto_merge_enabled": "enabled auto-merge for {ref}",
    "auto_merge_disabled": "disabled auto-merge for {ref}",
    "enqueued": "added {ref} to the merge queue",
    "dequeued": "removed {ref} from the merge queue",
}

IGNORED_PR_ACTIONS = {
    "labeled": "pull_request labeled: label changes are not posted",
    "unlabeled": "pull_request unlabeled: label changes are not posted",
    "review_request_removed": "pull_request review_request_removed: withdrawn review requests are not posted",
}


def _logins(users) -> str:
    return ", ".join(md.inline(user["login"]) for user in users or [])


def _comment_phrase(action: str) -> str:
    return "commented on" if action == "created" else f"{_words(action)} a comment on"


def _thread_phrase(p: dict, item: dict, ref: str) -> tuple[str, list[str]]:
    """What happened to an issue, pull request or discussion, and the body blocks detailing it.

    These actions read the same for all three; callers handle their own special actions first.
    """
    action, changes = p["action"], _dict(p.get("changes"))
    if action in ("assigned", "unassigned"):
        who = _dict(p.get("assignee")).get("login") or "someone"
        return (f"assigned {who} to {ref}" if action == "assigned" else f"unassigned {who} from {ref}"), []
    if action in ("labeled", "unlabeled"):
        label = _dict(p.get("label")).get("name") or "a label"
        return (f"added label {label} to {ref}" if action == "labeled" else f"removed label {label} from {ref}"), []
    if action in ("milestoned", "demilestoned"):
        milestone = _dict(p.get("milestone"))
        name = milestone.get("title") or "a milestone"
        linked = md.fields([("Milestone", md.link(name, milestone.get("html_url")))])
        phrase = f"added {ref} to" if action == "milestoned" else f"removed {ref} from"
        return f"{phrase} milestone {name}", [linked]
    if action == "edited":
        old_title = _from(changes, "title")
        body = [md.fields([("Title was", md.inline(old_title))])]
        return f"edited {ref}", body + ([_quote(item.get("body"))] if "body" in changes else [])
    if action == "closed" and item.get("state_reason") not in (None, "completed"):
        return f"closed {ref} as {_words(item['state_reason'])}", []
    if action == "locked" and item.get("active_lock_reason"):
        return f"locked {ref} as {_words(item['active_lock_reason'])}", []
    if action == "transferred":
        new = _dict(changes.get("new_issue") or changes.get("new_discussion"))
        target = f"{_dict(changes.get('new_repository')).get('full_name') or ''}#{new.get('number')}"
        return f"transferred {ref} to {target}", [md.fields([("Now", md.link(target, new.get("html_url")))])]
    return f"{_words(action)} {ref}", []


def format_pull_request(p: dict) -> Message:
    pr, action = p["pull_request"], p["action"]
    ref = f"PR #{pr['number']}"
    body = []
    if action == "opened":
        head, base = pr["head"], pr["base"]
        branches = f"{md.code(head.get('label') or head['ref'])} → {md.code(base.get('label') or base['ref'])}"
        people = [("Assignees", _logins(pr.get("assignees"))), ("Reviewers", _logins(pr.get("requested_reviewers")))]
        phrase, body = f"opened {ref}", [md.fields([("Branches", branches), *people]), _quote(pr.get("body"))]
    elif action == "closed":
        phrase = f"merged {ref}" if pr.get("merged") else f"closed {ref} without merging"
    elif action == "review_requested":
        reviewer = _dict(p.get("requested_reviewer")) or _dict(p.get("requested_team"))
        name = reviewer.get("login") or reviewer.get("name") or "someone"
        phrase = f"requested a review from {name} on {ref}"
        body = [md.fields([("Reviewer", md.link(name, reviewer.get("html_url")))])]
    elif action in PR_PHRASES:
        phrase = PR_PHRASES[action].format(ref=ref)
    else:
        phrase, body = _thread_phrase(p, pr, ref)
    return _message(
        p,
        f"{_actor(p)} {phrase}{_in_repo(p)}: {pr['title']}",
        pr["html_url"],
        body,
        severity="success" if action == "closed" and pr.get("merged") else "info",
        branch=pr["base"]["ref"],
    )


def format_pull_request_review(p: dict) -> Message:
    pr, review, action = p["pull_request"], p["review"], p["action"]
    ref = f"PR #{pr['number']}"
    state = (review.get("state") or "").lower()
    severity = "info"
    if action == "dismissed":
        author = _dict(review.get("user")).get("login")
        phrase = f"dismissed {author}'s review on {ref}" if author else f"dismissed a review on {ref}"
    elif action == "edited":
        phrase = f"edited a review on {ref}"
    elif state == "approved":
        phrase, severity = f"approved {ref}", "success"
    elif state == "changes_requested":
        phrase, severity = f"requested changes on {ref}", "warning"
    else:
        phrase = f"reviewed {ref}"
    return _message(
        p,
        f"{_actor(p)} {phrase}{_in_repo(p)}: {pr['title']}",
        review["html_url"],
        [_quote(review.get("body"))],
        severity=severity,
        branch=pr["base"]["ref"],
    )


def format_pull_request_review_comment(p: dict) -> Message:
    pr, comment = p["pull_request"], p["comment"]
    return _message(
        p,
        f"{_actor(p)} {_comment_phrase(p['action'])} PR #{pr['number']}{_in_repo(p)}: {pr['title']}",
        comment["html_url"],
        [md.fields([("File", md.code(comment.get("path")))]), _quote(comment.get("body"))],
        branch=pr["base"]["ref"],
    )


def format_issues(p: dict) -> Message:
    issue, changes = p["issue"], _dict(p.get("changes"))
    # GitHub sends `issues` events for pull requests too (milestones, labels); name them as such.
    ref = f"{'PR' if issue.get('pull_request') else 'issue'} #{issue['number']}"
    old = _dict(changes.get("old_issue"))
    if p["action"] == "opened" and old:
        origin = f"{_dict(changes.get('old_repository')).get('full_name') or ''}#{old.get('number')}"
        phrase, body = f"transferred {ref} here", [md.fields([("From", md.link(origin, old.get("html_url")))])]
    elif p["action"] == "opened":
        phrase, body = f"opened {ref}", [_quote(issue.get("body"))]
    else:
        phrase, body = _thread_phrase(p, issue, ref)
    return _message(p, f"{_actor(p)} {phrase}{_in_repo(p)}: {issue['title']}", issue["html_url"], body)


def format_issue_comment(p: dict) -> Message:
    issue, comment = p["issue"], p["comment"]
    kind = "PR" if issue.get("pull_request") else "issue"
    return _message(
        p,
        f"{_actor(p)} {_comment_phrase(p['action'])} {kind} #{issue['number']}{_in_repo(p)}: {issue['title']}",
        comment["html_url"],
        [_quote(comment.get("body"))],
    )


def format_discussion(p: dict) -> Message:
    discussion, action = p["discussion"], p["action"]
    ref, url = f"discussion #{discussion['number']}", discussion["html_url"]
    category = _dict(discussion.get("category")).get("name") or "another category"
    if action == "created":
        phrase = f"started {ref}"
        body = [md.fields([("Category", md.inline(category))]), _quote(discussion.get("body"))]
    elif action == "category_changed":
        old = _dict(_from(p.get("changes"), "category")).get("name") or "another category"
        phrase, body = f"moved {ref} from {old} to {category}", []
    elif action == "answered":
        answer = _dict(p.get("answer"))
        phrase, url, body = f"marked an answer on {ref}", answer.get("html_url") or url, [_quote(answer.get("body"))]
    elif action == "unanswered":
        phrase, url, body = f"unmarked the answer on {ref}", _dict(p.get("old_answer")).get("html_url") or url, []
    else:
        phrase, body = _thread_phrase(p, discussion, ref)
    return _message(p, f"{_actor(p)} {phrase}{_in_repo(p)}: {discussion['title']}", url, body)


def format_discussion_comment(p: dict) -> Message:
    discussion, comment = p["discussion"], p["comment"]
    return _message(
        p,
        f"{_actor(p)} {_comment_phrase(p['action'])} discussion #{discussion['number']}{_in_repo(p)}: "
        f"{discussion['title']}",
        comment["html_url"],
        [_quote(comment.get("body"))],
    )


# -- CI and deployments ----------------------------------------------------------------------


def _on(branch) -> str:
    return f" on {branch}" if branch else ""


def format_workflow_run(p: dict) -> Message:
    run = p["workflow_run"]
    name = run.get("name") or _dict(p.get("workflow")).get("name") or "Workflow"
    number = f" #{run['run_number']}" if run.get("run_number") else ""
    word, severity = _outcome(run.get("conclusion"))
    event = f"({md.inline(run.get('event'))})" if run.get("event") else ""
    trigger = " ".join(filter(None, [md.inline(_dict(run.get("actor")).get("login")), event]))
    repo_url = _repo(p)["html_url"]
    prs = ", ".join(
        md.link(f"#{pr['number']}", f"{repo_url}/pull/{pr['number']}") for pr in run.get("pull_requests") or []
    )
    attempt = run.get("run_attempt")
    details = [
        ("Commit", _commit(p, run.get("head_sha"), _dict(run.get("head_commit")).get("message"))),
        ("Triggered by", trigger),
        ("Pull requests", prs),
        ("Attempt", str(attempt) if isinstance(attempt, int) and attempt > 1 else ""),
    ]
    return _message(
        p,
        f"{name}{number} {word}{_on(run.get('head_branch'))}{_in_repo(p)}",
        run["html_url"],
        [md.fields(details)],
        severity=severity,
        branch=run.get("head_branch"),
    )


def format_workflow_job(p: dict) -> Message:
    job = p["workflow_job"]
    name = f"{job['workflow_name']} / {job['name']}" if job.get("workflow_name") else job["name"]
    word, severity = _outcome(job.get("conclusion"))
    failed = [md.code(s.get("name")) for s in job.get("steps") or [] if s.get("conclusion") == "failure"]
    return _message(
        p,
        f"Job {name} {word}{_on(job.get('head_branch'))}{_in_repo(p)}",
        job["html_url"],
        [md.fields([("Failed steps", ", ".join(failed)), ("Commit", _commit(p, job.get("head_sha")))])],
        severity=severity,
        branch=job.get("head_branch"),
    )


def format_check_run(p: dict) -> Message:
    run = p["check_run"]
    branch = _dict(run.get("check_suite")).get("head_branch")
    word, severity = _outcome(run.get("conclusion"))
    summary = md.inline(_dict(run.get("output")).get("title"))
    return _message(
        p,
        f"Check {run['name']} {word}{_on(branch)}{_in_repo(p)}",
        run.get("html_url"),
        [md.fields([("Commit", _commit(p, run.get("head_sha"))), ("Summary", summary)])],
        severity=severity,
        branch=branch,
    )


def format_check_suite(p: dict) -> Message:
    suite = p["check_suite"]
    app = _dict(suite.get("app")).get("name")
    word, severity = _outcome(suite.get("conclusion"))
    sha = suite.get("head_sha")
    return _message(
        p,
        f"Checks{f' by {app}' if app else ''} {word}{_on(suite.get('head_branch'))}{_in_repo(p)}",
        f"{_repo(p)['html_url']}/commit/{sha}" if sha else _repo(p)["html_url"],
        [md.fields([("Commit", _commit(p, sha, _dict(suite.get("head_commit")).get("message")))])],
        severity=severity,
        branch=suite.get("head_branch"),
    )


def format_status(p: dict) -> Message:
    word, severity = _outcome(p["state"])
    sha, commit = p["sha"], _dict(p.get("commit"))
    details = [
        ("Description", md.inline(p.get("description"))),
        ("Commit", _commit(p, sha, _dict(commit.get("commit")).get("message"))),
    ]
    return _message(
        p,
        f"{p.get('context') or 'Status'} {word} for {sha[:7]}{_in_repo(p)}",
        p.get("target_url") or commit.get("html_url"),
        [md.fields(details)],
        severity=severity,
    )


def _deployment_fields(p: dict, deployment: dict, description=None, site=None) -> str:
    return md.fields(
        [
            ("Ref", md.code(deployment.get("ref"))),
            ("Commit", _commit(p, deployment.get("sha"))),
            ("Description", md.inline(description)),
            ("Environment URL", md.link(site, site) if md.safe_url(site) else ""),
        ]
    )


def format_deployment(p: dict) -> Message:
    deployment = p["deployment"]
    return _message(
        p,
        f"{_actor(p)} started a deployment to {deployment.get('environment') or 'an environment'}{_in_repo(p)}",
        f"{_repo(p)['html_url']}/deployments",
        [_deployment_fields(p, deployment, deployment.get("description"))],
    )


def format_deployment_status(p: dict) -> Message:
    deployment, status = p["deployment"], p["deployment_status"]
    word, severity = _outcome(status["state"])
    environment = deployment.get("environment") or "an environment"
    return _message(
        p,
        f"Deployment to {environment} {word}{_in_repo(p)}",
        status.get("target_url") or status.get("log_url") or f"{_repo(p)['html_url']}/deployments",
        [_deployment_fields(p, deployment, status.get("description"), status.get("environment_url"))],
        severity=severity,
    )


def format_page_build(p: dict) -> Message:
    build = p["build"]
    word, severity = _outcome(build.get("status"))
    details = [
        ("Triggered by", md.inline(_dict(build.get("pusher")).get("login"))),
        ("Commit", _commit(p, build.get("commit"))),
    ]
    return _message(
        p,
        f"GitHub Pages build {word}{_in_repo(p)}",
        _repo(p)["html_url"],
        [md.fields(details), _quote(_dict(build.get("error")).get("message"))],
        severity=severity,
    )


# -- repository, organization and sponsors ---------------------------------------------------


def format_fork(p: dict) -> Message:
    forkee = p["forkee"]
    who = _dict(forkee.get("owner")).get("login") or _actor(p)
    return _message(p, f"{who} forked {_repo(p)['full_name']} to {forkee['full_name']}", forkee["html_url"])


def format_star(p: dict) -> Message:
    verb = "unstarred" if p.get("action") == "deleted" else "starred"
    return _message(p, f"{_actor(p)} {verb} {_repo(p)['full_name']}", _repo(p)["html_url"])


def format_public(p: dict) -> Message:
    return _message(p, f"{_actor(p)} made {_repo(p)['full_name']} public", _repo(p)["html_url"])


REPOSITORY_PHRASES = {
    "publicized": "made repository {repo} public",
    "privatized": "made repository {repo} private",
}


def format_repository(p: dict) -> Message:
    repo, action = _repo(p), p["action"]
    phrase = REPOSITORY_PHRASES.get(action, _words(action) + " repository {repo}").format(repo=repo["full_name"])
    old_name = _from(_dict(p.get("changes")).get("repository"), "name")
    if action == "renamed" and old_name:
        # `changes` holds the bare old name; a rename keeps the owner, so both sides read owner/name.
        owner = repo["full_name"].rpartition("/")[0]
        old = f"{owner}/{old_name}" if owner else old_name
        phrase = f"renamed repository {old} to {repo['full_name']}"
    return _message(p, f"{_actor(p)} {phrase}", repo["html_url"], severity="warning" if action == "deleted" else "info")


def format_member(p: dict) -> Message:
    member, action, repo = p["member"], p["action"], _repo(p)["full_name"]
    phrase = {
        "added": f"added {member['login']} as a collaborator to {repo}",
        "removed": f"removed collaborator {member['login']} from {repo}",
    }.get(action, f"changed the access of {member['login']} to {repo}")
    return _message(p, f"{_actor(p)} {phrase}", member.get("html_url"))


def _org(p: dict) -> str:
    login = _dict(p.get("organization")).get("login")
    return f" in {login}" if login else ""


def format_membership(p: dict) -> Message:
    member, team = p["member"], p["team"]["name"]
    phrase = f"removed {member['login']} from" if p["action"] == "removed" else f"added {member['login']} to"
    return _message(p, f"{_actor(p)} {phrase} team {team}{_org(p)}", member.get("html_url"))


def format_team(p: dict) -> Message:
    team, action, changes = p["team"], p["action"], _dict(p.get("changes"))
    name, body, org = team["name"], [], _org(p)
    if action == "edited" and _from(changes, "name"):
        phrase = f"renamed team {_from(changes, 'name')} to {name}"
    elif action == "edited" and _from(changes, "privacy"):
        phrase = f"changed the visibility of team {name} from {_from(changes, 'privacy')} to {team.get('privacy')}"
    elif action == "edited" and "description" in changes:
        phrase, body = f"changed the description of team {name}", [_quote(team.get("description"))]
    elif action in ("added_to_repository", "removed_from_repository") and _repo(p):
        verb = "gave" if action == "added_to_repository" else "removed"
        phrase = f"{verb} team {name} {'access to' if verb == 'gave' else 'from'} {_repo(p)['full_name']}"
        org = ""  # the repository's full name already names the organization
    else:
        phrase = f"{_words(action)} team {name}"
    return _message(p, f"{_actor(p)} {phrase}{org}", team.get("html_url"), body)


def format_team_add(p: dict) -> Message:
    return _message(p, f"{_repo(p)['full_name']} was added to team {p['team']['name']}", _repo(p)["html_url"])


def format_gollum(p: dict) -> Message:
    pages = p["pages"]
    items = [
        f"{md.inline(page.get('action') or 'edited')} {md.link(page.get('title'), page.get('html_url'))}"
        for page in pages
    ]
    count = f"{len(pages)} wiki page" + ("s" if len(pages) != 1 else "")
    url = (pages[0].get("html_url") if pages else None) or f"{_repo(p)['html_url']}/wiki"
    return _message(p, f"{_actor(p)} updated {count}{_in_repo(p)}", url, [md.bullets(items)])


def format_label(p: dict) -> Message:
    name, action = p["label"]["name"], p["action"]
    old = _from(p.get("changes"), "name")
    phrase = f"renamed label {old} to {name}" if action == "edited" and old else f"{_words(action)} label {name}"
    return _message(p, f"{_actor(p)} {phrase}{_in_repo(p)}", f"{_repo(p)['html_url']}/labels")


def format_milestone(p: dict) -> Message:
    milestone = p["milestone"]
    return _message(
        p,
        f"{_actor(p)} {_words(p['action'])} milestone {milestone['title']}{_in_repo(p)}",
        milestone.get("html_url") or f"{_repo(p)['html_url']}/milestones",
    )


def _tier(value) -> str:
    return _dict(value).get("name") or "a custom amount"


def format_sponsorship(p: dict) -> Message:
    sponsorship, action, changes = p["sponsorship"], p["action"], _dict(p.get("changes"))
    sponsor = _dict(sponsorship.get("sponsor")).get("login") or _actor(p)
    sponsorable = _dict(sponsorship.get("sponsorable"))
    of = f" of {sponsorable['login']}" if sponsorable.get("login") else ""
    tier, old_tier = _tier(sponsorship.get("tier")), _tier(_from(changes, "tier"))
    when = (p.get("effective_date") or "")[:10] or "the end of the billing cycle"
    old_privacy = _from(changes, "privacy_level")
    if action == "edited" and not old_privacy:
        action = "updated"
    title = {
        "created": f"{sponsor} started a {tier} sponsorship{of}",
        "cancelled": f"{sponsor} cancelled their {tier} sponsorship{of}",
        "edited": f"{sponsor} changed the visibility of their sponsorship{of} from {old_privacy} to "
        f"{sponsorship.get('privacy_level')}",
        "tier_changed": f"{sponsor} changed their sponsorship{of} from {old_tier} to {tier}",
        "pending_cancellation": f"{sponsor}'s {tier} sponsorship{of} will be cancelled on {when}",
        "pending_tier_change": f"{sponsor}'s sponsorship{of} will change from {old_tier} to {tier} on {when}",
    }.get(action, f"{sponsor}'s sponsorship{of} was {_words(action)}")
    return _message(p, title, sponsorable.get("html_url"), severity="warning" if action == "cancelled" else "info")


# -- the source ------------------------------------------------------------------------------


def _unchanged_comment_edit(p: dict) -> bool:
    body = _dict(_dict(p.get("changes")).get("body"))
    return p.get("action") == "edited" and "from" in body and body["from"] == _dict(p.get("comment")).get("body")


# -- event rules: why a valid delivery is not posted, and the branch it is about ----------------


def _unless_merge_queue(p: dict) -> str | None:
    return "push: merge queue branches are not posted" if p["ref"].startswith(MERGE_QUEUE_PREFIX) else None


def _pr_action(p: dict) -> str | None:
    return IGNORED_PR_ACTIONS.get(p.get("action"))


def _unchanged_review(p: dict) -> str | None:
    if p.get("action") == "edited" and not p.get("changes"):
        return "pull_request_review edited: nothing changed"
    return None


def _unchanged_comment(p: dict) -> str | None:
    return "comment edited: the text did not change" if _unchanged_comment_edit(p) else None


def _unpublished_release(p: dict) -> str | None:
    if p.get("action") in ("created", "released", "prereleased"):
        return "release: only published, edited, unpublished and deleted releases are posted"
    return None


def _completed(event: str, noun: str):
    return lambda p: None if p.get("action") == "completed" else f"{event}: only completed {noun} are posted"


def _completed_check_run(p: dict) -> str | None:
    return None if p["check_run"].get("status") == "completed" else "check_run: only completed check runs are posted"


def _pushed_branch(p: dict) -> str | None:
    return pushed_branch(p["ref"])


def _created_branch(p: dict) -> str | None:
    return p["ref"] if p["ref_type"] == "branch" else None


def _pr_base(p: dict) -> str | None:
    return p["pull_request"]["base"]["ref"]


def _head_branch(event: str):
    return lambda p: _dict(p.get(event)).get("head_branch")


def _check_run_branch(p: dict) -> str | None:
    return _dict(p["check_run"].get("check_suite")).get("head_branch")


class GitHub(Source):
    """GitHub repository, organization and Sponsors webhooks, signed with X-Hub-Signature-256."""

    name = "github"
    title = "GitHub"
    setup = (
        "Repository or organization Settings → Webhooks → Add webhook: Payload URL https://<relay>/hooks/<route>, "
        "Content type application/json, Secret = the route's secret"
    )
    auth = HmacSignature("X-Hub-Signature-256", prefix="sha256=")
    event_header = "X-GitHub-Event"
    delivery_headers = ("X-GitHub-Delivery",)
    schema = GitHubPayload
    events: ClassVar[dict[str, Event]] = {
        "push": Event(format_push, PushSchema, ignore=_unless_merge_queue, branch=_pushed_branch),
        "create": Event(format_create, RefSchema, branch=_created_branch),
        "delete": Event(format_delete, RefSchema, branch=_created_branch),
        "commit_comment": Event(format_commit_comment, CommitCommentSchema, ignore=_unchanged_comment),
        "release": Event(format_release, ReleaseSchema, ignore=_unpublished_release),
        "pull_request": Event(format_pull_request, PullRequestSchema, ignore=_pr_action, branch=_pr_base),
        "pull_request_review": Event(format_pull_request_review, ReviewSchema, ignore=_unchanged_review,
                                     branch=_pr_base),
        "pull_request_review_comment": Event(format_pull_request_review_comment, ReviewCommentSchema,
                                             ignore=_unchanged_comment, branch=_pr_base),
        "issues": Event(format_issues, IssueSchema),
        "issue_comment": Event(format_issue_comment, IssueCommentSchema, ignore=_unchanged_comment),
        "discussion": Event(format_discussion, DiscussionSchema),
        "discussion_comment": Event(format_discussion_comment, DiscussionCommentSchema, ignore=_unchanged_comment),
        "workflow_run": Event(format_workflow_run, WorkflowRunSchema, ignore=_completed("workflow_run", "runs"),
                              branch=_head_branch("workflow_run")),
        "workflow_job": Event(format_workflow_job, WorkflowJobSchema, ignore=_completed("workflow_job", "jobs"),
                              branch=_head_branch("workflow_job")),
        "check_run": Event(format_check_run, CheckRunSchema, ignore=_completed_check_run, branch=_check_run_branch),
        "check_suite": Event(format_check_suite, CheckSuiteSchema, ignore=_completed("check_suite", "check suites"),
                             branch=_head_branch("check_suite")),
        "status": Event(format_status, StatusSchema),
        "deployment": Event(format_deployment, DeploymentSchema),
        "deployment_status": Event(format_deployment_status, DeploymentStatusSchema),
        "page_build": Event(format_page_build, PageBuildSchema),
        "fork": Event(format_fork, ForkSchema),
        "watch": Event(format_star, RepoPayload),
        "star": Event(format_star, RepoPayload),
        "public": Event(format_public, RepoPayload),
        "repository": Event(format_repository, ActionPayload),
        "member": Event(format_member, MemberSchema),
        "membership": Event(format_membership, MembershipSchema),
        "team": Event(format_team, TeamSchema),
        "team_add": Event(format_team_add, TeamAddSchema),
        "gollum": Event(format_gollum, GollumSchema),
        "label": Event(format_label, LabelSchema),
        "milestone": Event(format_milestone, MilestoneSchema),
        "sponsorship": Event(format_sponsorship, SponsorshipSchema),
    }
    ignored: ClassVar[dict[str, str]] = {"ping": "ping: webhook is configured"}

    def detect_event(self, payload, headers):
        event = super().detect_event(payload, headers)
        # Some senders name Sponsors deliveries by their action (`tier_changed`, `cancelled`...);
        # the sponsorship object identifies them whatever the header says.
        if event not in self.events and event not in self.ignored and isinstance(payload, dict):
            if isinstance(payload.get("sponsorship"), dict):
                return "sponsorship"
        return event


SOURCE = GitHub()
