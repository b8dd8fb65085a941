"""Gitea: repository, organisation and system webhooks of type "Gitea".

Handles pushes, branch and tag creation and deletion, issues, pull requests (with reviews),
comments and releases. The payloads follow GitHub's shape; Gogs, which Gitea was forked from, sends
the same ones with a few fields missing, so `bot.sources.gogs` reuses everything here.
"""

from __future__ import annotations

from functools import partial
from typing import ClassVar
from urllib.parse import quote

from marshmallow import fields

from bot import markdown as md
from bot.auth import HmacSignature
from bot.message import Message
from bot.sources._git import (
    ZERO_SHA,
    branch_of_ref,
    commit_count,
    commit_item,
    commit_list,
    other_author,
    pushed_branch,
    repo_message,
    tag_of_ref,
    user_name,
)
from bot.sources.base import Event, Lenient, Source

# Label and milestone changes are frequent bookkeeping that nobody needs to be told about.
QUIET_ACTIONS = {"label_updated", "label_cleared", "milestoned", "demilestoned", "review_request_removed"}
# Assignees are news when a PR or issue is opened or handed over; on other actions they repeat.
SHOW_ASSIGNEES = {"opened", "assigned", "unassigned"}


# -- schemas -----------------------------------------------------------------------------------
class User(Lenient):
    login = fields.Str(allow_none=True)
    username = fields.Str(allow_none=True)
    full_name = fields.Str(allow_none=True)


class Repository(Lenient):
    name = fields.Str(required=True)
    full_name = fields.Str(allow_none=True)
    html_url = fields.Str(allow_none=True)


class RepoEvent(Lenient):
    repository = fields.Nested(Repository, required=True)
    sender = fields.Nested(User, allow_none=True)


class Author(Lenient):
    name = fields.Str(allow_none=True)
    username = fields.Str(allow_none=True)


class Commit(Lenient):
    id = fields.Str(required=True)
    message = fields.Str(allow_none=True)
    url = fields.Str(allow_none=True)
    author = fields.Nested(Author, allow_none=True)


class PushSchema(RepoEvent):
    ref = fields.Str(required=True)
    before = fields.Str(allow_none=True)
    after = fields.Str(allow_none=True)
    compare_url = fields.Str(allow_none=True)
    commits = fields.List(fields.Nested(Commit), allow_none=True)
    total_commits = fields.Int(allow_none=True)
    pusher = fields.Nested(User, allow_none=True)


class RefSchema(RepoEvent):
    ref = fields.Str(required=True)
    ref_type = fields.Str(allow_none=True)


class Issue(Lenient):
    number = fields.Int(required=True)
    title = fields.Str(required=True)
    html_url = fields.Str(allow_none=True)
    body = fields.Str(allow_none=True)
    assignee = fields.Nested(User, allow_none=True)
    assignees = fields.List(fields.Nested(User), allow_none=True)


class IssueSchema(RepoEvent):
    action = fields.Str(required=True)
    issue = fields.Nested(Issue, required=True)


class Comment(Lenient):
    html_url = fields.Str(allow_none=True)
    body = fields.Str(allow_none=True)


class CommentSchema(IssueSchema):
    comment = fields.Nested(Comment, required=True)
    is_pull = fields.Bool(allow_none=True)


class Branch(Lenient):
    ref = fields.Str(allow_none=True)


class PullRequest(Issue):
    merged = fields.Bool(allow_none=True)
    head = fields.Nested(Branch, allow_none=True)
    base = fields.Nested(Branch, allow_none=True)
    # Gogs names the branches here instead of in head/base.
    head_branch = fields.Str(allow_none=True)
    base_branch = fields.Str(allow_none=True)


class Review(Lenient):
    content = fields.Str(allow_none=True)


class PullRequestSchema(RepoEvent):
    action = fields.Str(required=True)
    pull_request = fields.Nested(PullRequest, required=True)
    review = fields.Nested(Review, allow_none=True)


class Release(Lenient):
    tag_name = fields.Str(required=True)
    name = fields.Str(allow_none=True)
    html_url = fields.Str(allow_none=True)
    body = fields.Str(allow_none=True)
    prerelease = fields.Bool(allow_none=True)


class ReleaseSchema(RepoEvent):
    action = fields.Str(allow_none=True)
    release = fields.Nested(Release, required=True)


