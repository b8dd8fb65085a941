"""`bitbucket-server`: Bitbucket Server and Data Center repository webhooks.

Handles pushes (branches and tags created, updated or deleted), pull requests (opened, modified,
new commits, reviewers changed, approved, needs work, merged, declined, deleted, comments), commit
comments, forks and repository renames. The "Test connection" ping is acknowledged without a post.

The event is the payload's `eventKey` (also sent as the `X-Event-Key` header, the only place a ping
names it). Messages are built with the same helpers as Bitbucket Cloud's, so both read alike.
"""

from __future__ import annotations

from functools import partial
from typing import ClassVar

from marshmallow import fields

from bot import markdown as md
from bot.message import Message
from bot.sources._git import (
    DESCRIPTION_LIMIT,
    DESCRIPTION_LINES,
    SHORT_SHA,
    ZERO_SHA,
    Href,
    branches,
    change_bullets,
    commit_link,
    person,
    pr_message,
    ref_message,
    user_name,
)
from bot.sources.base import Event, Lenient, Source


# -- schemas --------------------------------------------------------------------------------------
class Links(Lenient):
    self_ = fields.List(fields.Nested(Href), data_key="self", allow_none=True)


class User(Lenient):
    name = fields.Str(allow_none=True)
    displayName = fields.Str(allow_none=True)
    links = fields.Nested(Links, allow_none=True)


class Origin(Lenient):
    name = fields.Str(allow_none=True)


class Project(Lenient):
    key = fields.Str(allow_none=True)


class Repository(Lenient):
    name = fields.Str(required=True)
    links = fields.Nested(Links, allow_none=True)
    origin = fields.Nested(Origin, allow_none=True)
    project = fields.Nested(Project, allow_none=True)


class ServerPayload(Lenient):
    """What every Bitbucket Server webhook may carry; a ping carries neither."""

    eventKey = fields.Str(allow_none=True)
    actor = fields.Nested(User, allow_none=True)


class Ref(Lenient):
    displayId = fields.Str(required=True)
    type = fields.Str(allow_none=True)


class RefChange(Lenient):
    ref = fields.Nested(Ref, required=True)
    refId = fields.Str(allow_none=True)
    fromHash = fields.Str(allow_none=True)
    toHash = fields.Str(allow_none=True)
    type = fields.Str(allow_none=True)


class RefsChangedPayload(ServerPayload):
    repository = fields.Nested(Repository, required=True)
    changes = fields.List(fields.Nested(RefChange), required=True)


class PullRequestRef(Lenient):
    displayId = fields.Str(allow_none=True)
    latestCommit = fields.Str(allow_none=True)
    repository = fields.Nested(Repository, allow_none=True)


class Participant(Lenient):
    user = fields.Nested(User, allow_none=True)


class PullRequest(Lenient):
    id = fields.Int(required=True)
    title = fields.Str(required=True)
    description = fields.Str(allow_none=True)
    links = fields.Nested(Links, allow_none=True)
    fromRef = fields.Nested(PullRequestRef, allow_none=True)
    toRef = fields.Nested(PullRequestRef, required=True)
    reviewers = fields.List(fields.Nested(Participant), allow_none=True)


class Comment(Lenient):
    text = fields.Str(allow_none=True)


class PullRequestPayload(ServerPayload):
    pullRequest = fields.Nested(PullRequest, required=True)
    comment = fields.Nested(Comment, allow_none=True)
    addedReviewers = fields.List(fields.Nested(User), allow_none=True)
    removedReviewers = fields.List(fields.Nested(User), allow_none=True)


class CommitCommentPayload(ServerPayload):
    repository = fields.Nested(Repository, required=True)
    commit = fields.Str(required=True)
    comment = fields.Nested(Comment, required=True)


class ForkPayload(ServerPayload):
    repository = fields.Nested(Repository, required=True)


class ModifiedPayload(ServerPayload):
    old = fields.Nested(Repository, required=True)
    new = fields.Nested(Repository, required=True)


# -- formatting -----------------------------------------------------------------------------------
def _href(obj) -> str | None:
    for link in ((obj or {}).get("links") or {}).get("self") or []:
        if link.get("href"):
            return link["href"]
    return None


