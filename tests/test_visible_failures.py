"""Every accepted webhook ends in a state an operator can see: posted, on the failed list with a
reason, or "nothing to post" with a reason. These are the paths that used to end silently: a
sender's request that fails in the worker, a route removed by a reload, a job that fails for the
last time, a full failed list, and a replay interrupted half-way."""

from __future__ import annotations

import json

import pytest
import redis as redis_lib
import requests
from rq.serializers import JSONSerializer

from bot.enqueue import QUEUE_NAME
from bot.store.failed import FailedList
from bot.store.outbox import Outbox, OutboxItem
from tests.conftest import CHANNEL, OTHER_CHANNEL
from tests.formatting import fixture_bytes
from workers.__main__ import RelayWorker

SECRET = "s3cret-for-tests-0123"
BEARER = {"Authorization": f"Bearer {SECRET}"}
ROUTES = {"ops": {"source": "generic", "channel": CHANNEL, "secret": SECRET}}


def cli(relay, *args):
    result = relay.app.test_cli_runner().invoke(args=list(args))
    return result


def deliveries(relay) -> list[dict]:
    return json.loads(cli(relay, "deliveries", "--json", "--limit", "100").output)


def test_a_failed_subscription_confirmation_is_said_in_the_channel(make_relay, copera):
    routes = {"sns": {"source": "aws-sns", "channel": CHANNEL, "secret": SECRET, "confirm_subscription": True}}
    relay = make_relay(routes)

    def refused(url):
        response = requests.Response()
        response.status_code = 403
        response.url = url
        raise requests.HTTPError(f"403 Client Error for url: {url}", response=response)

    relay.runtime.http_get = refused
    body = fixture_bytes("aws-sns", "SubscriptionConfirmation__basic.json")
    r = relay.post("sns", body, {**BEARER, "Content-Type": "text/plain; charset=UTF-8",
                                 "x-amz-sns-message-type": "SubscriptionConfirmation"})
    assert r.status_code == 202, r.get_json()
    relay.work()
    texts = copera.texts(CHANNEL)
    assert len(texts) == 1  # the warning and the request itself, as one digest
    assert "could not act on this SubscriptionConfirmation" in texts[0]
    assert "HTTPError (HTTP 403)" in texts[0]
    assert "Token=" not in texts[0].split("Confirm the subscription")[0], "the one-time token stays out of errors"
    assert "Confirm the subscription" in texts[0]
    assert relay.redis.zcard(f"rq:failed:{QUEUE_NAME}") == 0


def test_a_route_removed_by_a_reload_keeps_its_queued_webhooks_on_the_failed_list(make_relay, copera, tmp_path):
    relay = make_relay({**ROUTES, "dev": {"source": "generic", "channel": OTHER_CHANNEL, "secret": SECRET}})
    r = relay.post("dev", {"message": "queued before the reload"}, BEARER)
    assert r.status_code == 202
    delivery_id = r.get_json()["delivery_id"]
    relay.runtime.routes.fixed = relay.runtime.config.__class__(
        routes={"ops": relay.runtime.config.routes["ops"]})  # the reload dropped "dev"
    relay.work()
    assert copera.messages == []
    failed = FailedList(relay.redis).list()
    assert [e["delivery_id"] for e in failed] == [delivery_id]
    assert "route dev is no longer configured" in failed[0]["reason"]
    listing = cli(relay, "failed")
    assert "webhook (not formatted)" in listing.output and "no longer configured" in listing.output
    # The route comes back; replaying formats the webhook again and it is posted.
    relay.runtime.routes.fixed = relay.config
    result = cli(relay, "replay", delivery_id)
    assert result.exit_code == 0 and "1 webhook(s) for formatting" in result.output
    relay.work()
    assert ["queued before the reload" in t for t in copera.texts(OTHER_CHANNEL)] == [True]
    assert FailedList(relay.redis).count() == 0
    entry = next(d for d in deliveries(relay) if d["delivery_id"] == delivery_id)
    assert entry["outcome"] == "posted"


def test_a_job_failing_for_the_last_time_lands_on_the_failed_list(make_relay, copera, monkeypatch, caplog):
    relay = make_relay(ROUTES)

    def broken_push(*args, **kwargs):
        raise RuntimeError("outbox is broken")

    monkeypatch.setattr(relay.runtime.outbox, "push", broken_push)
    r = relay.post("ops", {"message": "doomed"}, BEARER)
    delivery_id = r.get_json()["delivery_id"]
    worker = RelayWorker([QUEUE_NAME], connection=relay.redis, serializer=JSONSerializer)
    from rq import Queue

    queue = Queue(QUEUE_NAME, connection=relay.redis, serializer=JSONSerializer)
    job = queue.fetch_job(queue.job_ids[0])
    job.retries_left = 1  # one retry, then the last failure
    job.retry_intervals = [0]
    job.save()
    worker.work(burst=True)  # fails, is re-queued at once, fails again for the last time
    runs = [r for r in caplog.records if "exception raised while executing" in r.getMessage()]
    assert len(runs) == 2
    failed = FailedList(relay.redis).list()
    assert [e["delivery_id"] for e in failed] == [delivery_id], "recorded once, at the last failure"
    assert failed[0]["reason"] == "the worker could not process this webhook: RuntimeError: outbox is broken"
    entry = next(d for d in deliveries(relay) if d["delivery_id"] == delivery_id)
    assert entry["outcome"] == "failed" and "outbox is broken" in entry["reason"]