# -- shared pieces -------------------------------------------------------------------------------
def _login(user) -> str:
    return user_name(user, "login", "username", "full_name")


def _actor(p: dict) -> str:
    return _login(p.get("sender")) or _login(p.get("pusher")) or "Someone"


def _repo_url(p: dict, *path: str) -> str | None:
    base = p["repository"].get("html_url")
    return "/".join([base.rstrip("/"), *(quote(part, safe="/") for part in path)]) if base else None


def _message(p: dict, sentence: str, url, body=(), severity="info", branch=None, subject=None) -> Message:
    """A message titled "<sentence> in <owner/repository>: <subject>", routed by that repository."""
    repo = p["repository"].get("full_name") or p["repository"]["name"]
    return repo_message(repo, sentence, url, body, severity, branch, subject)


def _assignees(item: dict) -> str:
    users = item.get("assignees") or ([item["assignee"]] if item.get("assignee") else [])
    names = dict.fromkeys(_login(u) for u in users)
    return ", ".join(md.inline(name) for name in names if name)


# -- formatters ------------------------------------------------------------------------------------
def _commit_item(commit: dict, pushers: set) -> str:
    """One pushed commit; its author is named only when someone other than the pusher wrote it."""
    author = commit.get("author")
    by = other_author([user_name(author, "username"), user_name(author, "name")], pushers)
    return commit_item(commit["id"], commit.get("url"), commit.get("message"), by)


def format_push(p: dict) -> Message:
    actor = _actor(p)
    tag = tag_of_ref(p["ref"])
    branch = None if tag is not None else branch_of_ref(p["ref"])
    kind, name = ("tag", tag) if tag is not None else ("branch", branch)
    if p.get("after") == ZERO_SHA:
        return _message(p, f"{actor} deleted {kind} {name}", _repo_url(p), branch=branch)
    commits = p.get("commits") or []
    count = max(int(p.get("total_commits") or 0), len(commits))
    keys = ("login", "username", "full_name")
    pushers = {user_name(p.get(who), key) for who in ("sender", "pusher") for key in keys}
    items = [_commit_item(commit, pushers) for commit in commits]
    sentence = f"{actor} pushed {commit_count(count)} to {name}"
    body = [commit_list(items, count)]
    return _message(p, sentence, p.get("compare_url") or _repo_url(p, "src", name), body, branch=branch)


def format_create(p: dict) -> Message:
    kind = p.get("ref_type") or "ref"
    sentence = f"{_actor(p)} created {kind} {p['ref']}"
    return _message(p, sentence, _repo_url(p, "src", p["ref"]), branch=p["ref"] if kind == "branch" else None)


def format_delete(p: dict) -> Message:
    kind = p.get("ref_type") or "ref"
    branch = p["ref"] if kind == "branch" else None
    return _message(p, f"{_actor(p)} deleted {kind} {p['ref']}", _repo_url(p), branch=branch)


def _issue_url(p: dict, issue: dict) -> str | None:
    # Older Gitea and all Gogs versions send only the API URL of an issue.
    return issue.get("html_url") or _repo_url(p, "issues", str(issue["number"]))


def format_issue(p: dict) -> Message:
    issue = p["issue"]
    action = p["action"]
    body = [md.fields([("Assignees", _assignees(issue) if action in SHOW_ASSIGNEES else "")])]
    if action == "opened":
        body.append(md.quote(issue.get("body") or "", limit=500, max_lines=8))
    sentence = f"{_actor(p)} {action} issue #{issue['number']}"
    return _message(p, sentence, _issue_url(p, issue), body, subject=issue["title"])


def format_comment(p: dict) -> Message:
    issue = p["issue"]
    comment = p["comment"]
    verb = "edited a comment on" if p["action"] == "edited" else "commented on"
    # Gogs has no `is_pull`; both senders mark a pull request's issue with `pull_request`.
    kind = "PR" if p.get("is_pull") or issue.get("pull_request") else "issue"
    url = comment.get("html_url") or _issue_url(p, issue)
    sentence = f"{_actor(p)} {verb} {kind} #{issue['number']}"
    return _message(p, sentence, url, [md.quote(comment.get("body") or "")], subject=issue["title"])


PR_VERBS = {"synchronized": "pushed to", "review_requested": "requested a review on"}