def _person(user) -> str:
    return person(user_name(user, "displayName", "name") or "Someone", _href(user))


def _who(p: dict) -> str:
    return _person(p.get("actor"))


def _repo_page(repo, suffix: str) -> str | None:
    """A page of the repository, from its browse link (`…/repos/<slug>/browse`)."""
    browse = _href(repo)
    return f"{browse.removesuffix('/browse')}/{suffix}" if browse else None


def _is_tag(change: dict) -> bool:
    return (change["ref"].get("type") or "").upper() == "TAG" or (change.get("refId") or "").startswith("refs/tags/")


def _state(change: dict) -> str:
    kind = (change.get("type") or "").upper()
    if kind == "DELETE" or change.get("toHash") == ZERO_SHA:
        return "deleted"
    if kind == "ADD" or change.get("fromHash") == ZERO_SHA:
        return "created"
    return "updated"


def _ref_change(p: dict, change: dict) -> Message:
    repo, state = p["repository"], _state(change)
    head = change.get("toHash") if state != "deleted" else None
    ref_id = change.get("refId")
    return ref_message(
        repo["name"],
        _who(p),
        "tag" if _is_tag(change) else "branch",
        change["ref"]["displayId"],
        state,
        url=_repo_page(repo, f"browse?at={ref_id}" if ref_id and head else "browse"),
        head=head,
        head_url=_repo_page(repo, f"commits/{head}") if head else None,
    )


def format_refs_changed(p: dict) -> list[Message]:
    return [_ref_change(p, change) for change in p["changes"]]


def _pull_request(p: dict) -> tuple[dict, str, str | None]:
    pr = p["pullRequest"]
    repo = (pr["toRef"].get("repository") or {}).get("name") or "?"
    return pr, repo, pr["toRef"].get("displayId")


def _pr_event(verb: str, severity: str = "info", with_branches: bool = False, with_text: bool = False):
    def format_pr(p: dict) -> Message:
        pr, repo, target = _pull_request(p)
        line = f"{_who(p)} {verb}"
        line += f" {branches((pr.get('fromRef') or {}).get('displayId'), target)}" if with_branches else "."
        reviewers = [_person(r.get("user")) for r in pr.get("reviewers") or []] if with_text else None
        text = pr.get("description") if with_text else None
        return pr_message(
            repo,
            pr["id"],
            pr["title"],
            _href(pr),
            line,
            reviewers=reviewers,
            text=text,
            severity=severity,
            target=target,
        )

    return format_pr


def format_pr_new_commits(p: dict) -> Message:
    pr, repo, target = _pull_request(p)
    source = pr.get("fromRef") or {}
    head = source.get("latestCommit")
    # The source branch may live in a fork, so the commit is linked in the source repository.
    where = f"; head is now {commit_link(head, _repo_page(source.get('repository'), f'commits/{head}'))}"
    line = f"{_who(p)} pushed new commits{where if head else ''}."
    return pr_message(repo, pr["id"], pr["title"], _href(pr), line, target=target)


def format_pr_reviewers(p: dict) -> Message:
    pr, repo, target = _pull_request(p)
    added = [_person(u) for u in p.get("addedReviewers") or []]
    removed = [_person(u) for u in p.get("removedReviewers") or []]
    changes = [f"added {', '.join(added)}" if added else "", f"removed {', '.join(removed)}" if removed else ""]
    line = f"{_who(p)} changed the reviewers: {'; '.join(c for c in changes if c) or 'no change'}."
    return pr_message(repo, pr["id"], pr["title"], _href(pr), line, target=target)


def _pr_comment(verb: str):
    def format_comment(p: dict) -> Message:
        pr, repo, target = _pull_request(p)
        text = (p.get("comment") or {}).get("text")
        return pr_message(repo, pr["id"], pr["title"], _href(pr), f"{_who(p)} {verb}:", text=text, target=target)

    return format_comment


