"""Alert state: what the relay remembers about each alert between webhooks, and the escalation
schedule.

- `relay:alert:<route>:<key hash>`: one alert's `AlertState` as JSON, kept `TTL_SECONDS` after its
  last webhook (an alert silent for a week is forgotten; its next firing starts afresh).
- `relay:escalations`: alert ids scored by their escalation deadline. The set, not a timer in a
  process, is the schedule, so a deadline survives a worker restart; whoever removes an id from it
  (ZREM in a transaction) is the one that escalates or cancels, so it happens once.
- `relay:escalated`: alerts whose users were sent a DM and that have not resolved yet.
- `relay:settles`: flapping alerts scored by when they settle (their last start plus the flap
  window) if no start comes first; claimed like a deadline, so the settled summary is posted once.

Every change is a WATCH/MULTI transaction on the alert's key, which both a webhook and an escalation
write, so a resolution and an escalation racing each other cannot both win: either the alert
resolves before its deadline (never escalated) or the escalation is recorded first and the
resolution sends its DMs; two workers claiming one deadline conflict the same way. The schedule
itself is not watched: a storm of other alerts changing it must not make every claim retry.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields

import redis

from bot.store import keys
from bot.store.outbox import Outbox, OutboxItem

TTL_SECONDS = 7 * 24 * 3600


@dataclass
class Escalation:
    """An escalation scheduled for an alert: when, to whom, and what the DM says."""

    due: float
    users: list[str]
    text: str


@dataclass
class AlertState:
    """`status` is the last status seen; `first_seen` is when the current firing began (the
    sender's start time where given); `starts` are the recent firing starts (flap detection), and a
    flapping alert settles at `settle_due` unless it starts again first; `channels` are where its
    last message went; `decision` is what the last delivery (`last_delivery`) decided, replayed if
    its job re-runs."""

    status: str
    first_seen: float
    route: str = ""
    key: str = ""
    title: str = ""
    notified: int = 0
    revision: str = ""
    starts: list[float] = field(default_factory=list)
    flapping_since: float | None = None
    summarized: int = 0
    settle_due: float | None = None
    channels: list[str] = field(default_factory=list)
    escalation: Escalation | None = None
    escalated_to: list[str] = field(default_factory=list)
    escalated_at: float | None = None
    last_delivery: str = ""
    decision: dict = field(default_factory=dict)
    updated_at: float = 0.0

    def encode(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def decode(cls, raw) -> AlertState:
        data = json.loads(raw)
        known = {f.name for f in fields(cls)}
        state = cls(**{k: v for k, v in data.items() if k in known})
        if isinstance(state.escalation, dict):
            state.escalation = Escalation(**state.escalation)
        return state


def alert_id(route: str, key: str) -> str:
    """The stored id of a route's alert: the sender's key may be long or hold any character."""
    return f"{route}:{hashlib.sha256(key.encode()).hexdigest()[:32]}"


class AlertStore:
    def __init__(self, connection: redis.Redis, ttl: int = TTL_SECONDS):
        self.redis = connection
        self.ttl = ttl
        self.outbox = Outbox(connection)

    def get(self, aid: str) -> AlertState | None:
        raw = self.redis.get(keys.alert_state(aid))
        return AlertState.decode(raw) if raw else None

    def observe(self, aid: str, delivery_id: str,
                decide: Callable[[AlertState | None], tuple[AlertState, dict]]) -> dict:
        """Applies one webhook's news to an alert. `decide(previous state)` returns the new state
        and the decision (a dict the caller acts on); the state, the escalation schedule and the
        escalated index change together. A re-run of the same delivery gets the decision it got
        the first time, so a retried job neither counts a flap twice nor reschedules."""
        state_key = keys.alert_state(aid)
        result: dict = {}

        def apply(pipe):
            raw = pipe.get(state_key)
            previous = AlertState.decode(raw) if raw else None
            if previous is not None and previous.last_delivery == delivery_id:
                result.clear()
                result.update(previous.decision)
                return
            state, decision = decide(previous)
            state.last_delivery, state.decision, state.updated_at = delivery_id, decision, time.time()
            result.clear()
            result.update(decision)
            pipe.multi()
            pipe.set(state_key, state.encode(), ex=self.ttl)
            if state.escalation is not None:
                pipe.zadd(keys.ESCALATIONS, {aid: state.escalation.due})
            else:
                pipe.zrem(keys.ESCALATIONS, aid)
            if state.escalated_to and state.status == "firing":
                pipe.sadd(keys.ESCALATED, aid)
            else:
                pipe.srem(keys.ESCALATED, aid)
            if state.settle_due is not None:
                pipe.zadd(keys.SETTLES, {aid: state.settle_due})
            else:
                pipe.zrem(keys.SETTLES, aid)

        self.redis.transaction(apply, state_key)
        return result

    def due(self, now: float, limit: int = 50) -> list[str]:
        return self._passed(keys.ESCALATIONS, now, limit)

    def escalate(self, aid: str, now: float, items: Callable[[AlertState], list[OutboxItem]]) -> list[OutboxItem]:
        """Claims a due escalation and queues its DMs (`items(state)`) in the same transaction;
        returns the items, or [] if another worker claimed it first, the alert resolved, or its
        deadline moved. The outbox push is marked per alert and firing, so even a transaction
        replayed after a lost reply queues the DMs once."""

        def act(pipe, state: AlertState) -> list[OutboxItem]:
            if state.status != "firing" or state.escalation is None:
                return []
            dms = items(state)
            state.escalated_to = list(state.escalation.users)
            state.escalated_at = now
            state.escalation = None
            pipe.set(keys.alert_state(aid), state.encode(), keepttl=True)
            pipe.sadd(keys.ESCALATED, aid)
            if dms:
                self.outbox.push(dms, marker=f"escalation:{aid}:{state.first_seen}", client=pipe)
            return dms

        return self._claim(keys.ESCALATIONS, aid, now, act)

    def settling(self, now: float, limit: int = 50) -> list[str]:
        """Flapping alerts whose settle time has passed."""
        return self._passed(keys.SETTLES, now, limit)

    def settle(self, aid: str, now: float,
               settled: Callable[[AlertState], tuple[AlertState, list[OutboxItem]] | None]) -> list[OutboxItem]:
        """Claims a flapping alert whose settle time has passed and queues its summary in the same
        transaction: `settled(state)` returns the settled state and the items to post, or None when
        the alert is not settling after all. Returns the items, or [] if another worker claimed it
        first or a webhook settled it or moved its time. The push is marked per alert and flapping
        spell, so a transaction replayed after a lost reply queues the summary once."""

        def act(pipe, state: AlertState) -> list[OutboxItem]:
            outcome = settled(state)
            if outcome is None:
                return []
            new, items = outcome
            pipe.set(keys.alert_state(aid), new.encode(), keepttl=True)
            if items:
                self.outbox.push(items, marker=f"settled:{aid}:{state.flapping_since}", client=pipe)
            return items

        return self._claim(keys.SETTLES, aid, now, act)

    def _passed(self, schedule: str, now: float, limit: int) -> list[str]:
        return [m.decode() for m in self.redis.zrangebyscore(schedule, "-inf", now, start=0, num=limit)]

    def _claim(self, schedule: str, aid: str, now: float,
               act: Callable[..., list[OutboxItem]]) -> list[OutboxItem]:
        """Whoever removes `aid` from `schedule` (a sorted set scored by time) once its time has
        passed acts on it: `act(pipe, state)` queues its writes in the same transaction and
        returns the items it pushed. Returns them, or [] if another worker claimed it first, its
        time moved, or its state expired."""
        state_key = keys.alert_state(aid)
        queued: list[OutboxItem] = []

        def apply(pipe):
            queued.clear()
            score = pipe.zscore(schedule, aid)
            if score is None or score > now:
                return
            raw = pipe.get(state_key)
            state = AlertState.decode(raw) if raw else None
            pipe.multi()
            pipe.zrem(schedule, aid)
            if state is not None:
                queued.extend(act(pipe, state))

        self.redis.transaction(apply, state_key)
        return queued

    def open_escalations(self) -> tuple[list[tuple[AlertState, float]], list[AlertState]]:
        """(alerts waiting for their deadline with it, alerts escalated and still firing); ids
        whose state expired are dropped from the indexes on the way."""
        pending, escalated, gone = [], [], []
        for member, due in self.redis.zrange(keys.ESCALATIONS, 0, -1, withscores=True):
            state = self.get(member.decode())
            (pending.append((state, due)) if state else gone.append(member))
        for member in sorted(self.redis.smembers(keys.ESCALATED)):
            state = self.get(member.decode())
            if state is None:
                self.redis.srem(keys.ESCALATED, member)
            elif state.status == "firing":
                escalated.append(state)
        if gone:
            self.redis.zrem(keys.ESCALATIONS, *gone)
        return pending, escalated
