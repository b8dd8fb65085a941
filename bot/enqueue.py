"""Accepting a validated webhook: recognise redeliveries, then queue one RQ job for the worker.

The job's entry point (`workers.jobs.process_webhook`) and its JSON envelope are a compatibility
surface: jobs already in Redis during a deploy must still run after it.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass

import redis
from rq import Queue, Retry
from rq.job import Job
from rq.serializers import JSONSerializer
from rq.utils import now, utcformat

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


# Dedup and enqueue in one atomic round trip. The job hash and queue pushes are exactly what RQ's
# `Queue.enqueue_job` writes (SADD rq:queues, HSET rq:job:<id>, RPUSH rq:queue:<name>), with the
# hash built by RQ itself (`Job.to_dict`); tests run these jobs through real RQ workers.
_ACCEPT = """
local previous = redis.call('SET', KEYS[1], ARGV[1], 'NX', 'GET', 'EX', ARGV[2])
if previous then return previous end
local job = cjson.decode(ARGV[5])
job['created_at'], job['enqueued_at'], job['description'], job['data'] = ARGV[6], ARGV[6], ARGV[7], ARGV[8]
local fields = {}
for k, v in pairs(job) do
  fields[#fields + 1] = k
  fields[#fields + 1] = v
end
redis.call('SADD', KEYS[4], KEYS[3])
redis.call('HSET', KEYS[2], unpack(fields))
redis.call('RPUSH', KEYS[3], ARGV[1])
redis.call('HINCRBY', KEYS[5], ARGV[3], 1)
redis.call('EXPIRE', KEYS[5], ARGV[4])
return false
"""


class Enqueuer:
    """Accepts validated webhooks into the RQ queue the workers read."""

    def __init__(self, connection: redis.Redis):
        self.redis = connection
        self.queue = Queue(QUEUE_NAME, connection=connection, serializer=JSONSerializer)
        self._accept = connection.register_script(_ACCEPT)
        self._template: dict | None = None

    def job_template(self) -> str:
        """The hash RQ stores for a job of ours, as JSON, less the fields that change per webhook
        (times, description, data). RQ builds it once; building a Job per request costs more than
        the rest of intake's bookkeeping together."""
        if self._template is None:
            job = self.queue.create_job(JOB_FUNCTION, args=({},), job_id="template", retry=JOB_RETRY,
                                        timeout=JOB_TIMEOUT, result_ttl=0, failure_ttl=JOB_FAILURE_TTL,
                                        description="template")
            self.queue._prepare_for_queue(job)
            fields = job.to_dict()
            for varying in ("created_at", "enqueued_at", "description", "data"):
                fields.pop(varying)
            encoder = self.redis.get_encoder()  # exactly what redis-py would send for each value
            self._template = json.dumps({k: encoder.encode(v).decode() for k, v in fields.items()})
        return self._template

    def requeue(self, envelope: dict, pipeline=None):
        """Queues an accepted webhook's job again (replay of a webhook on the failed list), through
        RQ's public API; with `pipeline`, as part of the caller's transaction."""
        return self.queue.enqueue_call(JOB_FUNCTION, args=(envelope,), retry=JOB_RETRY, timeout=JOB_TIMEOUT,
                                       result_ttl=0, failure_ttl=JOB_FAILURE_TTL,
                                       description=f"{envelope['route']}:{envelope['event']}", pipeline=pipeline)

    @staticmethod
    def job_data(envelope: dict) -> bytes:
        """RQ's serialized call (JSON serializer). Stored uncompressed, which RQ reads as is."""
        return json.dumps([JOB_FUNCTION, None, [envelope], {}]).encode()

    def accept(self, route: Route, incoming: Incoming, headers, body: bytes) -> Accepted:
        """Queues `incoming` unless this route already accepted the same delivery."""
        delivery_id = uuid.uuid4().hex
        key, ttl = route.source.delivery_key(incoming.event, incoming.payload, headers, body)
        envelope = {
            "delivery_id": delivery_id,
            "route": route.name,
            "source": route.source.name,
            "event": incoming.event,
            "payload": incoming.payload,
            "received_at": time.time(),
        }
        try:
            previous = self._accept(
                keys=[f"{SEEN_PREFIX}{route.name}:{key}", Job.key_for(delivery_id), self.queue.key,
                      self.queue.redis_queues_keys, stats.bucket_key(envelope["received_at"])],
                args=[delivery_id, ttl, f"{route.name}|queued", stats.KEEP_SECONDS, self.job_template(),
                      utcformat(now()), f"{route.name}:{incoming.event}", self.job_data(envelope)],
            )
        except redis.RedisError as exc:
            raise QueueUnavailable(str(exc)) from None
        if previous:
            return Accepted("duplicate", previous.decode() if isinstance(previous, bytes) else previous)
        return Accepted("queued", delivery_id)