def test_nothing_to_post_says_why(make_relay, copera):
    routes = {"ops": {**ROUTES["ops"], "min_severity": "error"}}
    relay = make_relay(routes)
    r = relay.post("ops", {"message": "just info", "level": "info"}, BEARER)
    relay.work()
    assert copera.messages == []
    entry = next(d for d in deliveries(relay) if d["delivery_id"] == r.get_json()["delivery_id"])
    assert entry["outcome"] == "nothing to post"
    assert entry["reason"] == "severity info is below this route's min_severity error"


def test_a_rerun_job_does_not_overwrite_posted_with_pending(make_relay, copera):
    from workers import jobs

    relay = make_relay(ROUTES)
    r = relay.post("ops", {"message": "once"}, BEARER)
    delivery_id = r.get_json()["delivery_id"]
    from rq import Queue

    job = Queue(QUEUE_NAME, connection=relay.redis, serializer=JSONSerializer).fetch_job(
        Queue(QUEUE_NAME, connection=relay.redis, serializer=JSONSerializer).job_ids[0])
    envelope = job.args[0]
    relay.work()
    jobs.process_webhook(envelope)  # e.g. re-run by recovery after its worker died mid-way
    relay.work()
    assert len(copera.texts(CHANNEL)) == 1
    matching = [d for d in deliveries(relay) if d["delivery_id"] == delivery_id]
    assert len(matching) == 1 and matching[0]["outcome"] == "posted"


def _entry_items(n: int) -> list[OutboxItem]:
    return [OutboxItem(id=f"m{i:05d}", delivery_id=f"d{i}", route="ops", channel=CHANNEL, text=f"event {i}",
                       accepted_at=float(i), score=float(i)) for i in range(n)]


def test_the_failed_list_bound_counts_and_logs_what_it_drops(redis_url, caplog):
    connection = redis_lib.Redis.from_url(redis_url)
    failed = FailedList(connection, max_entries=5)
    items = _entry_items(8)
    for item in items[:5]:
        failed.add([item], 403, "forbidden")
    assert failed.dropped() == 0
    failed.add(items[5:], 403, "forbidden")
    assert failed.count() == 5 and failed.dropped() == 3
    assert {e["id"] for e in failed.list(10)} == {f"m{i:05d}" for i in range(3, 8)}
    assert any(r.message.startswith("failed list is full") and r.dropped == 3 for r in caplog.records)


def test_stats_and_metrics_show_dropped_failed_entries(make_relay):
    relay = make_relay(ROUTES)
    FailedList(relay.redis, max_entries=2).add(_entry_items(3), 403, "forbidden")
    assert "failed: 2 (1 older entries dropped at the 10,000 cap)" in cli(relay, "stats").output
    metrics = relay.client.get("/metrics").get_data(as_text=True)
    assert "relay_failed_dropped_total 1.0" in metrics


class _Crash(Exception):
    pass


def test_replay_is_all_or_nothing(redis_url, monkeypatch):
    """A replay that dies before its transaction commits leaves every entry on the failed list
    and nothing queued; one that commits queues each entry once and removes it."""
    connection = redis_lib.Redis.from_url(redis_url)
    failed, outbox = FailedList(connection), Outbox(connection)
    failed.add(_entry_items(3), 403, "forbidden")
    ids = failed.ids()

    def crashing_requeue(envelope, pipe):
        raise _Crash

    failed.add_webhook({"delivery_id": "w1", "route": "ops", "event": "message", "source": "generic",
                        "payload": {}, "received_at": 10.0}, "route gone")
    with pytest.raises(_Crash):
        failed.replay([*ids, "w1"], outbox, crashing_requeue)
    assert failed.count() == 4 and outbox.backlog()[0] == 0
    requeued = []
    replayed, missing = failed.replay([*ids, "w1", "nope"], outbox, lambda env, pipe: requeued.append(env))
    assert missing == ["nope"] and len(replayed) == 4
    assert failed.count() == 0 and outbox.backlog()[0] == 3
    assert [i.id for i in outbox.peek(CHANNEL, 10)] == ["m00000", "m00001", "m00002"]
    assert [e["delivery_id"] for e in requeued] == ["w1"]
    assert failed.replay(ids, outbox, requeued.append) == ([], ids)  # a second replay queues nothing
