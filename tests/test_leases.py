"""Channel leases under slow and failing parts: a post slower than the lease, a holder that stalls
past its lease, and a new holder finding a dead holder's in-flight items. Each must end with every
message delivered; only a stall of the whole process may cost a duplicate."""

from __future__ import annotations

import re
import time

import pytest
import redis as redis_lib

from bot.store.outbox import Outbox, OutboxItem
from tests.conftest import CHANNEL, OTHER_CHANNEL
from workers import dispatcher as dispatcher_module

SECRET = "s3cret-for-tests-0123"
BEARER = {"Authorization": f"Bearer {SECRET}"}
ROUTES = {
    "ops": {"source": "generic", "channel": CHANNEL, "secret": SECRET},
    "dev": {"source": "generic", "channel": OTHER_CHANNEL, "secret": SECRET},
}


@pytest.fixture(autouse=True)
def fast_loop(monkeypatch):
    monkeypatch.setattr(dispatcher_module, "BACKOFF_BASE", 0.05)
    monkeypatch.setattr(dispatcher_module, "SWEEP_EVERY", 0.2)


def markers(texts):
    return [m for t in texts for m in re.findall(r"event \d{3}", t)]


def run_threads(relay, threads: int, until, timeout: float):
    """Runs the queued jobs, then `threads` delivery threads until `until()` holds (or timeout)."""
    from rq import SimpleWorker
    from rq.serializers import JSONSerializer

    from bot.enqueue import QUEUE_NAME

    SimpleWorker([QUEUE_NAME], connection=relay.redis, serializer=JSONSerializer).work(burst=True)
    dispatcher = relay.runtime.dispatcher
    dispatcher.start(threads)
    try:
        deadline = time.time() + timeout
        while time.time() < deadline and not until():
            time.sleep(0.1)
    finally:
        dispatcher.stop(timeout=15)


def test_a_post_slower_than_the_lease_is_made_once(make_relay, copera):
    relay = make_relay(ROUTES, env={"RELAY_LEASE_SECONDS": "2"})
    copera.delay = 3.5  # beyond the lease: without renewal a second thread takes the channel over
    assert relay.post("ops", {"message": "event 000"}, BEARER).status_code == 202
    run_threads(relay, 3, until=lambda: copera.texts(), timeout=20)
    time.sleep(2.5)  # room for a second (wrong) post to arrive
    assert markers(copera.texts()) == ["event 000"]
    assert relay.runtime.outbox.backlog()[0] == 0


def test_slow_and_failing_copera_with_two_threads_loses_nothing(make_relay, copera):
    """The reproduced loss: lease 2 s, Copera answering in 3.5 s, some 503s, several threads."""
    relay = make_relay(ROUTES, env={"RELAY_LEASE_SECONDS": "2"})
    copera.delay = 3.5
    copera.fail_next = 2
    for i in range(6):
        route = "ops" if i % 2 == 0 else "dev"
        assert relay.post(route, {"message": f"event {i:03d}"}, BEARER).status_code == 202
    want = [f"event {i:03d}" for i in range(6)]
    run_threads(relay, 2, until=lambda: sorted(set(markers(copera.texts()))) == want, timeout=60)
    got = markers(copera.texts())
    assert sorted(set(got)) == want
    assert len(got) == len(want), f"duplicates: {got}"
    # Order holds per channel.
    assert markers(copera.texts(CHANNEL)) == ["event 000", "event 002", "event 004"]
    assert markers(copera.texts(OTHER_CHANNEL)) == ["event 001", "event 003", "event 005"]


def _item(i: int, channel: str = CHANNEL) -> OutboxItem:
    return OutboxItem(id=f"i{i}", delivery_id=f"d{i}", route="r", channel=channel, text=f"event {i:03d}",
                      accepted_at=1000.0 + i, score=1000.0 + i)


def _pending(outbox: Outbox, channel: str = CHANNEL) -> list[str]:
    return [i.id for i in outbox.peek(channel, 100)]


def test_a_stalled_holder_cannot_settle_what_it_no_longer_owns(redis_url):
    outbox = Outbox(redis_lib.Redis.from_url(redis_url))
    outbox.push([_item(1), _item(2)])
    assert outbox.claim("stalled", 0.05) == CHANNEL
    assert [i.id for i in outbox.take(CHANNEL, "stalled", 1)] == ["i1"]
    time.sleep(0.1)  # the lease expires while "stalled" is stuck in its post
    assert outbox.renew(CHANNEL, "stalled", 10) is False
    outbox.recover()
    assert outbox.claim("healthy", 10) == CHANNEL
    assert [i.id for i in outbox.take(CHANNEL, "healthy", 2)] == ["i1", "i2"]
    # The stalled holder wakes: a failure must not put the items back a second time, and a success
    # must not wipe the healthy holder's in-flight items.
    assert outbox.retry_later(CHANNEL, "stalled", time.time()) is False
    assert outbox.ack(CHANNEL, "stalled", [_item(1)]) is False
    assert outbox.backlog()[0] == 2
    assert outbox.retry_later(CHANNEL, "healthy", 0) is True
    assert _pending(outbox) == ["i1", "i2"]