def _commit_comment(verb: str):
    def format_comment(p: dict) -> Message:
        repo, sha = p["repository"], p["commit"]
        url = _repo_page(repo, f"commits/{sha}")
        body = [f"{_who(p)} {verb} on {commit_link(sha, url)}:"]
        text = (p.get("comment") or {}).get("text")
        if text and text.strip():
            body.append(md.quote(text, DESCRIPTION_LIMIT, DESCRIPTION_LINES))
        title = f"{repo['name']}: comment on commit {sha[:SHORT_SHA]}"
        return Message(title=title, url=url, body=body, repo=repo["name"])

    return format_comment


def format_forked(p: dict) -> Message:
    fork = p["repository"]
    origin = (fork.get("origin") or {}).get("name") or fork["name"]
    # A fork keeps the repository's name by default; the project (`~USER` for a personal one) tells them apart.
    key = (fork.get("project") or {}).get("key")
    name = f"{key}/{fork['name']}" if key else fork["name"]
    line = f"{_who(p)} forked the repository into {md.link(name, _href(fork))}."
    return Message(title=f"{origin}: forked", url=_href(fork), body=[line], repo=origin)


def format_modified(p: dict) -> Message:
    old, new = p["old"], p["new"]
    body = [
        f"{_who(p)} changed the repository settings:",
        change_bullets({"name": {"old": old["name"], "new": new["name"]}}),
    ]
    return Message(title=f"{new['name']}: settings changed", url=_href(new), body=body, repo=new["name"])


# -- event rules: the branch an event is about ------------------------------------------------


def _changed_branch(p: dict) -> str | None:
    """The first branch a push changed (a push of several is filtered per message by the worker)."""
    for change in p["changes"]:
        if not _is_tag(change):
            return change["ref"]["displayId"]
    return None


def _pr_target(p: dict) -> str | None:
    return p["pullRequest"]["toRef"].get("displayId")


_pr_row = partial(Event, schema=PullRequestPayload, branch=_pr_target)


class BitbucketServer(Source):
    name = "bitbucket-server"
    title = "Bitbucket Server"
    setup = (
        "Repository settings → Webhooks → Create webhook: URL https://<relay>/hooks/<route>?token=<secret>, "
        "then pick the events"
    )
    delivery_headers = ("X-Request-Id",)
    schema = ServerPayload
    events: ClassVar[dict[str, Event]] = {
        "repo:refs_changed": Event(format_refs_changed, RefsChangedPayload, branch=_changed_branch),
        "repo:modified": Event(format_modified, ModifiedPayload),
        "repo:forked": Event(format_forked, ForkPayload),
        "repo:comment:added": Event(_commit_comment("commented"), CommitCommentPayload),
        "repo:comment:edited": Event(_commit_comment("edited a comment"), CommitCommentPayload),
        "repo:comment:deleted": Event(_commit_comment("deleted a comment"), CommitCommentPayload),
        "pr:opened": _pr_row(_pr_event("opened", with_branches=True, with_text=True)),
        "pr:modified": _pr_row(_pr_event("edited", with_branches=True, with_text=True)),
        "pr:from_ref_updated": _pr_row(format_pr_new_commits),
        "pr:reviewer:updated": _pr_row(format_pr_reviewers),
        "pr:reviewer:approved": _pr_row(_pr_event("approved", "success")),
        "pr:reviewer:unapproved": _pr_row(_pr_event("removed their approval")),
        "pr:reviewer:needs_work": _pr_row(
            _pr_event("marked the pull request as needing work", "warning")),
        "pr:merged": _pr_row(_pr_event("merged", "success", with_branches=True)),
        "pr:declined": _pr_row(_pr_event("declined", with_branches=True)),
        "pr:deleted": _pr_row(_pr_event("deleted the pull request")),
        "pr:comment:added": _pr_row(_pr_comment("commented")),
        "pr:comment:edited": _pr_row(_pr_comment("edited a comment")),
        "pr:comment:deleted": _pr_row(_pr_comment("deleted a comment")),
    }
    ignored: ClassVar[dict[str, str]] = {"diagnostics:ping": "connection test"}

    def detect_event(self, payload, headers):
        key = payload.get("eventKey") if isinstance(payload, dict) else None
        return (key or headers.get("X-Event-Key") or "").strip() or None


SOURCE = BitbucketServer()
