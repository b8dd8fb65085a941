"""What CI/CD senders have in common: the meaning of their status words, and one look for a build.

Every CI source reports "a run of something finished with some status, on this branch and commit,
because of this person". The words differ per sender (Passed, SUCCESS, success, green); the message
should not, so sources translate their payload into `build_message()` arguments and this module
decides how a build reads in a channel.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from bot import markdown as md
from bot.message import Message
from bot.sources._monitoring import duration, epoch

SHORT_SHA = 7
_SCP_LIKE = re.compile(r"[\w.-]+@(?P<host>[\w.-]+):(?P<path>[\w./-]+)")

# A sender's status word -> (severity, how the title says it). Words are compared lower-cased.
_OUTCOMES = {
    "passed": ("success", "passed"),
    "success": ("success", "passed"),
    "successful": ("success", "passed"),
    "succeeded": ("success", "passed"),
    "fixed": ("success", "was fixed"),
    "failed": ("error", "failed"),
    "failure": ("error", "failed"),
    "failing": ("error", "is failing"),
    "broken": ("error", "is broken"),
    "still failing": ("error", "is still failing"),
    "error": ("error", "failed"),
    "errored": ("error", "errored"),
    "infrastructure_fail": ("error", "failed on infrastructure"),
    "timedout": ("error", "timed out"),
    "unauthorized": ("error", "was not authorized"),
    "unstable": ("warning", "is unstable"),
    "canceled": ("warning", "was canceled"),
    "cancelled": ("warning", "was canceled"),
    "aborted": ("warning", "was aborted"),
    "stopped": ("warning", "was stopped"),
    "interrupted": ("warning", "was interrupted"),
    "blocked": ("info", "is blocked"),
    "skipped": ("info", "was skipped"),
    "pending": ("info", "is pending"),
    "queued": ("info", "is queued"),
    "scheduled": ("info", "is scheduled"),
    "started": ("info", "started"),
    "running": ("info", "is running"),
    "building": ("info", "is building"),
}


def outcome(status) -> tuple[str, str]:
    """(severity, verb) for a sender's build status word; unknown words are shown as they are."""
    word = " ".join(str(status or "").split()).lower()
    return _OUTCOMES.get(word, ("info", word.replace("_", " ") or "finished"))


def short_sha(sha) -> str:
    """The abbreviated commit id people recognise (git's default length)."""
    return str(sha or "")[:SHORT_SHA]


def commit_url(repo_url, sha) -> str | None:
    """The web page of commit `sha` in the repository cloned from `repo_url`, else None.

    Accepts http(s) clone URLs and the scp-like SSH form (`git@host:owner/repo.git`), whose web
    pages are served over https on the same host.
    """
    if not isinstance(repo_url, str) or not sha:
        return None
    base = repo_url.strip().removesuffix("/").removesuffix(".git")
    scp = _SCP_LIKE.fullmatch(base)
    if scp:
        base = f"https://{scp['host']}/{scp['path']}"
    if not base.startswith(("http://", "https://")):
        return None
    host = urlsplit(base).netloc.lower()
    # GitHub, Gitea, Gogs and GitLab all serve /commit/<sha>; Bitbucket Cloud spells it /commits/.
    path = "/commits/" if host.endswith("bitbucket.org") else "/commit/"
    return f"{base}{path}{sha}"


def codes(names, limit: int = 10) -> str:
    """Names as inline code, comma-separated, capped with "and N more"."""
    names = [n for n in names if n]
    shown = ", ".join(md.code(n, 80) for n in names[:limit])
    return f"{shown} and {len(names) - limit} more" if len(names) > limit else shown


def elapsed(started, finished) -> float | None:
    """Seconds from a sender's start time to its end time (ISO 8601 or epoch), None unless both
    are there and in order: a run still going has no length yet."""
    start, end = epoch(started), epoch(finished)
    return end - start if start is not None and end is not None and end >= start else None


def build_message(
    *,
    what: str,
    result: tuple[str, str],
    url: str | None = None,
    branch: str | None = None,
    tag: str | None = None,
    sha: str | None = None,
    sha_url: str | None = None,
    subject: str | None = None,
    by: str | None = None,
    extra: tuple | list = (),
    blocks: tuple | list = (),
    repo: str | None = None,
    took: float | None = None,
) -> Message:
    """One build as a message: "<what> <verb>" linked to the run, then branch, commit, who, extras.

    `result` is (severity, verb), usually `outcome(<status word>)`. `extra` holds more (label, safe
    markdown) pairs for the field list; `blocks` holds markdown blocks shown below it (an error
    message, a log tail, a changelog). `took` is how long a finished run took, in seconds.
    """
    commit = ""
    if sha:
        commit = md.link(short_sha(sha), sha_url) if md.safe_url(sha_url) else md.code(short_sha(sha))
        if subject and md.first_line(subject):
            commit += " " + md.inline(md.first_line(subject))
    fields = [
        ("Branch", md.code(branch) if branch else None),
        ("Tag", md.code(tag) if tag else None),
        ("Commit", commit),
        ("By", md.inline(by, 120) if by else None),
        *extra,
        ("Took", duration(took) if took else None),
    ]
    severity, verb = result
    return Message(
        title=f"{what} {verb}",
        url=url,
        severity=severity,
        body=[md.fields(fields), *blocks],
        branch=branch or None,
        repo=repo or None,
    )
