"""Intake writes RQ jobs in one Lua round trip; the stored job must be the one RQ itself would write."""

import json
import zlib

import redis
from rq import Queue
from rq.serializers import JSONSerializer

from bot.enqueue import JOB_FAILURE_TTL, JOB_FUNCTION, JOB_RETRY, JOB_TIMEOUT, QUEUE_NAME, Enqueuer
from bot.sources.base import Incoming


class _Route:
    name = "r"

    class source:  # a stand-in for a Source instance
        name = "generic"

        @staticmethod
        def delivery_key(event, payload, headers, body):
            return "sha256:abc", 60


def test_job_hash_matches_what_rq_writes(redis_url):
    connection = redis.Redis.from_url(redis_url)
    result = Enqueuer(connection).accept(_Route, Incoming("message", {"message": "hi"}), {}, b"{}")
    ours = connection.hgetall(f"rq:job:{result.delivery_id}")
    queue = Queue(QUEUE_NAME, connection=connection, serializer=JSONSerializer)
    envelope = json.loads(ours[b"data"])[2][0]
    rq_job = queue.enqueue_call(JOB_FUNCTION, args=(envelope,), job_id="by-rq", retry=JOB_RETRY, timeout=JOB_TIMEOUT,
                                result_ttl=0, failure_ttl=JOB_FAILURE_TTL, description="r:message")
    theirs = connection.hgetall(f"rq:job:{rq_job.id}")
    varying = {b"created_at", b"enqueued_at", b"data"}
    assert {k: v for k, v in ours.items() if k not in varying} == {k: v for k, v in theirs.items() if k not in varying}
    assert json.loads(ours[b"data"]) == json.loads(zlib.decompress(theirs[b"data"]))
    assert connection.lrange(f"rq:queue:{QUEUE_NAME}", 0, -1) == [result.delivery_id.encode(), b"by-rq"]
    fetched = queue.fetch_job(result.delivery_id)
    assert fetched.func_name == JOB_FUNCTION and list(fetched.args) == [envelope]
    assert envelope["payload"] == {"message": "hi"}
