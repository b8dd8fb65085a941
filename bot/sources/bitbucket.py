"""`bitbucket`: Bitbucket Cloud repository webhooks.

Handles pushes (commits, new and deleted branches, force pushes, tags), pull requests (opened,
updated, approved, changes requested, merged, declined, comments), issues and their comments,
commit comments, build statuses reported on commits, forks and repository setting changes.

Bitbucket names the event in the `X-Event-Key` header; when a proxy drops it, the event is told from
the payload's shape, as far as it can be. Pushes and pull requests are built with `_git`'s
`ref_message` and `pr_message`, as Bitbucket Server's and Azure DevOps's are.
"""

from __future__ import annotations

from functools import partial
from typing import ClassVar

from marshmallow import fields

from bot import markdown as md
from bot.auth import HmacSignature
from bot.message import Message
from bot.sources._git import (
    DESCRIPTION_LIMIT,
    DESCRIPTION_LINES,
    SHORT_SHA,
    Href,
    branches,
    change_bullets,
    commit_link,
    commit_summary,
    other_author,
    person,
    pr_message,
    ref_message,
    user_name,
)
from bot.sources.base import Event, Lenient, Source


# -- schemas --------------------------------------------------------------------------------------
class Links(Lenient):
    html = fields.Nested(Href, allow_none=True)


class User(Lenient):
    display_name = fields.Str(allow_none=True)
    nickname = fields.Str(allow_none=True)
    links = fields.Nested(Links, allow_none=True)


class Repository(Lenient):
    name = fields.Str(required=True)
    full_name = fields.Str(allow_none=True)
    links = fields.Nested(Links, allow_none=True)


class CloudPayload(Lenient):
    """Every Bitbucket Cloud repository webhook names the repository and, usually, the actor."""

    repository = fields.Nested(Repository, required=True)
    actor = fields.Nested(User, allow_none=True)


class Author(Lenient):
    user = fields.Nested(User, allow_none=True)


class Commit(Lenient):
    hash = fields.Str(required=True)
    message = fields.Str(allow_none=True)
    author = fields.Nested(Author, allow_none=True)
    links = fields.Nested(Links, allow_none=True)


class RefState(Lenient):
    type = fields.Str(allow_none=True)
    name = fields.Str(required=True)
    target = fields.Nested(Commit, allow_none=True)
    links = fields.Nested(Links, allow_none=True)


class Change(Lenient):
    new = fields.Nested(RefState, allow_none=True)
    old = fields.Nested(RefState, allow_none=True)
    forced = fields.Bool(allow_none=True)
    truncated = fields.Bool(allow_none=True)
    commits = fields.List(fields.Nested(Commit), allow_none=True)
    links = fields.Nested(Links, allow_none=True)


class Push(Lenient):
    changes = fields.List(fields.Nested(Change), required=True)


class PushPayload(CloudPayload):
    push = fields.Nested(Push, required=True)


class Content(Lenient):
    raw = fields.Str(allow_none=True)


class Comment(Lenient):
    content = fields.Nested(Content, allow_none=True)
    links = fields.Nested(Links, allow_none=True)


class BranchName(Lenient):
    name = fields.Str(allow_none=True)


class Endpoint(Lenient):
    branch = fields.Nested(BranchName, allow_none=True)


class PullRequest(Lenient):
    id = fields.Int(required=True)
    title = fields.Str(required=True)
    description = fields.Str(allow_none=True)
    links = fields.Nested(Links, allow_none=True)
    source = fields.Nested(Endpoint, allow_none=True)
    destination = fields.Nested(Endpoint, allow_none=True)
    reviewers = fields.List(fields.Nested(User), allow_none=True)


class PullRequestPayload(CloudPayload):
    pullrequest = fields.Nested(PullRequest, required=True)
    comment = fields.Nested(Comment, allow_none=True)


class Issue(Lenient):
    id = fields.Int(required=True)
    title = fields.Str(required=True)
    links = fields.Nested(Links, allow_none=True)
    assignee = fields.Nested(User, allow_none=True)
    content = fields.Nested(Content, allow_none=True)


class IssuePayload(CloudPayload):
    issue = fields.Nested(Issue, required=True)
    comment = fields.Nested(Comment, allow_none=True)
    changes = fields.Dict(allow_none=True)


