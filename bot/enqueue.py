"""Accepting a validated webhook: recognise redeliveries, then queue one RQ job for the worker.

The job's entry point (`workers.jobs.process_webhook`) and its JSON envelope are a compatibility
surface: jobs already in Redis during a deploy must still run after it.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import redis
from rq import Queue, Retry
from rq.serializers import JSONSerializer

from bot import stats
from bot.config import Route
from bot.sources.base import Incoming

QUEUE_NAME = "relay-webhooks"
JOB_FUNCTION = "workers.jobs.process_webhook"
# Formatting is quick; a job only fails if its worker dies mid-way, and RQ re-runs it then.
JOB_RETRY = Retry(max=5, interval=[5, 30, 120, 600, 1800])
JOB_TIMEOUT = 15
JOB_FAILURE_TTL = 7 * 24 * 3600
SEEN_PREFIX = "relay:seen:"


class QueueUnavailable(Exception):
    """Redis could not be reached; the sender should retry later."""


@dataclass(frozen=True)
class Accepted:
    status: str  # "queued" or "duplicate"
    delivery_id: str


class Enqueuer:
    """Accepts validated webhooks into the RQ queue the workers read."""

    def __init__(self, connection: redis.Redis):
        self.redis = connection
        self.queue = Queue(QUEUE_NAME, connection=connection, serializer=JSONSerializer)

    def accept(self, route: Route, incoming: Incoming, headers, body: bytes) -> Accepted:
        """Queues `incoming` unless this route already accepted the same delivery.

        The redelivery check and the enqueue are one optimistic transaction (WATCH the sender's
        delivery key, then MULTI: remember it, enqueue through RQ's `enqueue_call`, count it), so a
        webhook is never remembered without being queued, and two concurrent deliveries of the same
        event queue one job."""
        delivery_id = uuid.uuid4().hex
        key, ttl = route.source.delivery_key(incoming.event, incoming.payload, headers, body)
        seen = f"{SEEN_PREFIX}{route.name}:{key}"
        envelope = {
            "delivery_id": delivery_id,
            "route": route.name,
            "source": route.source.name,
            "event": incoming.event,
            "payload": incoming.payload,
            "received_at": time.time(),
        }
        try:
            with self.redis.pipeline(transaction=True) as pipe:
                while True:
                    try:
                        pipe.watch(seen)
                        previous = pipe.get(seen)
                        if previous:
                            return Accepted("duplicate", previous.decode())
                        pipe.multi()
                        pipe.set(seen, delivery_id, ex=ttl)
                        self.enqueue(envelope, pipe, description=f"{route.name}:{incoming.event}")
                        stats.record(pipe, route.name, "queued", now=envelope["received_at"])
                        pipe.execute()
                        return Accepted("queued", delivery_id)
                    except redis.WatchError:
                        continue
        except redis.RedisError as exc:
            raise QueueUnavailable(str(exc)) from None

    def requeue(self, envelope: dict, pipeline=None):
        """Queues an accepted webhook again (a replay from the relay's failed list). Its last run
        leaves the job in RQ's failed registry, whose cleanup would delete the job hash the new
        run needs, so it leaves that registry in the same transaction."""
        self.queue.failed_job_registry.remove(envelope["delivery_id"], pipeline=pipeline)
        return self.enqueue(envelope, pipeline)

    def enqueue(self, envelope: dict, pipeline=None, description: str | None = None):
        """Queues the job that formats `envelope`, through RQ's public API; with `pipeline`, as part
        of the caller's transaction."""
        return self.queue.enqueue_call(JOB_FUNCTION, args=(envelope,), job_id=envelope["delivery_id"],
                                       retry=JOB_RETRY, timeout=JOB_TIMEOUT, result_ttl=0,
                                       failure_ttl=JOB_FAILURE_TTL, pipeline=pipeline,
                                       description=description or f"{envelope['route']}:{envelope['event']}")
