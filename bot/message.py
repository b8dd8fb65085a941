"""The small message model every formatter produces, and its one rendering to Copera markdown.

Sources describe *what* happened (title, link, severity, body blocks, routing facts); this module
decides how it looks, so severity is shown the same way for every sender and the 10,000-character
limit is enforced in one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot import markdown as md

# Most severe first: the index is the rank used by `min_severity:` and by delivery priority.
SEVERITIES = ("critical", "error", "warning", "info", "success")
EMOJI = {"critical": "🚨", "error": "🔴", "warning": "🟠", "info": "🔵", "success": "✅"}

_ALIASES = {
    "critical": "critical",
    "crit": "critical",
    "fatal": "critical",
    "emergency": "critical",
    "disaster": "critical",
    "p1": "critical",
    "sev1": "critical",
    "page": "critical",
    "alert": "critical",
    "error": "error",
    "err": "error",
    "high": "error",
    "major": "error",
    "p2": "error",
    "sev2": "error",
    "failure": "error",
    "failed": "error",
    "down": "error",
    "warning": "warning",
    "warn": "warning",
    "medium": "warning",
    "minor": "warning",
    "average": "warning",
    "p3": "warning",
    "sev3": "warning",
    "degraded": "warning",
    "info": "info",
    "information": "info",
    "informational": "info",
    "low": "info",
    "p4": "info",
    "p5": "info",
    "sev4": "info",
    "notice": "info",
    "debug": "info",
    "not classified": "info",
    "none": "info",
    "unknown": "info",
    "success": "success",
    "ok": "success",
    "resolved": "success",
    "passed": "success",
    "up": "success",
    "normal": "success",
    "recovered": "success",
}


def severity_of(value, default: str = "info") -> str:
    """Maps a sender's severity/priority word to the relay's scheme (critical … success)."""
    if value is None:
        return default
    return _ALIASES.get(str(value).strip().lower(), default)


def rank(severity: str) -> int:
    """0 for critical … 4 for success; unknown words rank as info."""
    try:
        return SEVERITIES.index(severity)
    except ValueError:
        return SEVERITIES.index("info")


@dataclass(frozen=True)
class AlertRef:
    """Which alert a message is about, so the relay can follow it across webhooks.

    `key` is the sender's own identity for the alert (a fingerprint, an incident id, a check id);
    `status` is "firing" or "resolved"; `started_at`/`ended_at` are the sender's times (epoch
    seconds) where the payload gives them. `revision` changes when a firing alert's content
    changes in a way readers must see (an Alertmanager group gaining an alert), so only an
    unchanged re-send counts as a repeat.
    """

    key: str
    status: str
    started_at: float | None = None
    ended_at: float | None = None
    revision: str = ""


@dataclass
class Message:
    """One chat message about one event.

    `title` is plain text (escaped when rendered) and is linked to `url`; `body` holds markdown
    blocks that formatters built with `bot.markdown` helpers. `status` is "firing" or "resolved"
    for alerts, and `alert` identifies the alert when the sender gives an identity (see
    `bot.lifecycle`). `branch`, `repo` and `labels` are facts that routing rules match on.
    """

    title: str
    url: str | None = None
    severity: str = "info"
    body: list[str] = field(default_factory=list)
    status: str | None = None
    branch: str | None = None
    repo: str | None = None
    labels: dict = field(default_factory=dict)
    alert: AlertRef | None = None

    def routing_facts(self) -> dict:
        return {
            "severity": self.severity,
            "status": self.status,
            "branch": self.branch,
            "repo": self.repo,
            "labels": {str(k): str(v) for k, v in (self.labels or {}).items()},
        }


def render(message: Message, limit: int = md.MAX_MESSAGE) -> str:
    """Copera markdown for `message`, at most `limit` characters."""
    emoji = EMOJI.get(message.severity, EMOJI["info"])
    title = md.link(message.title, message.url, limit=250) if message.url else md.inline(message.title, 250)
    return md.fit([f"{emoji} **{title or 'Notification'}**", *message.body], limit)