class CommitCommentPayload(CloudPayload):
    comment = fields.Nested(Comment, required=True)
    commit = fields.Nested(Commit, required=True)


class StatusLinks(Lenient):
    commit = fields.Nested(Href, allow_none=True)


class CommitStatus(Lenient):
    state = fields.Str(required=True)
    name = fields.Str(allow_none=True)
    key = fields.Str(allow_none=True)
    url = fields.Str(allow_none=True)
    description = fields.Str(allow_none=True)
    refname = fields.Str(allow_none=True)
    commit = fields.Nested(Commit, allow_none=True)
    links = fields.Nested(StatusLinks, allow_none=True)


class CommitStatusPayload(CloudPayload):
    commit_status = fields.Nested(CommitStatus, required=True)


class ForkPayload(CloudPayload):
    fork = fields.Nested(Repository, required=True)


class RepoUpdatedPayload(CloudPayload):
    changes = fields.Dict(required=True)


# -- formatting -----------------------------------------------------------------------------------
def _html(obj) -> str | None:
    return (((obj or {}).get("links") or {}).get("html") or {}).get("href")


def _name(user) -> str:
    return user_name(user, "display_name", "nickname") or "Someone"


def _who(p: dict) -> str:
    # Bitbucket Cloud profile links say little a reader needs; the name alone keeps messages short.
    return person(_name(p.get("actor")))


def _repo(p: dict) -> str:
    return p["repository"]["name"]


def _content(obj) -> str | None:
    return ((obj or {}).get("content") or {}).get("raw")


def _branch_of(pr: dict, side: str) -> str | None:
    """The branch name of a pull request's `source` or `destination`."""
    return ((pr.get(side) or {}).get("branch") or {}).get("name")


def _commit_url(p: dict, sha: str, commit=None) -> str | None:
    """The commit's page: its own link when sent, else built from the repository's."""
    repo_url = _html(p["repository"])
    return _html(commit) or (f"{repo_url.rstrip('/')}/commits/{sha}" if repo_url and sha else None)


def _commit_item(commit: dict, pusher: str) -> str:
    author = (commit.get("author") or {}).get("user")
    by = other_author([user_name(author, "display_name", "nickname")], [pusher])
    return commit_summary(commit["hash"], _html(commit), commit.get("message"), by)


def _change_message(p: dict, change: dict) -> Message:
    new, old = change.get("new"), change.get("old")
    ref = new or old or {}
    target = (new or {}).get("target") or {}
    commits = change.get("commits") or []
    if new is None:
        kind = "deleted"
    elif old is None:
        kind = "created"
    else:
        kind = "forced" if change.get("forced") else "updated"
    ref_type = "tag" if "tag" in (ref.get("type") or "") else "branch"
    # For new commits the change's own link is the comparison; otherwise the branch or tag page.
    url = _html(change) if kind == "updated" and commits else _html(ref) or _html(change)
    return ref_message(
        _repo(p),
        _who(p),
        ref_type,
        ref.get("name") or "?",
        kind,
        url=url,
        head=target.get("hash"),
        head_url=_html(target),
        commits=[_commit_item(c, _name(p.get("actor"))) for c in commits] if kind in ("created", "updated") else None,
        total=len(commits),
        # Bitbucket sends at most five commits and marks the list truncated.
        truncated=bool(change.get("truncated")),
    )


def format_push(p: dict) -> list[Message]:
    return [_change_message(p, change) for change in p["push"]["changes"]]


def _pr_event(verb: str, severity: str = "info", with_branches: bool = False, with_text: bool = False):
    def format_pr(p: dict) -> Message:
        pr = p["pullrequest"]
        target = _branch_of(pr, "destination")
        line = f"{_who(p)} {verb}"
        line += f" {branches(_branch_of(pr, 'source'), target)}" if with_branches else "."
        reviewers = [md.inline(_name(r)) for r in pr.get("reviewers") or []] if with_text else None
        return pr_message(
            _repo(p),
            pr["id"],
            pr["title"],
            _html(pr),
            line,
            reviewers=reviewers,
            text=pr.get("description") if with_text else None,
            severity=severity,
            target=target,
        )

    return format_pr


