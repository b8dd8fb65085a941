"""Per-channel outboxes in Redis: ordered, leased, and recoverable after a worker dies.

Layout (all keys under `relay:`):
- `outbox:<channel>`   list of pending items (JSON), oldest first; producers only RPUSH.
- `inflight:<channel>` items taken for the post being made right now.
- `lease:<channel>`    who is posting to that channel (PX expiry); one holder keeps order.
- `ready`              sorted set of channels with pending items, scored by when they may go next
                       (acceptance time minus a priority boost, or a retry time after a failure).
- `chstate:<channel>`  retry bookkeeping (attempts, not_before).
- `channels`           every channel that may hold items, for the recovery sweep.

An item leaves Redis only after Copera answered 204 (or a permanent error moved it to the
failed list). A worker that dies holding a lease leaves its in-flight items behind; once the
lease expires, `recover()` puts them back at the head of their outbox, so nothing is lost and
order is kept. The price is a possible duplicate if the worker died after Copera accepted the
post but before the acknowledgement; such items are marked (`uncertain:<id>`), so that one that
later fails for good is listed as "may already be in the channel".

Channel keys are derived inside the scripts from a prefix, so this layout targets a single Redis
(not Redis Cluster), like RQ 3's default mode.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, fields

import redis

from bot.store import keys
from bot.store.keys import CHANNELS, PREFIX, READY, WAKE

# The smallest pending score among the first items of an outbox (priority survives partial takes).
_MIN_SCORE_LUA = """
local function min_score(outbox)
  local items = redis.call('LRANGE', outbox, 0, 199)
  local best = nil
  for _, raw in ipairs(items) do
    local ok, item = pcall(cjson.decode, raw)
    local s = ok and tonumber(item['score']) or 0
    if best == nil or s < best then best = s end
  end
  return best
end
"""

# An item found in flight under no live holder may have reached Copera before its worker died: it
# is marked, so that if it later fails for good its failed entry says it may be in the channel.
_MARK_UNCERTAIN_LUA = """
local function mark_uncertain(prefix, raw)
  local ok, item = pcall(cjson.decode, raw)
  if ok and type(item) == 'table' and item['id'] then
    redis.call('SET', prefix .. 'uncertain:' .. item['id'], '1', 'EX', 604800)
  end
end
"""

_PUSH = """
if ARGV[1] ~= '' and redis.call('SET', KEYS[1], '1', 'NX', 'EX', 86400) == false then return 0 end
local n = tonumber(ARGV[2])
for i = 1, n do
  local ch, item, score = ARGV[3 * i], ARGV[3 * i + 1], tonumber(ARGV[3 * i + 2])
  local outbox, lease, state = KEYS[3 * i + 2], KEYS[3 * i + 3], KEYS[3 * i + 4]
  redis.call('RPUSH', outbox, item)
  redis.call('SADD', KEYS[3], ch)
  if redis.call('EXISTS', lease) == 0 then
    local nb = tonumber(redis.call('HGET', state, 'not_before') or '0')
    if nb > score then score = nb end
    redis.call('ZADD', KEYS[2], 'LT', score, ch)
  end
end
redis.call('LPUSH', KEYS[4], '1')
redis.call('LTRIM', KEYS[4], 0, 63)
return n
"""

_CLAIM = """
local cands = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 25)
for _, ch in ipairs(cands) do
  if redis.call('SET', ARGV[4] .. 'lease:' .. ch, ARGV[3], 'NX', 'PX', ARGV[2]) then
    redis.call('ZREM', KEYS[1], ch)
    return ch
  end
end
return false
"""

# Only the lease holder takes. Items still in flight when a lease was (re)claimed belong to a holder
# that stalled or died without a sweep having run yet: they go back to the head of the outbox first,
# so the new holder neither drops them on its ack nor posts out of order.
_TAKE = _MARK_UNCERTAIN_LUA + """
if redis.call('GET', KEYS[3]) ~= ARGV[2] then return false end
local stale = redis.call('LRANGE', KEYS[2], 0, -1)
for i = #stale, 1, -1 do
  redis.call('LPUSH', KEYS[1], stale[i])
  mark_uncertain(ARGV[3], stale[i])
end
redis.call('DEL', KEYS[2])
local items = redis.call('LPOP', KEYS[1], ARGV[1])
if items then
  for _, item in ipairs(items) do redis.call('RPUSH', KEYS[2], item) end
  return items
