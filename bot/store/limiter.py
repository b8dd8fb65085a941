"""One outbound budget per Copera token, shared by every worker thread, process and machine.

A GCRA (generic cell rate algorithm) in a Lua script, timed by Redis' own clock so that workers
on different machines agree. The emission interval is chosen so that *no* 60-second window ever
holds more than the configured number of posts, burst included: Copera counts a rolling minute,
and a single 429 is how alerts get delayed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import redis

from bot.store import keys

# Milliseconds by Redis' clock, or the time a test pinned (`RateLimiter(clock=...)`).
_NOW_LUA = """
local function now_ms(pinned)
  if pinned then return tonumber(pinned) end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
"""

_ACQUIRE = _NOW_LUA + """
local now = now_ms(ARGV[3])
local paused = tonumber(redis.call('GET', KEYS[2]) or '0')
if paused > now then return paused - now end
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
if tat - now > tolerance then return tat - now - tolerance end
local new_tat = tat + interval
redis.call('SET', KEYS[1], new_tat, 'PX', new_tat - now + 1000)
return 0
"""

_REFUND = _NOW_LUA + """
local now = now_ms(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local new_tat = tat - tonumber(ARGV[1])
if new_tat > now then
  redis.call('SET', KEYS[1], new_tat, 'PX', new_tat - now + 1000)
else
  redis.call('DEL', KEYS[1])
end
return 0
"""

_PAUSE = _NOW_LUA + """
local now = now_ms(ARGV[2])
local untl = now + tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if untl > current then redis.call('SET', KEYS[1], untl, 'PX', tonumber(ARGV[1]) + 1000) end
return untl
"""


def token_key(token: str | None) -> str:
    """A Redis-safe name for a token; the token itself never goes into Redis."""
    return hashlib.sha256((token or "dry-run").encode()).hexdigest()[:16]


class RateLimiter:
    def __init__(self, connection: redis.Redis, token: str | None, per_minute: int,
                 clock: Callable[[], float] | None = None):
        """`clock` (seconds) replaces Redis' clock, so tests can drive the limiter through time."""
        name = token_key(token)
        self.keys = keys.rate_limiter(name)
        self.burst = max(1, per_minute // 10)
        # Posts in any window of 60 s <= burst + 60/interval; 2 % headroom for clock granularity.
        self.interval_ms = max(1, int(60_000 * 1.02 / max(1, per_minute - self.burst)))
        self.tolerance_ms = (self.burst - 1) * self.interval_ms
        self._acquire = connection.register_script(_ACQUIRE)
        self._refund = connection.register_script(_REFUND)
        self._pause = connection.register_script(_PAUSE)
        self._clock = clock

    def _now(self) -> list[int]:
        return [] if self._clock is None else [round(self._clock() * 1000)]

    def acquire(self) -> float:
        """Takes one slot if available and returns 0, else returns the seconds to wait."""
        return int(self._acquire(keys=self.keys, args=[self.interval_ms, self.tolerance_ms, *self._now()])) / 1000.0

    def refund(self) -> None:
        """Gives back a slot taken for a post that was not made."""
        self._refund(keys=self.keys[:1], args=[self.interval_ms, *self._now()])

    def pause(self, seconds: float) -> None:
        """Copera said 429: nobody using this token posts for `seconds`."""
        self._pause(keys=self.keys[1:], args=[int(seconds * 1000), *self._now()])
