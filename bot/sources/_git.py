"""What git forges share: the message builders for pushes, refs and pull requests, and the small
helpers every forge's module needs (branch names, commit lines, the all-zero object id).

Zulip keeps the same in `zerver/lib/webhooks/git.py`. Bitbucket Cloud, Bitbucket Server and Azure
DevOps build their push and pull-request messages with `ref_message` and `pr_message`, so the three
read alike; GitHub, Gitea (and Gogs) and GitLab share the commit line, the branch of a ref and the
"<sentence> in <repository>" message. All of them name people with `user_name` and credit a pushed
commit's author with `other_author`; the two ways a commit reads in a push (`commit_item`, sha
first, and `commit_summary`, message first) are kept apart because the senders' messages differ.
"""

from __future__ import annotations

from marshmallow import fields

from bot import markdown as md
from bot.message import Message
from bot.sources.base import Lenient

# The object id git reports for a ref that does not exist (before it is created, after it is deleted).
ZERO_SHA = "0" * 40
SHORT_SHA = 7
MAX_COMMITS = 10
DESCRIPTION_LIMIT = 600
DESCRIPTION_LINES = 8


class Href(Lenient):
    href = fields.Str(allow_none=True)


def person(name, url=None) -> str:
    """A person in a message: a link to their profile when there is one, else their name in bold."""
    return md.link(name, url) if md.safe_url(url) else md.bold(name or "Someone")


def commit_link(sha: str, url=None) -> str:
    """A short commit id, linked when the URL is known."""
    short = (sha or "")[:SHORT_SHA]
    return md.link(short, url) if md.safe_url(url) else md.code(short)


def pr_message(
    repo: str,
    number,
    pr_title: str,
    url,
    line: str,
    *,
    reviewers: list[str] | None = None,
    text: str | None = None,
    severity: str = "info",
    target: str | None = None,
) -> Message:
    """A pull-request event: titled `<repo>: PR #<n> <title>` and linked to the pull request.

    `line` is the markdown sentence saying who did what; `reviewers` are markdown names; `text`
    (a description or comment) is quoted.
    """
    body = [line]
    if reviewers:
        body.append(md.fields([("Reviewers", ", ".join(reviewers))]))
    if text and text.strip():
        body.append(md.quote(text, DESCRIPTION_LIMIT, DESCRIPTION_LINES))
    return Message(
        title=f"{repo}: PR #{number} {pr_title}",
        url=url,
        severity=severity,
        body=body,
        branch=target,
        repo=repo,
    )


def branches(source, target) -> str:
    """`source` → `target`, for pull requests."""
    return f"{md.code(source or '?')} → {md.code(target or '?')}"


def ref_message(
    repo: str,
    who: str,
    ref_type: str,
    name: str,
    change: str,
    *,
    url=None,
    head: str | None = None,
    head_url=None,
    commits: list[str] | None = None,
    total: int = 0,
    truncated: bool = False,
) -> Message:
    """One branch or tag change of a push.

    `change` is "created", "deleted", "forced" or "updated"; `commits` are ready bullet items (at
    most `MAX_COMMITS` shown of `total`; `truncated` when the sender left some out), `head` the
    commit the ref points at now.
    """
    noun = "tag" if ref_type == "tag" else "branch"
    ref = md.code(name)
    at = f" at {commit_link(head, head_url)}" if head and not commits else ""
    now = f"; head is now {commit_link(head, head_url)}" if head else ""
    if change == "deleted":
        title, line = f"{noun} {name} deleted", f"{who} deleted {noun} {ref}."
    elif noun == "tag":
        title, line = f"tag {name}", f"{who} pushed tag {ref}{at}."
    elif change == "forced":
        title, line = f"force-push to {name}", f"{who} force-pushed {ref}{now}."
    elif change == "created":
        title, line = f"branch {name} created", f"{who} created branch {ref}{at}."
    elif commits:
        count = f"{total}+ commits" if truncated else f"{total} commit" if total == 1 else f"{total} commits"
        title, line = f"push to {name}", f"{who} pushed {count} to {ref}:"
    else:
        title, line = f"push to {name}", f"{who} pushed to {ref}{now}."
    body = [line]
    if commits:
        body.append(md.bullets(commits[:MAX_COMMITS], total=total))
    return Message(
        title=f"{repo}: {title}",
        url=url,
        body=body,
        branch=name if noun == "branch" else None,
        repo=repo,
        labels={"ref_type": noun},
    )