def _pr_comment(verb: str):
    def format_comment(p: dict) -> Message:
        pr, comment = p["pullrequest"], p.get("comment") or {}
        line = f"{_who(p)} {md.link(verb, _html(comment))}:"
        target = _branch_of(pr, "destination")
        return pr_message(_repo(p), pr["id"], pr["title"], _html(pr), line, text=_content(comment), target=target)

    return format_comment


def _issue_event(action: str):
    def format_issue(p: dict) -> Message:
        issue, comment = p["issue"], p.get("comment") or {}
        if action == "commented":
            line, text = f"{_who(p)} {md.link('commented', _html(comment))}:", _content(comment)
        else:
            line = f"{_who(p)} {action} this issue"
            # An update names a new assignee among its changes; repeating the current one reads as news.
            if action == "opened" and issue.get("assignee"):
                line += f", assigned to {md.inline(_name(issue['assignee']))}"
            # An update carries the comment written with it (often why the issue was resolved).
            text = _content(issue) if action == "opened" else _content(comment)
            line += ":" if text else "."
        body = [line]
        if action == "updated" and p.get("changes"):
            body.append(change_bullets(p["changes"]))
        if text and text.strip():
            body.append(md.quote(text, DESCRIPTION_LIMIT, DESCRIPTION_LINES))
        title = f"{_repo(p)}: issue #{issue['id']} {issue['title']}"
        return Message(title=title, url=_html(issue), body=body, repo=_repo(p))

    return format_issue


def format_commit_comment(p: dict) -> Message:
    commit, comment = p["commit"], p["comment"]
    link = commit_link(commit["hash"], _commit_url(p, commit["hash"], commit))
    line = f"{_who(p)} {md.link('commented', _html(comment))} on {link}:"
    body = [line, md.quote(_content(comment) or "", DESCRIPTION_LIMIT, DESCRIPTION_LINES)]
    title = f"{_repo(p)}: comment on commit {commit['hash'][:SHORT_SHA]}"
    return Message(title=title, url=_html(comment) or _html(commit), body=body, repo=_repo(p))


# In-progress statuses are ignored (see `ignore_reason`); these are the conclusive ones.
STATUS_SEVERITY = {"SUCCESSFUL": "success", "FAILED": "error", "STOPPED": "warning"}
STATUS_WORD = {"SUCCESSFUL": "passed", "FAILED": "failed", "STOPPED": "stopped"}


def _status_sha(status: dict) -> str:
    sha = (status.get("commit") or {}).get("hash")
    if sha:
        return sha
    # Older payloads carry the commit only as the last part of its API link.
    href = ((status.get("links") or {}).get("commit") or {}).get("href") or ""
    return href.rstrip("/").rpartition("/")[2]


def format_commit_status(p: dict) -> Message:
    status = p["commit_status"]
    state = status["state"].upper()
    check = status.get("name") or status.get("key") or "Build"
    sha = _status_sha(status)
    where = f" on {commit_link(sha, _commit_url(p, sha, status.get('commit')))}" if sha else ""
    if status.get("refname"):
        where += f" ({md.code(status['refname'])})"
    body = [f"{md.bold(check)} {STATUS_WORD.get(state, md.inline(state.lower()))}{where}."]
    if status.get("description"):
        body.append(md.text(status["description"], 500))
    return Message(
        title=f"{_repo(p)}: {check} {STATUS_WORD.get(state, state.lower())}",
        url=status.get("url"),
        severity=STATUS_SEVERITY.get(state, "info"),
        body=body,
        branch=status.get("refname"),
        repo=_repo(p),
    )


def format_fork(p: dict) -> Message:
    fork = p["fork"]
    name = fork.get("full_name") or fork["name"]
    line = f"{_who(p)} forked the repository into {md.link(name, _html(fork))}."
    return Message(title=f"{_repo(p)}: forked", url=_html(fork), body=[line], repo=_repo(p))


def format_repo_updated(p: dict) -> Message:
    # The slug always follows the name; listing both says the same thing twice.
    changes = {key: value for key, value in p["changes"].items() if key != "slug"}
    body = [f"{_who(p)} changed the repository settings:", change_bullets(changes)]
    return Message(title=f"{_repo(p)}: settings changed", url=_html(p["repository"]), body=body, repo=_repo(p))


