"""Per-route counts per minute in Redis, for `flask --app bot stats` and the admin API's last-hour
view. Every process (web and worker, on any machine) adds to the same buckets."""

from __future__ import annotations

import time

from bot.store import keys

BUCKET_SECONDS = 60
KEEP_SECONDS = 2 * 3600


def bucket_key(ts: float) -> str:
    return keys.stats_bucket(int(ts // BUCKET_SECONDS))


def record(connection, route: str, outcome: str, count: int = 1, now: float | None = None) -> None:
    """Adds to this minute's bucket; `connection` may be a pipeline (the caller executes it)."""
    key = bucket_key(now or time.time())
    connection.hincrby(key, f"{route}|{outcome}", count)
    connection.expire(key, KEEP_SECONDS)


def last_hour(connection, now: float | None = None) -> dict:
    """{"routes": {route: {outcome: count}}, "minutes": [{"minute": ts, route: {outcome: n}}, ...]}."""
    now = now or time.time()
    first = int(now // BUCKET_SECONDS) - 59
    pipe = connection.pipeline(transaction=False)
    for minute in range(first, first + 60):
        pipe.hgetall(keys.stats_bucket(minute))
    totals: dict[str, dict[str, int]] = {}
    minutes = []
    for minute, raw in zip(range(first, first + 60), pipe.execute(), strict=True):
        per_route: dict[str, dict[str, int]] = {}
        for field, value in raw.items():
            route, _, outcome = field.decode().partition("|")
            per_route.setdefault(route, {})[outcome] = int(value)
            totals.setdefault(route, {}).setdefault(outcome, 0)
            totals[route][outcome] += int(value)
        minutes.append({"minute": minute * BUCKET_SECONDS, "routes": per_route})
    return {"routes": totals, "minutes": minutes}
