"""Dead letters: messages Copera refused for good, or that could not be delivered in time.

Each entry keeps the rendered message, the channel and Copera's reason, so `flask --app bot failed`
explains what happened and `flask --app bot replay` can send it again once the cause is fixed.
"""

from __future__ import annotations

import json
import time

import redis

FAILED = "relay:failed"
FAILED_INDEX = "relay:failed:index"
MAX_ENTRIES = 10_000


class FailedList:
    def __init__(self, connection: redis.Redis):
        self.redis = connection

    def add(self, items: list[dict], status: int | None, reason: str) -> None:
        now = time.time()
        pipe = self.redis.pipeline()
        for item in items:
            entry = {**item, "failed_at": now, "copera_status": status, "reason": reason}
            pipe.hset(FAILED, item["id"], json.dumps(entry))
            pipe.zadd(FAILED_INDEX, {item["id"]: now})
        pipe.execute()
        self._trim()

    def _trim(self) -> None:
        excess = self.redis.zcard(FAILED_INDEX) - MAX_ENTRIES
        if excess > 0:
            oldest = self.redis.zrange(FAILED_INDEX, 0, excess - 1)
            pipe = self.redis.pipeline()
            pipe.hdel(FAILED, *oldest)
            pipe.zrem(FAILED_INDEX, *oldest)
            pipe.execute()

    def list(self, limit: int = 50) -> list[dict]:
        """Newest first."""
        ids = self.redis.zrevrange(FAILED_INDEX, 0, limit - 1)
        if not ids:
            return []
        return [json.loads(raw) for raw in self.redis.hmget(FAILED, ids) if raw]

    def count(self) -> int:
        return int(self.redis.zcard(FAILED_INDEX))

    def pop(self, item_id: str) -> dict | None:
        """Removes and returns one entry (for replay)."""
        pipe = self.redis.pipeline()
        pipe.hget(FAILED, item_id)
        pipe.hdel(FAILED, item_id)
        pipe.zrem(FAILED_INDEX, item_id)
        raw = pipe.execute()[0]
        return json.loads(raw) if raw else None

    def ids(self) -> list[str]:
        return [i.decode() for i in self.redis.zrange(FAILED_INDEX, 0, -1)]
