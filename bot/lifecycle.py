"""Alert lifecycle: what a webhook about a known alert means for the channel and for on-call.

A formatter names the alert (`Message.alert`); `decide` compares the news with the alert's stored
state (`bot.store.alerts`) and the route's options, and says what to post:

- a first firing is posted in full, and its escalation is scheduled if the route has `escalate:`;
- a firing alert sent again unchanged (Alertmanager's and Grafana's repeat interval) follows
  `repeats:` — posted in full, as a one-line reminder ("still firing since 10:02 UTC (3h)"), or not
  at all;
- a resolution says how long the alert fired, cancels a pending escalation, and tells the users an
  escalation reached that it is over;
- an alert that starts firing `flap_changes` times within `flap_window` is announced once as
  flapping; its further changes are counted, not posted, until it settles (fewer starts in the
  window), and the change that is posted then says how many were summarized. When no change comes,
  the alert settles once a whole window passes without a start: `settle` gives the summary the
  escalation loop posts then (`workers.escalation`).

`decide` is pure (state in, state and decision out); the store applies it in one transaction.
"""

from __future__ import annotations

import time
from dataclasses import replace

from bot import markdown as md
from bot.message import AlertRef, Message
from bot.sources._monitoring import duration
from bot.store.alerts import AlertState, Escalation


def clock(ts: float, now: float) -> str:
    """A moment as "10:02 UTC", with the date when it is not within the last day."""
    fmt = "%H:%M UTC" if now - ts < 86400 else "%Y-%m-%d %H:%M UTC"
    return time.strftime(fmt, time.gmtime(ts))


def _named(message: Message) -> str:
    return md.link(message.title, message.url, 250) if message.url else md.bold(message.title, 250)


def resolution_line(fired: float | None, since: float | None, now: float) -> str:
    if fired is None:
        return ""
    started = f" (firing since {clock(since, now)})" if since else ""
    return f"✅ Resolved after {duration(fired)}{started}."


def reminder_text(message: Message, since: float, now: float) -> str:
    return f"🔁 Still firing since {clock(since, now)} ({duration(now - since)}): {_named(message)}"


def flapping_text(message: Message, starts: int, window: float) -> str:
    return (f"〰️ **Flapping:** {_named(message)} started firing {starts} times in {duration(window)}. "
            "Its changes are not posted one by one until it settles; the next one posted says how many were held back.")


def escalation_text(message: Message, rendered: str, channels: list[str], route: str, since: float,
                    after: float) -> str:
    where = ", ".join(md.code(c) for c in channels) or "no channel"
    head = (f"🚨 **Escalation:** {_named(message)} has been firing for {duration(after)} "
            f"(since {clock(since, since + after)}) — route {md.code(route)}, channel {where}.")
    return md.fit([head, rendered])


def resolved_dm_text(message: Message, fired: float | None, since: float, now: float) -> str:
    took = f" after {duration(fired)}" if fired is not None else ""
    return f"✅ **Resolved{took}:** {_named(message)} (firing since {clock(since, now)})."


def decide(state: AlertState | None, ref: AlertRef, message: Message, route, now: float, *,
           rendered: str = "", channels: list[str] = ()) -> tuple[AlertState, dict]:
    """The new state and the decision for one message about an alert. The decision's `action` is
    "post" (the message, with `line` appended when set), "remind", "flapping" (post `text`
    instead), or "skip" (with `reason`); `dm` is text for `dm_users`, if any."""
    new, decision = _decide(state, ref, message, route, now, rendered, channels)
    if channels:
        new.channels = list(channels)
    # A flapping alert settles a whole window after its last start, if no start comes first.
    new.settle_due = max(new.starts, default=now) + route.flap_window if new.flapping_since is not None else None
    return new, decision


def settle(state: AlertState, now: float) -> tuple[AlertState, str] | None:
    """The state of a flapping alert that settled without a further change, and the summary to post
    to its channels; None when it is not flapping or not due (a webhook came first)."""
    if state.flapping_since is None or state.settle_due is None or state.settle_due > now:
        return None
    held = f"{state.summarized} change{'' if state.summarized == 1 else 's'} held back"
    text = (f"〰️ Settled after flapping since {clock(state.flapping_since, now)} ({held}); now {state.status}: "
            f"{md.bold(state.title, 250)}")
    return replace(state, flapping_since=None, summarized=0, settle_due=None), text


