"""Pieces shared by the monitoring integrations (uptime checks, alerting tools).

Every one of them reports that something went wrong or recovered. These helpers give those
messages one look: the alert is "firing" with the tool's severity while the problem lasts and
"resolved" with severity success once it is over, and the facts sit in `**Label:** value` lines.
"""

from __future__ import annotations

import datetime as dt
import re

from bot import markdown as md
from bot.message import AlertRef, Message, severity_of

# ISO 8601 as senders write it: Go's nanoseconds ("…:00.123456789Z") are more digits than Python parses.
_ISO = re.compile(r"^(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)?$")


def is_recovery(word) -> bool:
    """Whether a tool's state word (up, ok, resolved, recovered, closed…) means the problem is over."""
    return severity_of(word, default="") == "success" or str(word).strip().lower() == "closed"


def epoch(value) -> float | None:
    """Epoch seconds from a sender's time: ISO 8601 text or a number (seconds, or milliseconds when
    it is that large). None when absent, unreadable or a zero time (Alertmanager's "not ended yet"
    is year 1)."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)) or re.fullmatch(r"\d+(\.\d+)?", str(value)):
        seconds = float(value)
        seconds = seconds / 1000 if seconds > 1e11 else seconds
        return seconds if seconds > 0 else None
    m = _ISO.match(str(value).strip())
    if not m:
        return None
    zone = (m.group(3) or "Z").replace("Z", "+00:00")
    try:
        moment = dt.datetime.fromisoformat(f"{m.group(1)}.{(m.group(2) or '0')[:6]:0<6}{zone}".replace(" ", "T"))
    except ValueError:
        return None
    seconds = moment.timestamp()
    return seconds if seconds > 0 else None


def alert_ref(key, *, up: bool, started_at=None, ended_at=None, revision: str = "") -> AlertRef | None:
    """The identity of a firing (or, once `up`, resolved) alert; None without a sender's key."""
    if key is None or str(key).strip() == "":
        return None
    return AlertRef(str(key), "resolved" if up else "firing", epoch(started_at), epoch(ended_at) if up else None,
                    revision)


def alert(title: str, *, up: bool, url=None, severity: str = "error", fields=(), details=(), labels=None,
          key=None, started_at=None, ended_at=None, revision: str = "") -> Message:
    """A firing alert with `severity`, or a resolved one once `up`; `fields` are (label, markdown).
    `key` is the sender's identity of the alert (with its start and end times where given), which
    lets the relay follow the alert across webhooks (`bot.lifecycle`); a new `revision` of a firing
    alert (a changed state word) is news, posted in full rather than as a repeat."""
    return Message(
        title=title,
        url=url,
        severity="success" if up else severity,
        status="resolved" if up else "firing",
        body=[block for block in (md.fields(fields), *details) if block],
        labels=labels or {},
        alert=alert_ref(key, up=up, started_at=started_at, ended_at=ended_at, revision=revision),
    )


def check_alert(name: str, *, up: bool, **kwargs) -> Message:
    """The alert of an uptime check that went down ("<name> is down") or came back ("<name> is up")."""
    return alert(f"{name} is {'up' if up else 'down'}", up=up, **kwargs)


def target(address, port=None, kind=None, limit: int = 200) -> str:
    """A monitored address: a link when it is a web URL, otherwise inline code (`host:port`, an IP),
    followed by the kind of check in parentheses; only the kind when there is no address."""
    address = str(address or "").strip()
    if md.safe_url(address):
        shown = md.link(address, address, limit)
    else:
        shown = md.code(f"{address}:{port}" if address and port else address, limit)
    if not kind:
        return shown
    return f"{shown} ({md.inline(kind, 50)})" if shown else f"{md.inline(kind, 50)} check"


def joined(items: list[str], limit: int = 10) -> str:
    """Already-safe markdown items on one line, comma-separated and capped with "and N more"."""
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def duration(seconds) -> str:
    """A length of time such as "2d 3h", "44m 37s" or "12s"; "" when `seconds` is not a number ≥ 0."""
    try:
        left = int(float(seconds))
    except (TypeError, ValueError, OverflowError):
        return ""
    if left < 0:
        return ""
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if left >= size or (unit == "s" and not parts):
            parts.append(f"{left // size}{unit}")
            left %= size
    return " ".join(parts[:2])


def utc_time(seconds) -> str:
    """A Unix timestamp as "2026-11-28 21:04:12 UTC"; "" when it is not a usable number."""
    try:
        return dt.datetime.fromtimestamp(int(float(seconds)), dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (TypeError, ValueError, OverflowError, OSError):
        return ""