def test_a_stalled_holder_that_posted_takes_its_copy_back_from_the_outbox(redis_url):
    outbox = Outbox(redis_lib.Redis.from_url(redis_url))
    outbox.push([_item(1), _item(2)])
    outbox.claim("stalled", 0.05)
    outbox.take(CHANNEL, "stalled", 1)
    time.sleep(0.1)
    outbox.recover()  # i1 is pending again, not yet re-taken
    assert _pending(outbox) == ["i1", "i2"]
    assert outbox.ack(CHANNEL, "stalled", [_item(1)]) is False  # Copera did accept it
    assert _pending(outbox) == ["i2"]  # so it is not posted a second time


def test_a_new_holder_serves_a_dead_holders_items_first(redis_url):
    """A push can make a channel ready again before any sweep ran: the new holder must take the
    dead holder's in-flight items back first, or its ack would drop them."""
    outbox = Outbox(redis_lib.Redis.from_url(redis_url))
    outbox.push([_item(1)])
    outbox.claim("dead", 0.05)
    outbox.take(CHANNEL, "dead", 1)
    time.sleep(0.1)
    outbox.push([_item(2)])  # no lease now, so the channel is ready again; no sweep has run
    assert outbox.claim("next", 10) == CHANNEL
    assert [i.id for i in outbox.take(CHANNEL, "next", 5)] == ["i1", "i2"]
    assert outbox.ack(CHANNEL, "next", []) is True
    assert outbox.backlog()[0] == 0


def test_take_refuses_a_holder_without_the_lease(redis_url):
    outbox = Outbox(redis_lib.Redis.from_url(redis_url))
    outbox.push([_item(1)])
    outbox.claim("a", 10)
    assert outbox.take(CHANNEL, "b", 1) is None
    assert _pending(outbox) == ["i1"]


def _strand_in_flight(relay, channel: str) -> None:
    """A worker takes the channel's items and dies mid-post: its lease lapses with them in flight."""
    outbox = relay.runtime.outbox
    assert outbox.claim("dead-worker", 0.05) == channel
    assert outbox.take(channel, "dead-worker", 10)
    time.sleep(0.1)


def test_an_item_stranded_by_a_dead_worker_that_then_fails_says_it_may_be_in_the_channel(make_relay, copera):
    """Copera may have accepted the dead worker's post before it died; when every later attempt is
    refused, the failed entry must not claim the message never arrived."""
    relay = make_relay(ROUTES)
    assert relay.post("ops", {"message": "event 000"}, BEARER).status_code == 202
    assert relay.post("dev", {"message": "event 001"}, BEARER).status_code == 202
    from rq import SimpleWorker
    from rq.serializers import JSONSerializer

    from bot.enqueue import QUEUE_NAME

    SimpleWorker([QUEUE_NAME], connection=relay.redis, serializer=JSONSerializer).work(burst=True)
    _strand_in_flight(relay, CHANNEL)
    copera.forbidden = {CHANNEL, OTHER_CHANNEL}
    relay.runtime.dispatcher.drain(timeout=10)
    entries = {e["route"]: e for e in relay.runtime.failed.list()}
    assert entries["ops"].get("maybe_posted") is True
    assert "may already be in the channel" in entries["ops"]["reason"]
    assert "maybe_posted" not in entries["dev"]  # never in flight when a worker died
    assert "may already" not in entries["dev"]["reason"]
    assert not relay.redis.keys("relay:uncertain:*")  # the mark ends with the item


def test_a_stranded_item_posted_later_leaves_no_mark(make_relay, copera):
    relay = make_relay(ROUTES)
    assert relay.post("ops", {"message": "event 000"}, BEARER).status_code == 202
    from rq import SimpleWorker
    from rq.serializers import JSONSerializer

    from bot.enqueue import QUEUE_NAME

    SimpleWorker([QUEUE_NAME], connection=relay.redis, serializer=JSONSerializer).work(burst=True)
    _strand_in_flight(relay, CHANNEL)
    relay.runtime.outbox.recover()
    assert relay.redis.keys("relay:uncertain:*")
    relay.runtime.dispatcher.drain(timeout=10)
    assert markers(copera.texts()) == ["event 000"]
    assert not relay.redis.keys("relay:uncertain:*")