def _shape_event(payload: dict) -> str | None:
    """The event a payload without `X-Event-Key` must be, from the keys only that event sends."""
    if "push" in payload:
        return "repo:push"
    if "fork" in payload:
        return "repo:fork"
    if "commit_status" in payload:
        return "repo:commit_status_updated"
    if "issue" in payload:
        if "changes" in payload:
            return "issue:updated"
        return "issue:comment_created" if "comment" in payload else "issue:created"
    if "comment" in payload and "commit" in payload and "pullrequest" not in payload:
        return "repo:commit_comment_created"
    return None


# -- event rules: why a valid delivery is not posted, and the branch it is about ----------------


def _push_without_changes(p: dict) -> str | None:
    return None if p["push"]["changes"] else "push without branch or tag changes"


def _in_progress(p: dict) -> str | None:
    return "build still in progress" if p["commit_status"]["state"].upper() == "INPROGRESS" else None


def _pushed_branch(p: dict) -> str | None:
    """The first branch a push changed (a push of several is filtered per message by the worker)."""
    for change in p["push"]["changes"]:
        ref = change.get("new") or change.get("old") or {}
        if "tag" not in (ref.get("type") or ""):
            return ref.get("name")
    return None


def _pr_target(p: dict) -> str | None:
    return _branch_of(p["pullrequest"], "destination")


_pr_row = partial(Event, schema=PullRequestPayload, branch=_pr_target)


class Bitbucket(Source):
    name = "bitbucket"
    title = "Bitbucket Cloud"
    setup = (
        "Repository settings → Webhooks → Add webhook: URL https://<relay>/hooks/<route>, "
        "Secret <secret>, then pick the triggers"
    )
    auth = HmacSignature("X-Hub-Signature", prefix="sha256=")
    event_header = "X-Event-Key"
    delivery_headers = ("X-Request-UUID",)
    schema = CloudPayload
    events: ClassVar[dict[str, Event]] = {
        "repo:push": Event(format_push, PushPayload, ignore=_push_without_changes, branch=_pushed_branch),
        "repo:fork": Event(format_fork, ForkPayload),
        "repo:updated": Event(format_repo_updated, RepoUpdatedPayload),
        "repo:commit_comment_created": Event(format_commit_comment, CommitCommentPayload),
        "repo:commit_status_created": Event(format_commit_status, CommitStatusPayload, ignore=_in_progress),
        "repo:commit_status_updated": Event(format_commit_status, CommitStatusPayload, ignore=_in_progress),
        "issue:created": Event(_issue_event("opened"), IssuePayload),
        "issue:updated": Event(_issue_event("updated"), IssuePayload),
        "issue:comment_created": Event(_issue_event("commented"), IssuePayload),
        "pullrequest:created": _pr_row(_pr_event("opened", with_branches=True, with_text=True)),
        "pullrequest:updated": _pr_row(_pr_event("updated", with_branches=True, with_text=True)),
        "pullrequest:approved": _pr_row(_pr_event("approved", "success")),
        "pullrequest:unapproved": _pr_row(_pr_event("removed their approval")),
        "pullrequest:changes_request_created": _pr_row(_pr_event("requested changes", "warning")),
        "pullrequest:changes_request_removed": _pr_row(_pr_event("withdrew their change request")),
        "pullrequest:fulfilled": _pr_row(_pr_event("merged", "success", with_branches=True)),
        "pullrequest:rejected": _pr_row(_pr_event("declined", with_branches=True)),
        "pullrequest:comment_created": _pr_row(_pr_comment("commented")),
        "pullrequest:comment_updated": _pr_row(_pr_comment("edited a comment")),
        "pullrequest:comment_deleted": _pr_row(_pr_comment("deleted a comment")),
    }
    ignored: ClassVar[dict[str, str]] = {
        "pullrequest:comment_resolved": "resolving a comment thread is not posted",
        "pullrequest:comment_reopened": "reopening a comment thread is not posted",
    }

    def detect_event(self, payload, headers):
        header = super().detect_event(payload, headers)
        if header in self.events or header in self.ignored:
            return header
        # A missing or unknown key (some proxies and test tools rewrite it): trust the payload.
        return (_shape_event(payload) if isinstance(payload, dict) else None) or header


SOURCE = Bitbucket()
