"""Intake queues RQ jobs through RQ's public API, with the redelivery check in the same transaction:
a webhook is never remembered without being queued, and concurrent redeliveries queue one job."""

import threading
import time

import pytest
import redis
from rq import Queue
from rq.serializers import JSONSerializer

from bot.enqueue import JOB_FUNCTION, QUEUE_NAME, Enqueuer, QueueUnavailable
from bot.sources.base import Incoming


class _Route:
    name = "r"

    class source:  # a stand-in for a Source instance
        name = "generic"

        @staticmethod
        def delivery_key(event, payload, headers, body):
            return "sha256:abc", 60


def _queue(connection) -> Queue:
    return Queue(QUEUE_NAME, connection=connection, serializer=JSONSerializer)


def test_an_accepted_webhook_is_an_rq_job_rq_can_run(redis_url):
    connection = redis.Redis.from_url(redis_url)
    result = Enqueuer(connection).accept(_Route, Incoming("message", {"message": "hi"}), {}, b"{}")
    assert result.status == "queued"
    queue = _queue(connection)
    assert queue.job_ids == [result.delivery_id]
    job = queue.fetch_job(result.delivery_id)
    assert job.func_name == JOB_FUNCTION
    (envelope,) = job.args
    assert envelope["payload"] == {"message": "hi"} and envelope["delivery_id"] == result.delivery_id
    assert job.retries_left == 5 and job.timeout == 15 and job.result_ttl == 0


def test_concurrent_redeliveries_queue_one_job(redis_url):
    """One wins; the others are told `duplicate` (naming the winner) or, while the winner is still
    queueing, to retry (503). Retried, they are all duplicates of the one queued job."""
    url = redis_url
    results, refused = [], []

    def deliver():
        enqueuer = Enqueuer(redis.Redis.from_url(url))
        try:
            results.append(enqueuer.accept(_Route, Incoming("message", {"message": "hi"}), {}, b"{}"))
        except QueueUnavailable:
            refused.append(enqueuer)

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for enqueuer in refused:
        results.append(enqueuer.accept(_Route, Incoming("message", {"message": "hi"}), {}, b"{}"))
    queued = [r for r in results if r.status == "queued"]
    assert len(queued) == 1 and len(results) == 8
    assert {r.delivery_id for r in results} == {queued[0].delivery_id}, "duplicates name the queued delivery"
    assert _queue(redis.Redis.from_url(url)).job_ids == [queued[0].delivery_id]


def test_a_failed_enqueue_leaves_no_redelivery_marker(redis_url, monkeypatch):
    """If the transaction does not commit, the sender's retry must be accepted, not called a duplicate."""
    connection = redis.Redis.from_url(redis_url)
    enqueuer = Enqueuer(connection)

    def broken_enqueue(envelope, pipeline=None, description=None):
        pipeline.execute_command("NOT-A-COMMAND")

    monkeypatch.setattr(enqueuer, "enqueue", broken_enqueue)
    with pytest.raises(QueueUnavailable):
        enqueuer.accept(_Route, Incoming("message", {}), {}, b"{}")
    assert connection.keys("relay:seen:*") == []
    assert _queue(connection).job_ids == []
    monkeypatch.undo()
    assert enqueuer.accept(_Route, Incoming("message", {}), {}, b"{}").status == "queued"


def test_a_claim_left_by_a_request_that_died_answers_retry_until_it_expires(redis_url):
    """A web process killed between claiming and queueing leaves a pending claim: redeliveries are
    told to retry (never `duplicate`, which would lose the webhook), and are queued once it expires."""
    connection = redis.Redis.from_url(redis_url)
    connection.set("relay:seen:r:sha256:abc", "pending:dead-request", px=300)
    enqueuer = Enqueuer(connection)
    with pytest.raises(QueueUnavailable, match="being accepted right now"):
        enqueuer.accept(_Route, Incoming("message", {}), {}, b"{}")
    deadline = time.time() + 5
    while connection.exists("relay:seen:r:sha256:abc") and time.time() < deadline:
        time.sleep(0.05)
    assert enqueuer.accept(_Route, Incoming("message", {}), {}, b"{}").status == "queued"
