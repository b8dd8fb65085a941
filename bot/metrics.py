"""Prometheus metrics at `GET /metrics`.

Intake metrics live in each gunicorn worker and are aggregated through prometheus_client's
multiprocess mode (`PROMETHEUS_MULTIPROC_DIR`, set up by gunicorn.conf.py). Delivery metrics are
counted by the worker processes in Redis (`relay:counters`), wherever those run, and read from there
at scrape time together with queue and outbox gauges, so one scrape of any web process shows the
whole relay. Labels carry route and source names and status codes, never secrets.
"""

from __future__ import annotations

import os
import time

import redis
from flask import Blueprint, Response, current_app, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from bot import enqueue
from bot.auth import bearer, same_secret
from bot.errors import error_response
from bot.store import keys
from bot.store.outbox import Outbox

bp = Blueprint("metrics", __name__)

WEBHOOKS = Counter("relay_webhooks_received", "Webhooks received, by route, source and outcome.",
                   ["route", "source", "outcome"])
INTAKE_SECONDS = Histogram("relay_intake_seconds", "Time to answer a webhook.", ["source"],
                           buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5))

_COUNTERS = {
    "posted": ("relay_messages_posted", "Messages Copera accepted, by route and Copera status.", ["route", "status"]),
    "failed": ("relay_messages_failed", "Messages given up on, by route and Copera status, each once (a replay "
               "that fails again is not counted again).", ["route", "status"]),
    "post_attempts_failed": ("relay_post_attempts_failed", "Posts Copera did not accept, every attempt (retries "
                             "included), by route and Copera status.", ["route", "status"]),
    "retries": ("relay_delivery_retries", "Posts retried later, by reason.", ["reason"]),
}
_SCALARS = {
    "ratelimiter_waits": ("relay_ratelimiter_waits", "Times a post waited for the shared rate limiter."),
    "ratelimiter_wait_seconds": ("relay_ratelimiter_wait_seconds", "Seconds posts waited for the rate limiter."),
    "digests": ("relay_digests", "Posts that combined several messages."),
    "digest_events": ("relay_digest_events", "Messages sent inside digests."),
    "failed_dropped": ("relay_failed_dropped", "Failed-list entries dropped at its size bound (oldest first)."),
}


def observe(route: str, source: str, outcome: str, started: float) -> None:
    WEBHOOKS.labels(route, source, outcome).inc()
    INTAKE_SECONDS.labels(source).observe(time.perf_counter() - started)


class RedisCollector:
    """Delivery counters and queue gauges read from Redis at scrape time."""

    def __init__(self, connection: redis.Redis):
        self.redis = connection

    def collect(self):
        try:
            raw = {k.decode(): float(v) for k, v in self.redis.hgetall(keys.COUNTERS).items()}
            queue_depth = enqueue.queue_depth(self.redis)
            depth, oldest = Outbox(self.redis).backlog()
            failed = self.redis.zcard(keys.FAILED_INDEX)
            up = 1
        except redis.RedisError:
            raw, queue_depth, depth, oldest, failed, up = {}, 0, 0, 0.0, 0, 0
        families = {name: CounterMetricFamily(metric, doc, labels=labels)
                    for name, (metric, doc, labels) in _COUNTERS.items()}
        for field, value in raw.items():
            kind, *labels = field.split("|")
            if kind in families and len(labels) == len(_COUNTERS[kind][2]):
                families[kind].add_metric(labels, value)
        yield from families.values()
        for field, (metric, doc) in _SCALARS.items():
            yield CounterMetricFamily(metric, doc, value=raw.get(field, 0.0))
        yield GaugeMetricFamily("relay_redis_up", "Whether Redis answered this scrape.", value=up)
        yield GaugeMetricFamily("relay_queue_depth", "Webhooks waiting to be formatted.", value=queue_depth)
        yield GaugeMetricFamily("relay_outbox_depth", "Messages waiting to be posted.", value=depth)
        yield GaugeMetricFamily("relay_oldest_pending_seconds", "Age of the oldest message waiting to be posted.",
                                value=oldest)
        yield GaugeMetricFamily("relay_failed_messages", "Messages on the failed list.", value=failed)


def _registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(WEBHOOKS)
        registry.register(INTAKE_SECONDS)
    registry.register(RedisCollector(current_app.extensions["relay"].redis))
    return registry


@bp.get("/metrics")
def metrics():
    token = current_app.extensions["relay"].settings.metrics_token
    if token:
        presented = bearer(request.headers.get("Authorization"))
        if presented is None or not same_secret(presented, token):
            return error_response(401, "unauthorized", "metrics need Authorization: Bearer <METRICS_TOKEN>")
    # content_type, not mimetype: Flask would add a second charset to one that already has it.
    return Response(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)
