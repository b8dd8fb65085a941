"""Every Redis key the relay writes, in one place. All live under `relay:` (RQ keeps its own `rq:`
keys, reached only through RQ's API). The layout targets one Redis, not Redis Cluster: scripts
derive channel keys from `PREFIX`.

Delivery (bot.store.outbox):
- `outbox:<channel>`    pending items (JSON), oldest first
- `inflight:<channel>`  items taken for the post being made now
- `lease:<channel>`     who posts to that channel (PX expiry, renewed during a post)
- `chstate:<channel>`   retry bookkeeping (attempts, not_before)
- `ready`               channels with pending items, scored by when they may go next
- `channels`            every channel that may hold items, for the recovery sweep
- `wake`                a nudge list that wakes idle delivery threads
- `formatted:<delivery id>`  a delivery's messages are in the outbox (a re-run job adds none)
- `sweep-lock`          one recovery sweep at a time across workers
- `uncertain:<item id>` the item was in flight when its worker died: Copera may already have it

Records (bot.store.failed, bot.store.history, bot.store.stats):
- `failed`, `failed:index`   the failed list (entries by id; ids by time)
- `delivery:<delivery id>`   one webhook's story; `deliveries:<route>` the newest ids per route
- `counters`                 monotonic delivery counters for /metrics
- `counted-failed:<item id>` the message was counted as failed (once, whoever gives up on it)
- `stats:<minute>`           per-route counts per minute, two hours

Alert lifecycle (bot.store.alerts):
- `alert:<route>:<key hash>`  one alert's state (JSON: status, first firing, flaps, escalation), with a TTL
- `escalations`               alerts awaiting escalation, scored by their deadline
- `escalated`                 alerts whose on-call users were sent a DM and that have not resolved yet
- `settles`                   flapping alerts, scored by when they have settled if no start comes first

Intake and operations:
- `seen:<route>:<sender's delivery key>`  redelivery window (value: delivery id, or a pending claim)
- `intake-limit:<route>:<minute>`         per-route request budget
- `authfail:<route>`                      failed signature checks, for the notice
- `console-signin-failures:<minute>`      failed console sign-ins, for their limit
- `notice:<kind>:<route>:<channel>`       a notice was said this hour
- `rl:<token hash>:tat`, `rl:<token hash>:pause`  the shared Copera rate limiter
- `alive:<worker>`, `stuck-since:<job id>` dead-worker job recovery
"""

from __future__ import annotations

PREFIX = "relay:"

READY = PREFIX + "ready"
CHANNELS = PREFIX + "channels"
WAKE = PREFIX + "wake"
SWEEP_LOCK = PREFIX + "sweep-lock"
FAILED = PREFIX + "failed"
FAILED_INDEX = PREFIX + "failed:index"
COUNTERS = PREFIX + "counters"
ESCALATIONS = PREFIX + "escalations"
ESCALATED = PREFIX + "escalated"
SETTLES = PREFIX + "settles"


def outbox(channel: str) -> str:
    return f"{PREFIX}outbox:{channel}"


def inflight(channel: str) -> str:
    return f"{PREFIX}inflight:{channel}"


def lease(channel: str) -> str:
    return f"{PREFIX}lease:{channel}"


def channel_state(channel: str) -> str:
    return f"{PREFIX}chstate:{channel}"


def uncertain(item_id: str) -> str:
    return f"{PREFIX}uncertain:{item_id}"


def counted_failed(item_id: str) -> str:
    return f"{PREFIX}counted-failed:{item_id}"


def formatted(delivery_id: str | None) -> str:
    return f"{PREFIX}formatted:{delivery_id or '-'}"


def delivery(delivery_id: str) -> str:
    return f"{PREFIX}delivery:{delivery_id}"


def deliveries(route: str) -> str:
    return f"{PREFIX}deliveries:{route}"


def stats_bucket(minute: int) -> str:
    return f"{PREFIX}stats:{minute}"


def seen(route: str, key: str) -> str:
    return f"{PREFIX}seen:{route}:{key}"


def intake_limit(route: str, minute: int) -> str:
    return f"{PREFIX}intake-limit:{route}:{minute}"


def auth_failures(route: str) -> str:
    return f"{PREFIX}authfail:{route}"


def console_signin_failures(minute: int) -> str:
    return f"{PREFIX}console-signin-failures:{minute}"


def notice(kind: str, route: str, channel: str | None) -> str:
    return f"{PREFIX}notice:{kind}:{route}:{channel or '-'}"


def rate_limiter(token_name: str) -> list[str]:
    return [f"{PREFIX}rl:{token_name}:tat", f"{PREFIX}rl:{token_name}:pause"]


def alive(worker_name: str) -> str:
    return f"{PREFIX}alive:{worker_name}"


def stuck_since(job_id: str) -> str:
    return f"{PREFIX}stuck-since:{job_id}"


def alert_state(alert_id: str) -> str:
    return f"{PREFIX}alert:{alert_id}"
