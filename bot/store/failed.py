"""Dead letters: messages Copera refused for good or that could not be delivered in time, and
webhooks the worker could not turn into messages at all.

Each message entry keeps the rendered message, the channel and Copera's reason, so `flask --app bot
failed` explains what happened and `flask --app bot replay` can send it again once the cause is
fixed. A webhook entry (`kind: webhook`, keyed by its delivery id) keeps the accepted webhook
itself, so replaying it formats it again.

The list is bounded: past `MAX_ENTRIES` the oldest entries go, and each one dropped is counted
(`failed_dropped` in the delivery counters, `relay_failed_dropped_total` at /metrics) and logged,
so the bound never loses a failure silently.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, replace

import redis

from bot.store.keys import COUNTERS, FAILED, FAILED_INDEX
from bot.store.outbox import OutboxItem

log = logging.getLogger("relay.failed")

MAX_ENTRIES = 10_000
MAYBE_POSTED_NOTE = "; a worker died while posting it earlier, so it may already be in the channel"

# Adds entries and trims the oldest past the bound in one step; returns the ids it dropped.
_ADD = """
local n = tonumber(ARGV[2])
for i = 1, n do
  redis.call('HSET', KEYS[1], ARGV[2 * i + 2], ARGV[2 * i + 3])
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2 * i + 2])
end
local excess = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[1])
if excess <= 0 then return {} end
local oldest = redis.call('ZRANGE', KEYS[2], 0, excess - 1)
redis.call('HDEL', KEYS[1], unpack(oldest))
redis.call('ZREM', KEYS[2], unpack(oldest))
redis.call('HINCRBY', KEYS[3], 'failed_dropped', #oldest)
return oldest
"""


class FailedList:
    def __init__(self, connection: redis.Redis, max_entries: int = MAX_ENTRIES):
        self.redis = connection
        self.max_entries = max_entries
        self._add = connection.register_script(_ADD)

    def add(self, items: list[OutboxItem], status: int | None, reason: str, client=None,
            maybe_posted: set[str] = frozenset()) -> None:
        """Records messages given up on, with Copera's status and reason. Items in `maybe_posted`
        (ids) were in flight when a worker died, so Copera may have them: their entries say so,
        and a replay may post them twice. With `client` (a transaction pipeline) the write is
        queued there; pass its reply to `report_dropped`."""
        now = time.time()
        entries = []
        for item in items:
            entry = {**asdict(item), "failed_at": now, "copera_status": status, "reason": reason}
            if item.id in maybe_posted:
                entry["maybe_posted"] = True
                entry["reason"] = reason + MAYBE_POSTED_NOTE
            entries.append(entry)
        self._store(entries, now, client)

    def add_webhook(self, envelope: dict, reason: str) -> None:
        """Records an accepted webhook that could not be formatted into messages."""
        now = time.time()
        self._store([{"id": envelope["delivery_id"], "kind": "webhook", "delivery_id": envelope["delivery_id"],
                      "route": envelope["route"], "event": envelope["event"], "source": envelope["source"],
                      "channel": None, "accepted_at": float(envelope.get("received_at") or now),
                      "failed_at": now, "copera_status": None, "reason": reason, "envelope": envelope}], now)

    def _store(self, entries: list[dict], now: float, client=None) -> None:
        args: list = [self.max_entries, len(entries), now]
        for entry in entries:
            args += [entry["id"], json.dumps(entry)]
        if client is not None:
            self._add(keys=[FAILED, FAILED_INDEX, COUNTERS], args=args, client=client)
            return
        self.report_dropped(self._add(keys=[FAILED, FAILED_INDEX, COUNTERS], args=args))

    def report_dropped(self, dropped) -> None:
        """Logs the entries the bound dropped (they are already counted in Redis)."""
        if dropped:
            log.warning("failed list is full; dropped the oldest entries",
                        extra={"dropped": len(dropped), "max_entries": self.max_entries,
                               "ids": [d.decode() for d in dropped[:20]]})

    def list(self, limit: int = 50) -> list[dict]:
        """Newest first."""
        return self.get(self.redis.zrevrange(FAILED_INDEX, 0, limit - 1))

    def get(self, ids: list) -> list[dict]:
        """The entries with these ids that are on the list, in the order given."""
        if not ids:
            return []
        return [json.loads(raw) for raw in self.redis.hmget(FAILED, ids) if raw]

    def count(self) -> int:
        return int(self.redis.zcard(FAILED_INDEX))

    def dropped(self) -> int:
        """How many entries the bound has dropped since the counters began."""
        return int(self.redis.hget(COUNTERS, "failed_dropped") or 0)

    def ids(self) -> list[str]:
        return [i.decode() for i in self.redis.zrange(FAILED_INDEX, 0, -1)]

    def find(self, keys: list[str] = (), route: str | None = None) -> list[str]:
        """Ids of the entries whose own id or webhook's delivery id (what the sender was answered)
        is in `keys`, or whose route is `route`; oldest first. Reads the whole list: for operators'
        commands, not for the delivery path."""
        wanted = set(keys)
        found = []
        for raw_id, raw in self.redis.hscan_iter(FAILED, count=500):
            entry = json.loads(raw)
            if raw_id.decode() in wanted or entry.get("delivery_id") in wanted or (route and entry["route"] == route):
                found.append((entry.get("failed_at", 0), raw_id.decode()))
        return [entry_id for _, entry_id in sorted(found)]

    def replay(self, ids: list[str], outbox, requeue) -> tuple[list[dict], list[str]]:
        """Queues entries again and removes them from the list in one transaction, so a crash
        half-way neither loses an entry nor queues it twice. Messages go back to their outboxes in
        the order their webhooks were first accepted; webhook entries go through `requeue(envelope,
        pipeline)`. Returns (entries replayed, ids not found)."""
        while True:
            with self.redis.pipeline(transaction=True) as pipe:
                try:
                    pipe.watch(FAILED_INDEX)
                    raws = pipe.hmget(FAILED, ids) if ids else []
                    entries = sorted((json.loads(r) for r in raws if r), key=lambda e: e.get("accepted_at", 0))
                    missing = [i for i, r in zip(ids, raws, strict=True) if not r]
                    if not entries:
                        return [], missing
                    now = time.time()
                    messages = [replace(OutboxItem.from_dict(e), accepted_at=now, score=now, replayed=True)
                                for e in entries if e.get("kind") != "webhook"]
                    pipe.multi()
                    if messages:
                        outbox.push(messages, client=pipe)
                    for e in entries:
                        if e.get("kind") == "webhook":
                            requeue(e["envelope"], pipe)
                    found = [e["id"] for e in entries]
                    pipe.hdel(FAILED, *found)
                    pipe.zrem(FAILED_INDEX, *found)
                    pipe.execute()
                    return entries, missing
                except redis.WatchError:
                    continue