end
return {}
"""

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""

# Settles the holder's in-flight items. A holder whose lease expired (a stall longer than the lease:
# GC, a starved machine, a slow Copera without renewal) no longer owns them: the sweep or the next
# holder has put them back, so it changes nothing there. After a success it still removes its own
# items from the outbox where they wait again (not yet re-taken), which avoids most re-posts; a copy
# already re-taken may be posted twice, never lost. Returns 1 if the lease was held, else 0.
_RELEASE = _MIN_SCORE_LUA + """
local inflight, outbox, lease, ready, state = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local mode, owner, ch = ARGV[1], ARGV[2], ARGV[4]
local nb = tonumber(ARGV[3])
if redis.call('GET', lease) ~= owner then
  if mode == 'ack' then
    for i = 5, #ARGV do redis.call('LREM', outbox, 1, ARGV[i]) end
  end
  return 0
end
if mode == 'retry' then
  local items = redis.call('LRANGE', inflight, 0, -1)
  for i = #items, 1, -1 do redis.call('LPUSH', outbox, items[i]) end
  redis.call('HSET', state, 'not_before', nb)
else
  redis.call('DEL', state)
  nb = 0
end
redis.call('DEL', inflight)
redis.call('DEL', lease)
if redis.call('LLEN', outbox) > 0 then
  local score = min_score(outbox)
  if nb > score then score = nb end
  redis.call('ZADD', ready, score, ch)
end
return 1
"""

_RECOVER = _MIN_SCORE_LUA + _MARK_UNCERTAIN_LUA + """
local prefix = ARGV[1]
local moved = 0
for _, ch in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if redis.call('EXISTS', prefix .. 'lease:' .. ch) == 0 then
    local inflight, outbox = prefix .. 'inflight:' .. ch, prefix .. 'outbox:' .. ch
    local items = redis.call('LRANGE', inflight, 0, -1)
    for i = #items, 1, -1 do
      redis.call('LPUSH', outbox, items[i])
      mark_uncertain(prefix, items[i])
    end
    moved = moved + #items
    redis.call('DEL', inflight)
    if redis.call('LLEN', outbox) == 0 then
      redis.call('SREM', KEYS[1], ch)
    elseif redis.call('ZSCORE', KEYS[2], ch) == false then
      local score = min_score(outbox)
      local nb = tonumber(redis.call('HGET', prefix .. 'chstate:' .. ch, 'not_before') or '0')
      if nb > score then score = nb end
      redis.call('ZADD', KEYS[2], score, ch)
    end
  end
end
return moved
"""


DM_PREFIX = "dm:"


def dm_address(user_id: str) -> str:
    """The outbox address of a direct message to a Copera user. DMs queue, wait for the limiter,
    retry and fail exactly like channel posts; only the final request differs."""
    return DM_PREFIX + user_id


def direct_user(address: str) -> str | None:
    """The Copera user id a DM address names, or None for a channel."""
    return address[len(DM_PREFIX):] if address.startswith(DM_PREFIX) else None


NOTICE_PREFIX = "notice-"


@dataclass(frozen=True)
class OutboxItem:
    """One message waiting to be posted to one channel, or sent to one user when `channel` is a DM
    address (`dm_address`). `score` orders channels (acceptance time minus a priority boost); `name`
    is the sender name Copera shows; items with different names are never combined into one digest."""

    id: str
    delivery_id: str
    route: str
    channel: str
    text: str
    name: str | None = None
    event: str = ""
    severity: str = "info"
    status: str | None = None
    accepted_at: float = 0.0
    score: float = 0.0
    # Sent again from the failed list: it was counted as failed once, and is not counted again.
    replayed: bool = False

    @property
    def notice(self) -> bool:
        """A relay notice (bot.notices) rather than a message of the route's webhooks."""
        return self.delivery_id.startswith(NOTICE_PREFIX)

    def encode(self) -> str:
        """The stored form. Decoding and encoding again gives the same string, which is how a
        holder that lost its lease finds its items by value."""
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: dict) -> OutboxItem:
        """From a stored or recorded form; other keys (a failed entry's reason, …) are ignored."""
        return cls(**{k: data[k] for k in _FIELDS if k in data})

    @classmethod
    def decode(cls, raw: bytes | str) -> OutboxItem:
        return cls.from_dict(json.loads(raw))


_FIELDS = [f.name for f in fields(OutboxItem)]