def _decide(state, ref, message, route, now, rendered, channels) -> tuple[AlertState, dict]:
    if ref.status == "resolved":
        return _resolved(state, ref, message, route, now)
    if state is None or state.status == "resolved":
        return _started(state, ref, message, route, now, rendered, list(channels))
    state = replace(state, title=message.title)
    if ref.revision != state.revision:
        state.revision = ref.revision
        state.notified += 1
        return state, {"action": "post"}
    if state.flapping_since is not None:
        return state, {"action": "skip", "reason": "a repeat of a flapping alert"}
    if route.repeats == "full":
        state.notified += 1
        return state, {"action": "post"}
    if route.repeats == "suppress":
        return state, {"action": "skip", "reason": "a repeat of a firing alert (repeats: suppress)"}
    state.notified += 1
    return state, {"action": "remind", "text": reminder_text(message, state.first_seen, now)}


def _started(state, ref, message, route, now, rendered, channels) -> tuple[AlertState, dict]:
    window_starts = [t for t in (state.starts if state else []) if now - t < route.flap_window] + [now]
    flapping_since = state.flapping_since if state else None
    summarized = state.summarized if state else 0
    new = AlertState(status="firing", first_seen=ref.started_at or now, route=route.name, key=ref.key,
                     title=message.title, notified=(state.notified if state else 0), revision=ref.revision,
                     starts=window_starts, flapping_since=flapping_since, summarized=summarized)
    decision: dict = {"action": "post"}
    if flapping_since is None and len(window_starts) >= route.flap_changes:
        new.flapping_since, new.summarized = now, 0
        decision = {"action": "flapping", "text": flapping_text(message, len(window_starts), route.flap_window)}
    elif flapping_since is not None and len(window_starts) >= route.flap_changes:
        new.summarized += 1
        decision = {"action": "skip", "reason": "the alert is flapping; the change is summarized"}
    elif flapping_since is not None:
        new.flapping_since, new.summarized = None, 0
        decision = {"action": "post", "line": _settled(summarized, flapping_since, now)}
    if decision["action"] != "skip":
        new.notified += 1
    rule = route.escalate
    if rule is not None and rule.applies(message.severity):
        new.escalation = Escalation(due=now + rule.after, users=list(rule.users),
                                    text=escalation_text(message, rendered, channels, route.name, new.first_seen,
                                                         rule.after))
    return new, decision


def _settled(summarized: int, since: float, now: float) -> str:
    held = f"; {summarized} change(s) were not posted" if summarized else ""
    return f"〰️ Settled after flapping since {clock(since, now)}{held}."


def _resolved(state, ref, message, route, now) -> tuple[AlertState, dict]:
    since = ref.started_at or (state.first_seen if state and state.status == "firing" else None)
    end = ref.ended_at or now
    fired = end - since if since and end >= since else None
    if state is None:
        return (AlertState(status="resolved", first_seen=since or now, route=route.name, key=ref.key,
                           title=message.title),
                {"action": "post", "line": resolution_line(fired, since, now)})
    new = replace(state, status="resolved", title=message.title, escalation=None, escalated_to=[],
                  escalated_at=None)
    if state.status == "resolved":
        return new, {"action": "skip", "reason": "the alert was already resolved"}
    decision: dict = {"action": "post", "line": resolution_line(fired, since, now)}
    window_starts = [t for t in state.starts if now - t < route.flap_window]
    if state.flapping_since is not None and len(window_starts) >= route.flap_changes:
        new.summarized += 1
        decision = {"action": "skip", "reason": "the alert is flapping; the change is summarized"}
    elif state.flapping_since is not None:
        new.flapping_since, new.summarized = None, 0
        decision["line"] = " ".join(filter(None, [decision["line"],
                                                  _settled(state.summarized, state.flapping_since, now)]))
    if state.escalated_to:
        decision["dm_users"] = list(state.escalated_to)
        decision["dm"] = resolved_dm_text(message, fired, since or state.first_seen, now)
    return new, decision
