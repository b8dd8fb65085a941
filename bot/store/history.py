"""Delivery history and delivery-side counters, kept in Redis so that any process can show them.

- `relay:delivery:<id>`: one webhook's story (received, event, rendered message, outcome, Copera
  status, attempts); `relay:deliveries:<route>` lists the newest ids per route (RELAY_HISTORY_SIZE).
  A story is kept only while its id is on that list, and two days at most: the payload text it holds
  is not kept longer than the history needs (what a replay needs is on the failed list).
- `relay:counters`: monotonic counters (messages posted/failed by route and Copera status, each
  once; failed post attempts; retries, limiter waits, digests) that the web process exposes at /metrics.
"""

from __future__ import annotations

import json
import time

import redis

from bot.store import keys, stats
from bot.store.outbox import OutboxItem

KEEP_SECONDS = 2 * 24 * 3600


def _key(delivery_id: str) -> str:
    return keys.delivery(delivery_id)


def _list_key(route: str) -> str:
    return keys.deliveries(route)


# A message is counted as failed once, whoever records it: a holder that stalled past its lease and
# the holder that took the message over may both give up on it (the failed list keeps one entry).
_COUNT_FAILED_ONCE = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
  redis.call('HINCRBY', KEYS[3], ARGV[3], 1)
  redis.call('EXPIRE', KEYS[3], ARGV[4])
end
return 0
"""

# Writes a webhook's first record; returns 0 (changing nothing) if it exists, as after a re-run job
# or when its outcome was already recorded. Two records may be replaced: a webhook that failed
# unformatted, by its formatting once it is replayed (ARGV[5] = 'formatted'); and a "pending"
# webhook whose job then failed for good before its messages were queued (ARGV[5] = 'unformatted').
# A new id goes to the front of the route's list; the stories of the ids that fall off its end are
# deleted with them (ARGV[6] is the story key prefix), so no story outlives its place on the list.
_RECORD_FIRST = """
local current = redis.call('HGET', KEYS[1], 'outcome')
local replaceable = (ARGV[5] == 'formatted' and redis.call('HGET', KEYS[1], 'unformatted') == '1')
  or (ARGV[5] == 'unformatted' and current == 'pending')
if current and not replaceable then return 0 end
redis.call('HDEL', KEYS[1], 'unformatted')
redis.call('HSET', KEYS[1], 'outcome', ARGV[1], unpack(ARGV, 7))
redis.call('EXPIRE', KEYS[1], ARGV[2])
if not current then
  local size = tonumber(ARGV[4])
  redis.call('LREM', KEYS[2], 0, ARGV[3])
  redis.call('LPUSH', KEYS[2], ARGV[3])
  for _, gone in ipairs(redis.call('LRANGE', KEYS[2], size, -1)) do
    redis.call('DEL', ARGV[6] .. gone)
  end
  redis.call('LTRIM', KEYS[2], 0, size - 1)
end
return 1
"""

# Records one post's result on a story that still exists; a story already trimmed off its route's
# list (a post long delayed behind newer webhooks) is not brought back.
_RECORD_DELIVERY = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'outcome', ARGV[1], 'copera_status', ARGV[2], 'updated_at', ARGV[3], 'reason', ARGV[4])
redis.call('HINCRBY', KEYS[1], 'attempts', 1)
return 1
"""