def change_bullets(changes: dict) -> str:
    """`field: old → new` bullets for changed settings; long values only name the field, non-text ones
    are left out."""
    items = []
    for field_name, change in changes.items():
        if not isinstance(change, dict):
            continue
        old, new = change.get("old"), change.get("new")
        if not isinstance(new, str) or old == new:
            continue
        if len(new) <= 80 and (old is None or (isinstance(old, str) and len(old) <= 80)):
            before = f"{md.code(old)} → " if old else ""
            items.append(f"{md.inline(field_name.replace('_', ' '))}: {before}{md.code(new) or 'empty'}")
        else:
            items.append(f"{md.inline(field_name.replace('_', ' '))} changed")
    return md.bullets(items)


def branch_of_ref(ref) -> str:
    """`refs/heads/main` → `main`; any other ref is returned as it is."""
    return (ref or "").removeprefix("refs/heads/")


def pushed_branch(ref) -> str | None:
    """The branch a pushed ref names (`refs/heads/main` → `main`); None for tags and other refs."""
    return branch_of_ref(ref) if (ref or "").startswith("refs/heads/") else None


def tag_of_ref(ref) -> str | None:
    """The tag a pushed ref names (`refs/tags/v1` → `v1`); None for branches and other refs."""
    return ref.removeprefix("refs/tags/") if (ref or "").startswith("refs/tags/") else None


def user_name(user, *keys: str) -> str:
    """The first of `keys` set in a user object, else "".

    Each forge names people in its own fields (GitHub `login`, GitLab `name`, Bitbucket
    `display_name`…), and senders leave the object out or null, which reads as no name.
    """
    if not isinstance(user, dict):
        return ""
    return next((user[key] for key in keys if user.get(key)), "")


def other_author(names, pushers=()) -> str | None:
    """Whom to credit a pushed commit to: the first of its author's `names`, unless one of them is
    among `pushers` (people's own commits need no credit in their own push)."""
    names = [name for name in names if name]
    return names[0] if names and not set(names) & set(pushers) else None


def commit_line(sha, url, message) -> str:
    """`[abcdef1](url) First line of the message`, leaving out whichever part is missing."""
    short = str(sha or "")[:SHORT_SHA]
    parts = [md.link(short, url) if short else "", md.inline(md.first_line(message, 100))]
    return " ".join(part for part in parts if part)


def commit_item(sha, url, message, author=None) -> str:
    """A pushed commit as GitHub, Gitea and GitLab list it: `[abcdef1](url) First line (author)`."""
    return commit_line(sha, url, message) + (f" ({md.inline(author)})" if author else "")


def commit_summary(sha, url, message, author=None) -> str:
    """A pushed commit as Bitbucket and Azure DevOps list it, message first:
    `First line ([abcdef1](url)) — author`."""
    summary = md.inline(md.first_line(message) or "(no message)")
    return f"{summary} ({commit_link(sha, url)})" + (f" — {md.inline(author)}" if author else "")


def commit_count(count: int) -> str:
    """How many commits, in words: "1 commit", "3 commits"."""
    return f"{count} commit{'s' if count != 1 else ''}"


def commit_list(items: list[str], total: int) -> str:
    """A push's commit items as bullets, at most ten, then "… and N more commits" for the rest of
    `total` (senders cap the commits they send, so the total can exceed the items)."""
    return md.bullets(items, total=total, noun="more commits") if items else ""


def repo_message(repo: str, sentence: str, url, body=(), severity="info", branch=None, subject=None) -> Message:
    """A message titled "<sentence> in <repo>: <subject>", routed by that repository."""
    return Message(
        title=f"{sentence} in {repo}" + (f": {subject}" if subject else ""),
        url=url,
        severity=severity,
        body=[block for block in body if block],
        branch=branch,
        repo=repo,
    )
