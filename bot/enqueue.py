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
SEEN_PREFIX = "relay:seen:"


class QueueUnavailable(Exception):
    """Redis could not be reached; the sender should retry later."""


@dataclass(frozen=True)
class Accepted:
    status: str  # "queued" or "duplicate"
    delivery_id: str


def queue_for(connection: redis.Redis) -> Queue:
    return Queue(QUEUE_NAME, connection=connection, serializer=JSONSerializer)


def accept(connection: redis.Redis, queue: Queue, route: Route, incoming: Incoming, headers, body: bytes) -> Accepted:
    """Queues `incoming` unless this route already accepted the same delivery."""
    delivery_id = uuid.uuid4().hex
    key, ttl = route.source.delivery_key(incoming.event, incoming.payload, headers, body)
    seen_key = f"{SEEN_PREFIX}{route.name}:{key}"
    envelope = {
        "delivery_id": delivery_id,
        "route": route.name,
        "source": route.source.name,
        "event": incoming.event,
        "payload": incoming.payload,
        "received_at": time.time(),
    }
    try:
        previous = connection.set(seen_key, delivery_id, nx=True, ex=ttl, get=True)
        if previous is not None:
            return Accepted("duplicate", previous.decode() if isinstance(previous, bytes) else previous)
        try:
            with connection.pipeline() as pipe:
                queue.enqueue_call(JOB_FUNCTION, args=(envelope,), job_id=delivery_id, retry=JOB_RETRY,
                                   timeout=JOB_TIMEOUT, result_ttl=0, failure_ttl=7 * 24 * 3600,
                                   description=f"{route.name}:{incoming.event}", pipeline=pipe)
                stats.record(pipe, route.name, "queued")
                pipe.execute()
        except redis.RedisError:
            # Not queued, so a retry by the sender must not be taken for a duplicate.
            try:
                connection.delete(seen_key)
            except redis.RedisError:
                pass
            raise
    except redis.RedisError as exc:
        raise QueueUnavailable(str(exc)) from None
    return Accepted("queued", delivery_id)