def _pull_request(p: dict, verb: str, severity: str = "info", extra: tuple = ()) -> Message:
    pr = p["pull_request"]
    head = (pr.get("head") or {}).get("ref") or pr.get("head_branch")
    base = (pr.get("base") or {}).get("ref") or pr.get("base_branch")
    assignees = _assignees(pr) if p.get("action") in SHOW_ASSIGNEES else ""
    branches = f"{md.code(head)} → {md.code(base)}" if head and base else ""
    body = [md.fields([("Branches", branches), ("Assignees", assignees)]), *extra]
    sentence = f"{_actor(p)} {verb} PR #{pr['number']}"
    return _message(p, sentence, pr.get("html_url"), body, severity, base, pr["title"])


def format_pull_request(p: dict) -> Message:
    action = p["action"]
    if action == "closed" and p["pull_request"].get("merged"):
        return _pull_request(p, "merged", "success")
    extra = (md.quote(p["pull_request"].get("body") or "", limit=500, max_lines=8),) if action == "opened" else ()
    return _pull_request(p, PR_VERBS.get(action, action), extra=extra)


def format_review(verb: str, severity: str, p: dict) -> Message:
    """A pull request review; Gitea names its verdict in the event header, not in the payload."""
    return _pull_request(p, verb, severity, (md.quote((p.get("review") or {}).get("content") or ""),))


def format_release(p: dict) -> Message:
    release = p["release"]
    action = p.get("action") or "published"
    tag = release["tag_name"]
    kind = "pre-release" if release.get("prerelease") else "release"
    sentence = f"{_actor(p)} {action} {kind} {release.get('name') or tag}"
    url = None if action == "deleted" else release.get("html_url") or _repo_url(p, "releases", "tag", tag)
    body = [md.fields([("Tag", md.code(tag))])]
    if action != "deleted":
        body.append(md.quote(release.get("body") or "", limit=500, max_lines=8))
    return _message(p, sentence, url, body)


# -- event rules: why a valid delivery is not posted, and the branch it is about ----------------


def _quiet(event: str):
    """The rule every event shares: bookkeeping actions and deleted comments are not posted."""
    def rule(p: dict) -> str | None:
        action = p.get("action")
        if isinstance(action, str) and action in QUIET_ACTIONS:
            return f"{event} {action} is not posted"
        if event == "issue_comment" and action == "deleted":
            return "deleted comments are not posted"
        return None
    return rule


def _pushed_branch(p: dict) -> str | None:
    return pushed_branch(p["ref"])


def _created_branch(p: dict) -> str | None:
    return p["ref"] if p.get("ref_type") == "branch" else None


def _pr_base(p: dict) -> str | None:
    pr = p["pull_request"]
    return (pr.get("base") or {}).get("ref") or pr.get("base_branch")


def event_row(name: str, format, schema, branch=None) -> tuple[str, Event]:
    """A Gitea (or Gogs) event row with the shared rule."""
    return name, Event(format, schema, ignore=_quiet(name), branch=branch)


EVENTS = dict([
    event_row("push", format_push, PushSchema, branch=_pushed_branch),
    event_row("create", format_create, RefSchema, branch=_created_branch),
    event_row("delete", format_delete, RefSchema, branch=_created_branch),
    event_row("issues", format_issue, IssueSchema),
    event_row("issue_comment", format_comment, CommentSchema),
    event_row("pull_request", format_pull_request, PullRequestSchema, branch=_pr_base),
    event_row("release", format_release, ReleaseSchema),
])


class Gitea(Source):
    name = "gitea"
    title = "Gitea"
    setup = (
        "Repository → Settings → Webhooks → Add webhook → Gitea: Target URL https://<relay>/hooks/<route>, "
        "POST, application/json, Secret <secret>"
    )
    auth = HmacSignature("X-Gitea-Signature")
    event_header = "X-Gitea-Event"
    delivery_headers = ("X-Gitea-Delivery",)
    events: ClassVar[dict[str, Event]] = {
        **EVENTS,
        **dict([
            event_row("pull_request_approved", partial(format_review, "approved", "success"), PullRequestSchema,
                  branch=_pr_base),
            event_row("pull_request_rejected", partial(format_review, "requested changes on", "warning"),
                  PullRequestSchema, branch=_pr_base),
            event_row("pull_request_comment", partial(format_review, "reviewed", "info"), PullRequestSchema,
                  branch=_pr_base),
        ]),
    }


SOURCE = Gitea()