class History:
    def __init__(self, connection: redis.Redis, size: int = 100):
        self.redis = connection
        self.size = size
        self._record_first = connection.register_script(_RECORD_FIRST)
        self._record_delivery = connection.register_script(_RECORD_DELIVERY)
        self._count_failed_once = connection.register_script(_COUNT_FAILED_ONCE)

    def formatted(self, envelope: dict, items: list[dict], reason: str | None = None) -> None:
        """Records a webhook once the worker has turned it into messages (before they are queued,
        so that a fast post's "posted" is never overwritten); `reason` says why there is nothing
        to post. A re-run of the same job changes nothing."""
        outcome = "pending" if items else "nothing to post"
        fields = {
            "delivery_id": envelope["delivery_id"], "route": envelope["route"], "source": envelope["source"],
            "event": envelope["event"], "received_at": envelope.get("received_at"), "formatted_at": time.time(),
            "messages": len(items), "channels": json.dumps(sorted({i.channel for i in items})),
            "text": items[0].text if items else "", "reason": reason or "", "attempts": 0,
        }
        self._first_record(envelope, outcome, fields, "formatted" if items else "nothing", "formatted")

    def unformatted(self, envelope: dict, reason: str) -> None:
        """Records a webhook that went to the failed list without being formatted."""
        fields = {"delivery_id": envelope["delivery_id"], "route": envelope["route"], "source": envelope["source"],
                  "event": envelope["event"], "received_at": envelope.get("received_at"), "messages": 0,
                  "channels": "[]", "text": "", "reason": reason, "attempts": 0, "unformatted": 1}
        self._first_record(envelope, "failed", fields, "failed", "unformatted")

    def _first_record(self, envelope: dict, outcome: str, fields: dict, stat: str, writer: str) -> None:
        key, route = _key(envelope["delivery_id"]), envelope["route"]
        mapping = {k: ("" if v is None else v) for k, v in fields.items()}
        args = [outcome, KEEP_SECONDS, envelope["delivery_id"], self.size, writer, keys.delivery("")]
        for k, v in mapping.items():
            args += [k, v]
        if self._record_first(keys=[key, _list_key(route)], args=args):
            pipe = self.redis.pipeline(transaction=False)
            stats.record(pipe, route, stat)
            pipe.execute()

    def delivery(self, items: list[OutboxItem], outcome: str, result, client=None) -> None:
        """Records the result of one post (which may carry several webhooks, as a digest); with
        `client` (a transaction pipeline), as part of the caller's transaction."""
        # "none": Copera did not answer; "-": nothing was asked of it (dry run).
        status = str(result.status) if result.status is not None else ("-" if outcome == "dry_run" else "none")
        now = time.time()
        pipe = client if client is not None else self.redis.pipeline(transaction=False)
        for delivery_id in {i.delivery_id for i in items}:
            self._record_delivery(keys=[_key(delivery_id)], args=[outcome, status, now, result.reason or ""],
                                  client=pipe)
        for item in items:
            route = item.route
            if item.notice:  # the relay's own message, not one of the route's
                continue
            if outcome in ("retrying", "rate_limited", "failed"):
                pipe.hincrby(keys.COUNTERS, f"post_attempts_failed|{route}|{status}", 1)
                stats.record(pipe, route, "post_attempts_failed")
            # Each message counts once as posted or failed; a replay that fails again is an attempt.
            if outcome == "failed" and item.replayed:
                continue
            if outcome == "failed":
                self._count_failed_once(
                    keys=[keys.counted_failed(item.id), keys.COUNTERS, stats.bucket_key(now)],
                    args=[stats.KEEP_SECONDS * 12, f"failed|{route}|{status}", f"{route}|failed", stats.KEEP_SECONDS],
                    client=pipe)
                continue
            if outcome == "posted":
                pipe.hincrby(keys.COUNTERS, f"posted|{route}|{status}", 1)
            if outcome in ("posted", "dry_run"):
                stats.record(pipe, route, outcome)
        if outcome in ("retrying", "rate_limited"):
            reason = "rate_limited" if outcome == "rate_limited" else "error"
            pipe.hincrby(keys.COUNTERS, f"retries|{reason}", 1)
        if outcome == "posted" and len(items) > 1:
            pipe.hincrby(keys.COUNTERS, "digests", 1)
            pipe.hincrby(keys.COUNTERS, "digest_events", len(items))
        if client is None:
            pipe.execute()

    def limiter_wait(self, seconds: float) -> None:
        pipe = self.redis.pipeline(transaction=False)
        pipe.hincrby(keys.COUNTERS, "ratelimiter_waits", 1)
        pipe.hincrbyfloat(keys.COUNTERS, "ratelimiter_wait_seconds", seconds)
        pipe.execute()

    def recent(self, route: str | None, routes: list[str], limit: int = 20) -> list[dict]:
        """Newest first, for one route or all of them."""
        ids: list[str] = []
        for name in [route] if route else routes:
            ids += [i.decode() for i in self.redis.lrange(_list_key(name), 0, limit - 1)]
        return self.get(ids)[:limit]

    def get(self, ids: list[str]) -> list[dict]:
        """The stories of these delivery ids that are still kept, newest first."""
        pipe = self.redis.pipeline(transaction=False)
        for delivery_id in ids:
            pipe.hgetall(_key(delivery_id))
        entries = []
        for raw in pipe.execute():
            if raw:
                entry = {k.decode(): v.decode() for k, v in raw.items()}
                entry["received_at"] = float(entry.get("received_at") or 0)
                entry["attempts"] = int(entry.get("attempts") or 0)
                entry["channels"] = json.loads(entry.get("channels") or "[]")
                entries.append(entry)
        entries.sort(key=lambda e: e["received_at"], reverse=True)
        return entries