class Outbox:
    def __init__(self, connection: redis.Redis):
        self.redis = connection
        self._push = connection.register_script(_PUSH)
        self._claim = connection.register_script(_CLAIM)
        self._take = connection.register_script(_TAKE)
        self._release = connection.register_script(_RELEASE)
        self._renew = connection.register_script(_RENEW)
        self._recover = connection.register_script(_RECOVER)

    def push(self, items: list[OutboxItem], marker: str | None = None, client=None) -> int:
        """Appends items to their channels' outboxes atomically. With `marker` (a delivery id),
        a second push for the same delivery is a no-op, so a re-run job cannot duplicate. With
        `client` (a transaction pipeline) the push is queued in that transaction."""
        names = [keys.formatted(marker), READY, CHANNELS, WAKE]
        args: list = ["1" if marker else "", len(items)]
        for item in items:
            ch = item.channel
            names += [keys.outbox(ch), keys.lease(ch), keys.channel_state(ch)]
            args += [ch, item.encode(), item.score]
        if client is not None:
            self._push(keys=names, args=args, client=client)
            return len(items)
        return int(self._push(keys=names, args=args))

    def next_ready_in(self) -> float | None:
        """Seconds until the earliest channel may be served (0 if now), None if none is pending."""
        first = self.redis.zrange(READY, 0, 0, withscores=True)
        if not first:
            return None
        return max(0.0, first[0][1] - time.time())

    def claim(self, owner: str, lease_seconds: float) -> str | None:
        """Leases the most urgent channel that is due, or returns None."""
        ch = self._claim(keys=[READY], args=[time.time(), int(lease_seconds * 1000), owner, PREFIX])
        return ch.decode() if isinstance(ch, bytes) else ch

    def peek(self, channel: str, count: int) -> list[OutboxItem]:
        return [OutboxItem.decode(raw) for raw in self.redis.lrange(keys.outbox(channel), 0, count - 1)]

    def take(self, channel: str, owner: str, count: int) -> list[OutboxItem] | None:
        """Moves the first `count` pending items of a channel `owner` leases to its in-flight list;
        None if the lease is no longer `owner`'s."""
        raws = self._take(keys=[keys.outbox(channel), keys.inflight(channel), keys.lease(channel)],
                          args=[count, owner, PREFIX])
        return None if raws is None else [OutboxItem.decode(raw) for raw in raws]

    def renew(self, channel: str, owner: str, lease_seconds: float) -> bool:
        """Extends `owner`'s lease; False if it expired and may be someone else's now."""
        return bool(self._renew(keys=[keys.lease(channel)], args=[owner, int(lease_seconds * 1000)]))

    def _finish(self, channel: str, owner: str, mode: str, not_before: float = 0.0,
                items: list[OutboxItem] = (), client=None) -> bool:
        names = [keys.inflight(channel), keys.outbox(channel), keys.lease(channel), READY, keys.channel_state(channel)]
        args = [mode, owner, not_before, channel, *(i.encode() for i in items)]
        if client is not None:  # queued in the caller's transaction; its result comes with the others
            self._release(keys=names, args=args, client=client)
            return True
        return bool(self._release(keys=names, args=args))

    def ack(self, channel: str, owner: str, items: list[OutboxItem] = (), client=None) -> bool:
        """The in-flight `items` are done (delivered, or recorded as failed); releases the channel.
        Returns False if the lease had expired: then copies of `items` may be posted again. With
        `client` (a transaction pipeline) the release is queued there."""
        return self._finish(channel, owner, "ack", items=items, client=client)

    def retry_later(self, channel: str, owner: str, not_before: float) -> bool:
        """Puts the in-flight items back at the head of the outbox; the channel waits until `not_before`.
        Returns False if the lease had expired (the items are already back in the outbox)."""
        return self._finish(channel, owner, "retry", not_before)

    def uncertain(self, items: list[OutboxItem]) -> set[str]:
        """The ids among `items` that were in flight when a worker died: Copera may have them."""
        if not items:
            return set()
        flags = self.redis.mget([keys.uncertain(i.id) for i in items])
        return {i.id for i, flag in zip(items, flags, strict=True) if flag}

    def settle_uncertain(self, items: list[OutboxItem], client) -> None:
        """Drops the marks of items that reached their end (posted, or on the failed list)."""
        if items:
            client.delete(*(keys.uncertain(i.id) for i in items))

    def attempts(self, channel: str) -> int:
        return int(self.redis.hincrby(keys.channel_state(channel), "attempts", 1))

    def recover(self) -> int:
        """Returns in-flight items of expired leases to their outboxes; returns how many moved."""
        return int(self._recover(keys=[CHANNELS, READY], args=[PREFIX]))

    def backlog(self) -> tuple[int, float]:
        """(messages not yet delivered, seconds since the oldest of them was accepted; 0 if none),
        in one pass over the channels, for metrics and `stats`."""
        channels = [c.decode() for c in self.redis.smembers(CHANNELS)]
        pipe = self.redis.pipeline(transaction=False)
        for ch in channels:
            pipe.llen(keys.outbox(ch))
            pipe.llen(keys.inflight(ch))
            pipe.lindex(keys.inflight(ch), 0)
            pipe.lindex(keys.outbox(ch), 0)
        replies = pipe.execute()
        count, heads = 0, []
        for i in range(0, len(replies), 4):
            count += replies[i] + replies[i + 1]
            heads += [json.loads(raw)["accepted_at"] for raw in replies[i + 2 : i + 4] if raw]
        return count, (max(0.0, time.time() - min(heads)) if heads else 0.0)
