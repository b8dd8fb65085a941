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

from bot.config import Route
from bot.sources.base import Incoming
from bot.store import keys, stats

QUEUE_NAME = "relay-webhooks"
JOB_FUNCTION = "workers.jobs.process_webhook"
# Formatting is quick; a job only fails if its worker dies mid-way, and RQ re-runs it then.
JOB_RETRY = Retry(max=5, interval=[5, 30, 120, 600, 1800])
JOB_TIMEOUT = 15
# RQ keeps a failed job (with its payload, up to RELAY_MAX_BODY_BYTES) this long; what a replay
# needs is on the relay's own failed list, so a day for looking at RQ's record is enough.
JOB_FAILURE_TTL = 24 * 3600


class QueueUnavailable(Exception):
    """Redis could not be reached, or the same delivery is being accepted right now; the sender
    should retry later."""


def queue_depth(connection: redis.Redis) -> int:
    """Webhooks waiting to be formatted (RQ's own count of the queue)."""
    return Queue(QUEUE_NAME, connection=connection, serializer=JSONSerializer).count


@dataclass(frozen=True)
class Accepted:
    status: str  # "queued" or "duplicate"
    delivery_id: str


# How long a delivery claimed by a request that died before queueing it keeps its redeliveries
# answered 503 (retry later) instead of accepted.
CLAIM_SECONDS = 30
_PENDING = "pending:"


class Enqueuer:
    """Accepts validated webhooks into the RQ queue the workers read."""

    def __init__(self, connection: redis.Redis):
        self.redis = connection
        self.queue = Queue(QUEUE_NAME, connection=connection, serializer=JSONSerializer)

    def accept(self, route: Route, incoming: Incoming, headers, body: bytes) -> Accepted:
        """Queues `incoming` unless this route already accepted the same delivery.

        Two round trips. First the sender's delivery key is claimed (`SET NX GET`, marked pending,
        short-lived); then one transaction queues the job through RQ's `enqueue_call`, counts it and
        marks the key with the delivery id for the redelivery window. So a delivery is answered
        `duplicate` only once its job is queued; a redelivery that arrives while the first request
        is still queueing (or after it died half-way, until the claim expires) gets a 503 and retries.
        """
        delivery_id = uuid.uuid4().hex
        key, ttl = route.source.delivery_key(incoming.event, incoming.payload, headers, body)
        seen = keys.seen(route.name, key)
        envelope = {
            "delivery_id": delivery_id,
            "route": route.name,
            "source": route.source.name,
            "event": incoming.event,
            "payload": incoming.payload,
            "received_at": time.time(),
        }
        if incoming.branch is not None:
            # Intake has applied the route's branch filter to it; the worker need not again.
            envelope["branch"] = incoming.branch
        try:
            previous = self.redis.set(seen, _PENDING + delivery_id, nx=True, get=True, ex=CLAIM_SECONDS)
            if previous is not None:
                previous = previous.decode()
                if previous.startswith(_PENDING):
                    raise QueueUnavailable("the same delivery is being accepted right now")
                return Accepted("duplicate", previous)
            pipe = self.redis.pipeline(transaction=True)
            pipe.multi()  # explicit, as RQ expects of a caller's pipeline
            pipe.set(seen, delivery_id, ex=ttl)
            self.enqueue(envelope, pipe, description=f"{route.name}:{incoming.event}")
            stats.record(pipe, route.name, "queued", now=envelope["received_at"])
            pipe.execute()
            return Accepted("queued", delivery_id)
        except redis.RedisError as exc:
            self._release_claim(seen, delivery_id)
            raise QueueUnavailable(str(exc)) from None

    def _release_claim(self, seen: str, delivery_id: str) -> None:
        """Lets the sender's retry in at once after a failed enqueue (best effort: the claim
        expires anyway)."""
        try:
            if self.redis.get(seen) == (_PENDING + delivery_id).encode():
                self.redis.delete(seen)
        except redis.RedisError:
            pass

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
