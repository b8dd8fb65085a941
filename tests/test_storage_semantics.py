"""What the storage and delivery layer promises, pinned by what Copera (tests/copera_stub.py)
receives and what the operator's commands show, so the promises survive a restructuring of the
modules behind them: order per channel (also after a crash), at-most-once queueing per webhook,
one sender name per post, the token-wide pause and the per-channel wait after a 429, the retry
counter, the failed list (newest first, bounded, replayable by id), and the shared rate limit,
driven through time by a pinned clock instead of measured against the wall clock."""

from __future__ import annotations

import itertools
import json
import random
import re
import threading
import time
import types

import pytest
import redis as redis_lib
from hypothesis import given, settings
from hypothesis import strategies as st
from rq import Queue, SimpleWorker
from rq.serializers import JSONSerializer

from bot.enqueue import QUEUE_NAME, Enqueuer, queue_depth
from bot.store import failed as failed_module
from bot.store import keys
from bot.store.failed import MAX_ENTRIES, FailedList
from bot.store.limiter import RateLimiter
from bot.store.outbox import OutboxItem
from tests.conftest import CHANNEL, OTHER_CHANNEL, free_port, wait_for
from workers import dispatcher as dispatcher_module
from workers.dispatcher import BACKOFF_CAP, backoff
from workers.job_recovery import JobRecovery

SECRET = "s3cret-for-tests-0123"
BEARER = {"Authorization": f"Bearer {SECRET}"}
THIRD_CHANNEL = "64b7f0c2e4b0a1a2b3c4d5e8"
ROUTES = {
    "ops": {"source": "generic", "channel": CHANNEL, "secret": SECRET},
    "dev": {"source": "generic", "channel": OTHER_CHANNEL, "secret": SECRET},
}


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch):
    monkeypatch.setattr(dispatcher_module, "BACKOFF_BASE", 0.05)


def send(relay, route: str, marker: str, **fields) -> str:
    r = relay.post(route, {"message": marker} | fields, BEARER)
    assert r.status_code == 202, r.get_json()
    return r.get_json()["delivery_id"]


def markers(texts: list[str]) -> list[str]:
    return [m for t in texts for m in re.findall(r"evt-\d+", t)]


def format_jobs(relay) -> None:
    SimpleWorker([QUEUE_NAME], connection=relay.redis, serializer=JSONSerializer).work(burst=True)


def cli(relay, *args) -> str:
    result = relay.app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 0, result.output
    return result.output


def failed_entries(relay) -> list[dict]:
    return json.loads(cli(relay, "failed", "--json", "--limit", str(MAX_ENTRIES + 100)))



# -- order, crashes and re-runs ---------------------------------------------------------------------

def test_a_dead_workers_in_flight_messages_go_first_and_in_order(make_relay, copera):
    relay = make_relay(ROUTES)
    for i in range(6):
        send(relay, "ops", f"evt-{i}")
    format_jobs(relay)
    # A worker leases the channel, takes the first messages and dies before posting them.
    outbox = relay.runtime.outbox
    assert outbox.claim("dead-worker", 0.05) == CHANNEL
    assert markers([i.text for i in outbox.take(CHANNEL, "dead-worker", 2)]) == ["evt-0", "evt-1"]
    time.sleep(0.1)  # its lease expires; nothing but the recovery sweep can make the channel due again
    relay.work()
    assert markers(copera.texts(CHANNEL)) == [f"evt-{i}" for i in range(6)]
    assert len(copera.texts(CHANNEL)) == 1  # all of them, one digest
    assert "waiting to post: 0 " in cli(relay, "stats")


def _kill_mid_job(relay, perform: bool) -> None:
    """A worker dequeues the first job, (maybe) runs it, and dies before RQ records the end."""
    worker = SimpleWorker([QUEUE_NAME], connection=relay.redis, serializer=JSONSerializer)
    job, _queue = worker.dequeue_job_and_maintain_ttl(timeout=1)
    worker.prepare_execution(job)
    worker.prepare_job_execution(job, remove_from_intermediate_queue=True)
    if perform:
        job.perform()


def test_a_job_whose_worker_died_before_formatting_is_run_again(make_relay, copera):
    relay = make_relay(ROUTES)
    send(relay, "ops", "evt-1")
    _kill_mid_job(relay, perform=False)
    assert Queue(QUEUE_NAME, connection=relay.redis, serializer=JSONSerializer).count == 0
    relay.runtime.job_recovery.sweep()  # no "alive" key for the dead worker
    relay.work()
    assert markers(copera.texts()) == ["evt-1"]


def test_every_job_of_dead_workers_is_run_again_once(make_relay, copera, monkeypatch):
    """Three jobs whose workers died mid-job and two stuck between RQ's dequeue and its started
    registry: one sweep puts all five back, leaves nothing behind, and a second finds nothing."""
    from workers import job_recovery

    monkeypatch.setattr(job_recovery, "STUCK_SECONDS", 0.2)
    relay = make_relay(ROUTES)
    for i in range(5):
        send(relay, "ops", f"evt-{i}")
    for _ in range(3):
        _kill_mid_job(relay, perform=False)
    worker = SimpleWorker([QUEUE_NAME], connection=relay.redis, serializer=JSONSerializer)
    for _ in range(2):
        assert worker.dequeue_job_and_maintain_ttl(timeout=1)  # and that worker dies right there
    recovery = relay.runtime.job_recovery
    assert recovery.sweep() == 3  # the two stuck ones are first seen now
    time.sleep(0.3)
    assert recovery.sweep() == 2
    assert recovery.sweep() == 0
    queue = Queue(QUEUE_NAME, connection=relay.redis, serializer=JSONSerializer)
    assert queue.started_job_registry.get_job_ids() == [] and queue.count == 5
    relay.work()
    assert sorted(markers(copera.texts())) == [f"evt-{i}" for i in range(5)]


def test_a_job_run_again_after_queueing_its_messages_posts_them_once(make_relay, copera):
    relay = make_relay(ROUTES)
    send(relay, "ops", "evt-1")
    _kill_mid_job(relay, perform=True)  # the messages are in the outbox; the job looks unfinished
    assert relay.runtime.job_recovery.sweep() == 1
    relay.work()
    assert markers(copera.texts()) == ["evt-1"]
    [row] = json.loads(cli(relay, "deliveries", "ops", "--json"))
    assert row["outcome"] == "posted" and row["attempts"] == 1


def test_a_post_carries_one_sender_name_and_keeps_the_order(make_relay, copera):
    routes = {"alpha": {"source": "generic", "channel": CHANNEL, "secret": SECRET, "sender_name": "Alpha"},
              "beta": {"source": "generic", "channel": CHANNEL, "secret": SECRET, "sender_name": "Beta"},
              "plain": {"source": "generic", "channel": CHANNEL, "secret": SECRET}}
    relay = make_relay(routes, env={"COPERA_RATE_LIMIT_PER_MINUTE": "3000"})  # ~20 posts; the budget is tested apart
    rng = random.Random(16)
    sequence = [rng.choice(["alpha", "alpha", "beta", "plain"]) for _ in range(30)]
    for i, route in enumerate(sequence):
        send(relay, route, f"evt-{i}")
    relay.work()
    names = {"alpha": "Alpha", "beta": "Beta", "plain": None}
    # Every run of consecutive messages under one name is one post (a digest when longer than one).
    expected = [(names[route], [f"evt-{i}" for i, _ in run])
                for route, run in itertools.groupby(enumerate(sequence), key=lambda x: x[1])]
    assert [(m["name"], markers([m["message"]])) for m in copera.messages] == expected


# -- 429s and retries -------------------------------------------------------------------------------

def test_a_429_pauses_the_token_and_puts_the_throttled_channel_behind_due_ones(make_relay, copera):
    copera.throttle_next = 1
    copera.retry_after = 1
    relay = make_relay(ROUTES)
    send(relay, "ops", "evt-0")
    send(relay, "dev", "evt-1")
    relay.work()
    (throttled_at, status), *_ = copera.requests
    assert status == 429
    # Nothing is posted with this token until retryAfter has passed, on any channel ...
    assert [m["t"] >= throttled_at + copera.retry_after for m in copera.messages] == [True, True]
    # ... and the channel Copera throttled waits that long too: the channel that was already due goes first.
    assert [m["channel"] for m in copera.messages] == [OTHER_CHANNEL, CHANNEL]
    assert FailedList(relay.redis).count() == 0


def test_the_retry_count_starts_again_after_a_success(make_relay, copera):
    relay = make_relay(ROUTES)
    copera.fail_next = 2
    send(relay, "ops", "evt-0")
    relay.work()
    assert copera.statuses() == [503, 503, 204]
    # Same channel, a relay that gives up on the first failure of a message older than a second.
    impatient = make_relay(ROUTES, env={"RELAY_MAX_DELIVERY_AGE": "1"})
    send(impatient, "ops", "evt-1")
    time.sleep(1.1)
    copera.mode = "down"
    impatient.work()
    [entry] = failed_entries(impatient)
    assert entry["reason"] == "try later (gave up after 1 attempts)"


def test_a_message_queued_while_its_channel_backs_off_waits_with_it(make_relay, copera, monkeypatch):
    """A new message for a channel that is backing off after a 5xx joins the wait instead of
    making the channel due at once (and posting before the back-off ends)."""
    monkeypatch.setattr(dispatcher_module, "BACKOFF_BASE", 30.0)
    relay = make_relay(ROUTES)
    dispatcher = relay.runtime.dispatcher
    copera.fail_next = 1
    send(relay, "ops", "evt-0")
    format_jobs(relay)
    dispatcher.step("owner-1")
    assert copera.statuses() == [503]
    send(relay, "ops", "evt-1")
    format_jobs(relay)
    assert dispatcher.step("owner-1") > 5  # nothing is due for a while
    assert copera.statuses() == [503]


def test_backoff_doubles_with_jitter_up_to_the_cap():
    rng_state = random.getstate()
    random.seed(16)
    try:
        for attempt in range(1, 40):
            ceiling = min(BACKOFF_CAP, dispatcher_module.BACKOFF_BASE * 2 ** (attempt - 1))
            draws = [backoff(attempt) for _ in range(200)]
            assert all(ceiling / 2 <= d <= ceiling for d in draws), attempt
            # Jitter spreads retries over the whole range, so workers that failed together do not retry together.
            assert min(draws) < ceiling * 0.55 and max(draws) > ceiling * 0.95, attempt
        assert backoff(0) <= dispatcher_module.BACKOFF_BASE
    finally:
        random.setstate(rng_state)


# -- the failed list --------------------------------------------------------------------------------

def test_failed_lists_newest_first_and_replay_by_id_sends_only_that_one(make_relay, copera):
    copera.forbidden = {CHANNEL}
    relay = make_relay(ROUTES)
    for i in range(3):
        send(relay, "ops", f"evt-{i}")
        relay.work()  # one failure at a time: three entries failed at three moments
    entries = failed_entries(relay)
    assert [markers([e["text"]]) for e in entries] == [["evt-2"], ["evt-1"], ["evt-0"]]
    listing = cli(relay, "failed").splitlines()
    assert [line.split()[0] for line in listing] == [e["delivery_id"] for e in entries]
    two = cli(relay, "failed", "--limit", "2").splitlines()
    assert [line.split()[0] for line in two] == [e["delivery_id"] for e in entries[:2]]
    copera.forbidden = set()
    assert "queued 1 message(s) again" in cli(relay, "replay", entries[1]["id"])
    relay.work()
    assert markers(copera.texts(CHANNEL)) == ["evt-1"]
    assert [e["id"] for e in failed_entries(relay)] == [entries[0]["id"], entries[2]["id"]]
    [row] = [r for r in json.loads(cli(relay, "deliveries", "ops", "--json")) if r["outcome"] == "posted"]
    assert row["delivery_id"] == entries[1]["delivery_id"]


def test_failed_entries_are_found_by_id_by_the_delivery_id_or_by_route_oldest_first(make_relay, monkeypatch):
    """What `replay <id>`, `replay --route` and the console pick: an entry by its own id or by the
    delivery id its sender was answered, or every entry of one route, in the order they failed."""
    relay = make_relay(ROUTES)
    failed = relay.runtime.failed
    moments = iter([300.0, 100.0, 200.0])
    monkeypatch.setattr(failed_module, "time", types.SimpleNamespace(time=lambda: next(moments)))
    for entry_id, delivery_id, route in [("a-1", "web-1", "ops"), ("z-2", "web-2", "ops"), ("m-3", "web-3", "dev")]:
        item = OutboxItem(id=entry_id, delivery_id=delivery_id, route=route, channel=CHANNEL,
                          text=f"text of {entry_id}", event="message", status=None, accepted_at=1.0, score=1.0)
        failed.add([item], 403, "refused")
    assert failed.find(route="ops") == ["z-2", "a-1"]  # failed at 100, then 300: not in id order
    assert failed.find(["web-3"]) == ["m-3"]
    assert failed.find(["a-1", "web-2"]) == ["z-2", "a-1"]
    assert failed.find(["web-1"], route="dev") == ["m-3", "a-1"]
    assert failed.find(["nothing"]) == [] and failed.find(route="elsewhere") == []
    assert failed.replay([], relay.runtime.outbox, lambda envelope, pipe: None) == ([], [])


def test_a_replayed_webhook_is_queued_once_when_the_replay_starts_over(make_relay, copera):
    """A replay that reads the failed list again after a concurrent change queues each webhook in the
    transaction that commits, not once per attempt."""
    relay = make_relay(ROUTES)
    failed = relay.runtime.failed
    other = FailedList(redis_lib.Redis(connection_pool=relay.redis.connection_pool))
    envelope = {"delivery_id": "d-1", "route": "ops", "source": "generic", "event": "message",
                "payload": {"message": "evt-1"}, "received_at": time.time()}
    failed.add_webhook(envelope, "route removed")
    enqueuer = Enqueuer(relay.redis)
    attempts = []

    def requeue(env, pipe):
        if not attempts:
            other.add_webhook({**envelope, "delivery_id": "d-2", "payload": {"message": "evt-2"}}, "route removed")
        attempts.append(env["delivery_id"])
        return enqueuer.requeue(env, pipe)

    failed.replay(["d-1"], relay.runtime.outbox, requeue)
    assert attempts == ["d-1", "d-1"]
    assert queue_depth(relay.redis) == 1
    format_jobs(relay)
    relay.work()
    assert markers(copera.texts(CHANNEL)) == ["evt-1"]


def test_failed_list_keeps_the_newest_entries_at_its_bound_and_counts_the_rest(make_relay):
    relay = make_relay(ROUTES)
    failed = FailedList(relay.redis)

    def items(prefix, n):
        return [OutboxItem(id=f"{prefix}{i:05d}", delivery_id=f"{prefix}{i}", route="ops", channel=CHANNEL, text="t")
                for i in range(n)]

    failed.add(items("old", 7), 403, "forbidden")
    time.sleep(0.01)  # a later failure time than the old ones
    for batch in range(10):
        failed.add(items(f"new{batch}-", MAX_ENTRIES // 10), 403, "forbidden")
    entries = failed_entries(relay)
    assert len(entries) == MAX_ENTRIES
    assert not [e for e in entries if e["id"].startswith("old")]
    assert entries[0]["id"].startswith("new9-") and entries[-1]["id"].startswith("new0-")
    assert f"failed: {MAX_ENTRIES}" in cli(relay, "stats")
    assert f"(7 older entries dropped at the {MAX_ENTRIES:,} cap)" in cli(relay, "stats")
    failed.add(items("newest", 1), 403, "forbidden")
    assert failed_entries(relay)[0]["id"] == "newest00000" and failed.count() == MAX_ENTRIES
    assert "(8 older entries dropped" in cli(relay, "stats")


# -- the shared rate limit, through time -----------------------------------------------------------

class Clock:
    """A pinned clock in whole milliseconds, moved only by the test."""

    def __init__(self):
        self.ms = 1_000_000_000

    def __call__(self) -> float:
        return self.ms / 1000


class FlowingClock:
    """Real time plus jumps: the limiter's keys expire by Redis' clock, so a long test should never
    let real time overtake the limiter's."""

    def __init__(self):
        self.offset = 1_000_000.0 - time.monotonic()

    def __call__(self) -> float:
        return time.monotonic() + self.offset


def limiter(redis_url, per_minute: int, clock, token: str = "cp_key_pinned") -> RateLimiter:
    return RateLimiter(redis_lib.Redis.from_url(redis_url), token, per_minute, clock=clock)


@settings(max_examples=25, deadline=None, derandomize=True, database=None)
@given(per_minute=st.sampled_from([1, 7, 60, 100, 1000]),
       gaps_ms=st.lists(st.integers(0, 3000), min_size=50, max_size=400))
def test_no_60_second_window_holds_more_than_the_budget(redis_server, per_minute, gaps_ms):
    connection = redis_lib.Redis.from_url(redis_server.url)
    connection.flushall()
    clock = FlowingClock()
    a = limiter(redis_server.url, per_minute, clock)
    b = limiter(redis_server.url, per_minute, clock)  # another worker sharing the token
    granted = []
    for i, gap in enumerate(gaps_ms):
        clock.offset += gap / 1000
        while (a if i % 2 else b).acquire() == 0:  # take all there is now
            granted.append(clock())
    for i, start in enumerate(granted):
        assert sum(1 for t in granted[i:] if t < start + 60) <= per_minute, (per_minute, start)


@pytest.mark.parametrize("per_minute", [1, 10, 100, 1000])
def test_the_wait_acquire_returns_is_exact_and_demand_gets_the_whole_budget(redis_url, per_minute):
    clock = Clock()
    rl = limiter(redis_url, per_minute, clock)
    assert rl.burst == max(1, per_minute // 10)
    grants = 0
    while rl.acquire() == 0:
        grants += 1
    assert grants == rl.burst  # the burst, all at once
    # The documented design: 2 % under the budget, after the burst, so no window ever holds more.
    assert rl.interval_ms == int(60_000 * 1.02 / max(1, per_minute - rl.burst))
    end = clock.ms + 180_000
    while clock.ms < end:
        wait = rl.acquire()
        if wait == 0:
            grants += 1
            continue
        clock.ms += round(wait * 1000) - 1
        assert rl.acquire() == 0.001, "granted before the wait it announced"
        clock.ms += 1
    # Three minutes of constant demand: the burst, then one slot per interval and none lost to rounding.
    assert grants == rl.burst + (180_000 - 1) // rl.interval_ms
    assert grants <= 3 * per_minute


def test_a_limiter_is_shared_by_everyone_using_the_token(redis_url):
    clock = Clock()
    workers = [limiter(redis_url, 6000, clock) for _ in range(3)]
    other = limiter(redis_url, 6000, clock, token="cp_key_someone_else")
    granted = sum(1 for _ in range(700) for w in workers if w.acquire() == 0)
    assert granted == 600  # the burst once, not once per worker
    assert sum(1 for _ in range(700) if other.acquire() == 0) == 600  # another token has its own budget
    clock.ms += 10 * workers[0].interval_ms
    assert sum(1 for w in workers for _ in range(5) if w.acquire() == 0) == 10


@pytest.mark.parametrize("per_minute", [10, 100])
def test_refund_gives_back_one_slot_and_never_more_than_the_burst(redis_url, per_minute):
    clock = Clock()
    rl = limiter(redis_url, per_minute, clock)
    for _ in range(5):
        rl.refund()  # nothing taken yet: nothing to give back
    assert sum(1 for _ in range(50) if rl.acquire() == 0) == rl.burst
    rl.refund()
    assert rl.acquire() == 0
    assert rl.acquire() == rl.interval_ms / 1000
    clock.ms += 60_000
    for _ in range(3):
        rl.refund()  # the budget refilled meanwhile: refunds add nothing on top
    assert sum(1 for _ in range(50) if rl.acquire() == 0) == rl.burst


def test_a_pause_holds_every_slot_until_it_ends_and_is_never_shortened(redis_url):
    clock = Clock()
    rl = limiter(redis_url, 100, clock)
    rl.pause(30)
    rl.pause(5)
    assert rl.acquire() == 30
    clock.ms += 29_999
    assert rl.acquire() == 0.001
    clock.ms += 1
    assert sum(1 for _ in range(50) if rl.acquire() == 0) == rl.burst  # waiting did not use the budget


def test_a_thread_that_loses_the_race_for_a_channel_hands_its_slot_back(make_relay, copera, monkeypatch):
    relay = make_relay(ROUTES, env={"COPERA_RATE_LIMIT_PER_MINUTE": "10"})  # one slot, the next 6.8 s later
    send(relay, "ops", "evt-0")
    format_jobs(relay)
    dispatcher = relay.runtime.dispatcher
    claim = dispatcher.outbox.claim

    def another_thread_claims_first(owner, lease_seconds):
        assert claim("other-thread", 60) == CHANNEL
        return claim(owner, lease_seconds)

    monkeypatch.setattr(dispatcher.outbox, "claim", another_thread_claims_first)
    assert dispatcher.step("this-thread") > 0  # took the slot, found no channel: gives the slot back
    monkeypatch.undo()
    assert dispatcher.outbox.retry_later(CHANNEL, "other-thread", 0)  # the other thread could not post
    relay.work(timeout=dispatcher.limiter.interval_ms / 1000 / 2)
    assert markers(copera.texts()) == ["evt-0"]  # posted with the slot handed back, not the next one


# -- the threaded delivery loop ---------------------------------------------------------------------

def _blocked_in_blpop(connection) -> int:
    return sum(1 for c in connection.client_list() if c.get("cmd") == "blpop")


def _stop(dispatcher, threads: int) -> None:
    dispatcher.stop_event.set()
    for _ in range(threads):
        dispatcher.outbox.push([])  # wakes each idle thread so it sees the stop
    dispatcher.stop(timeout=15)


def test_a_push_wakes_an_idle_delivery_thread_at_once(make_relay, copera, monkeypatch):
    idle_wait = 8.0
    monkeypatch.setattr(dispatcher_module, "IDLE_WAIT", idle_wait)
    relay = make_relay(ROUTES)
    dispatcher = relay.runtime.dispatcher
    # Clients of processes other tests killed may still sit in a BLPOP on this server.
    before = _blocked_in_blpop(relay.redis)
    dispatcher.start(2)
    try:
        assert wait_for(lambda: _blocked_in_blpop(relay.redis) == before + 2, 10)
        idle_since = time.time()
        send(relay, "ops", "evt-1")
        format_jobs(relay)
        # Without the wake-up the threads would sleep out their idle wait first.
        assert wait_for(lambda: copera.texts(), idle_wait / 2)
        assert time.time() - idle_since < idle_wait / 2
    finally:
        _stop(dispatcher, 2)
    assert markers(copera.texts()) == ["evt-1"]


def test_threads_never_post_to_one_channel_at_once_nor_out_of_order(make_relay, copera, monkeypatch):
    routes = {**ROUTES, "qa": {"source": "generic", "channel": THIRD_CHANNEL, "secret": SECRET}}
    # The budget is not what this test is about; at 100 a minute its 45+ posts would take half a minute.
    relay = make_relay(routes, env={"COPERA_RATE_LIMIT_PER_MINUTE": "3000"})
    copera.delay = 0.02
    busy: dict[str, int] = {}
    overlaps: list[str] = []
    lock = threading.Lock()
    handle = copera._handle

    def counting_handle(handler):
        channel = handler.path.split("/")[-2]
        with lock:
            busy[channel] = busy.get(channel, 0) + 1
            if busy[channel] > 1:
                overlaps.append(channel)
        try:
            handle(handler)
        finally:
            with lock:
                busy[channel] -= 1

    monkeypatch.setattr(copera, "_handle", counting_handle)
    dispatcher = relay.runtime.dispatcher
    dispatcher.start(4)
    sent = {"ops": [], "dev": [], "qa": []}
    try:
        rng = random.Random(16)
        for i in range(90):
            route = rng.choice(sorted(sent))
            # 4,000 characters: at most two per digest, so a channel takes many posts.
            send(relay, route, f"evt-{i}", title=f"evt-{i}", message="x" * 4000)
            sent[route].append(f"evt-{i}")
            if i % 6 == 5:
                format_jobs(relay)
        format_jobs(relay)
        assert wait_for(lambda: len(markers(copera.texts())) >= 90, 60)
    finally:
        _stop(dispatcher, 4)
    assert overlaps == []
    for route, channel in [("ops", CHANNEL), ("dev", OTHER_CHANNEL), ("qa", THIRD_CHANNEL)]:
        assert markers(copera.texts(channel)) == sent[route]
    assert len(copera.texts()) >= 45


# -- webhooks that could not be formatted, and re-run jobs ------------------------------------------

def _queued_envelope(relay) -> dict:
    [job] = Queue(QUEUE_NAME, connection=relay.redis, serializer=JSONSerializer).jobs
    return job.args[0]


def test_a_webhook_whose_route_went_away_is_shown_whole_and_replays_into_a_post(make_relay, copera):
    full = make_relay(ROUTES)
    delivery_id = send(full, "dev", "evt-1")
    envelope = _queued_envelope(full)
    reloaded = make_relay({"ops": ROUTES["ops"]})  # a reload dropped "dev" before the job ran
    reloaded.work()
    reason = "route dev is no longer configured for source generic; replay it once the route is back"
    [entry] = failed_entries(reloaded)
    assert entry.pop("failed_at") >= envelope["received_at"]
    assert entry == {"id": delivery_id, "kind": "webhook", "delivery_id": delivery_id, "route": "dev",
                     "event": "message", "source": "generic", "channel": None,
                     "accepted_at": envelope["received_at"], "copera_status": None, "reason": reason,
                     "envelope": envelope}
    [row] = json.loads(cli(full, "deliveries", "dev", "--json"))
    assert {k: row[k] for k in ("delivery_id", "route", "source", "event", "received_at", "messages", "channels",
                                "text", "reason", "attempts", "outcome")} == {
        "delivery_id": delivery_id, "route": "dev", "source": "generic", "event": "message",
        "received_at": envelope["received_at"], "messages": "0", "channels": [], "text": "", "reason": reason,
        "attempts": 0, "outcome": "failed"}
    dev_row = next(line for line in cli(full, "stats").splitlines() if line.startswith("dev "))
    assert dev_row.split()[-2] == "1"  # the failed column
    make_relay(ROUTES)  # the route is back
    assert "and 1 webhook(s) for formatting" in cli(full, "replay", delivery_id)
    full.work()
    assert markers(copera.texts(OTHER_CHANNEL)) == ["evt-1"]
    [row] = json.loads(cli(full, "deliveries", "dev", "--json"))
    assert (row["outcome"], row["messages"], row["reason"], row["channels"]) == ("posted", "1", "", [OTHER_CHANNEL])
    assert failed_entries(full) == []


def test_a_re_run_job_keeps_its_place_before_webhooks_queued_after_it(make_relay, copera):
    relay = make_relay(ROUTES)
    send(relay, "ops", "evt-0")
    _kill_mid_job(relay, perform=False)
    send(relay, "ops", "evt-1")  # queued while the first job's worker lay dead
    assert relay.runtime.job_recovery.sweep() == 1
    relay.work()
    assert markers(copera.texts()) == ["evt-0", "evt-1"]
    assert relay.runtime.job_recovery.sweep() == 0  # nothing left to re-run


def test_deliveries_lists_the_newest_first_across_routes_and_per_route(make_relay, copera):
    routes = {**ROUTES, "qa": {"source": "generic", "channel": THIRD_CHANNEL, "secret": SECRET}}
    relay = make_relay(routes)
    order = ["ops", "dev", "ops", "qa", "ops", "dev"]
    ids = [send(relay, route, f"evt-{i}") for i, route in enumerate(order)]
    relay.work()
    rows = json.loads(cli(relay, "deliveries", "--json", "--limit", "4"))
    assert [r["delivery_id"] for r in rows] == ids[::-1][:4]
    assert all(a["received_at"] > b["received_at"] > 0 for a, b in itertools.pairwise(rows))
    channel_of = {"ops": CHANNEL, "dev": OTHER_CHANNEL, "qa": THIRD_CHANNEL}
    assert [(r["route"], r["channels"], r["attempts"], r["outcome"]) for r in rows] == [
        (order[i], [channel_of[order[i]]], 1, "posted") for i in (5, 4, 3, 2)]
    ops = json.loads(cli(relay, "deliveries", "ops", "--json", "--limit", "3"))
    assert [r["delivery_id"] for r in ops] == [ids[4], ids[2], ids[0]]
    assert [r["text"] for r in ops] == ["🔵 **evt-4**", "🔵 **evt-2**", "🔵 **evt-0**"]
    assert {(r["source"], r["event"], r["messages"], r["reason"]) for r in rows} == {("generic", "message", "1", "")}
    table = cli(relay, "deliveries", "dev").splitlines()
    assert len(table) == 3 and table[1].split()[2:] == ["dev", "message", "posted", "204", "1", ids[5]]


def test_a_refused_channel_raises_one_notice_per_kind_route_and_channel(make_relay, copera, monkeypatch):
    from bot.copera_client import SendResult

    routes = {"alerts": {"source": "generic", "secret": SECRET, "channels": [
        {"channel": CHANNEL, "when": {"severity": ["critical"]}}, {"channel": OTHER_CHANNEL}]}}
    relay = make_relay(routes, extra={"notices_channel": THIRD_CHANNEL})
    client = relay.runtime.dispatcher.client
    send_message = client.send_message
    missing: set[str] = {OTHER_CHANNEL}

    def copera_without(channel, text, name=None):
        if channel in missing:
            return SendResult("permanent", 404, "Channel not found")
        return send_message(channel, text, name)

    monkeypatch.setattr(client, "send_message", copera_without)
    copera.forbidden = {CHANNEL}
    send(relay, "alerts", "evt-0", level="critical")
    send(relay, "alerts", "evt-1")
    relay.work()
    copera.forbidden, missing = set(), {CHANNEL, OTHER_CHANNEL}
    send(relay, "alerts", "evt-2", level="critical")  # the same channel, now another refusal: a new notice
    send(relay, "alerts", "evt-3")  # the same refusal again within the hour: no new notice
    relay.work()
    advice = "Check the channel id and that the integration was added to the channel."
    notices = [part for text in copera.texts(THIRD_CHANNEL) for part in text.split("\n\n---\n\n")
               if part.startswith("⚠️")]  # notices for one channel may share a digest
    assert notices == [
        f"⚠️ **Copera Relay notice**\n\nroute alerts: Copera answered {status} for channel {channel} ({why}). {advice}"
        for status, channel, why in [(403, CHANNEL, "Integration is not a participant of this channel"),
                                     (404, OTHER_CHANNEL, "Channel not found"), (404, CHANNEL, "Channel not found")]]
    entries = failed_entries(relay)
    assert [(markers([e["text"]]), e["copera_status"], e["reason"]) for e in entries] == [
        (["evt-3"], 404, "Channel not found"), (["evt-2"], 404, "Channel not found"),
        (["evt-1"], 404, "Channel not found"), (["evt-0"], 403, "Integration is not a participant of this channel")]
    assert all(e["failed_at"] >= e["accepted_at"] for e in entries)
    assert {r["outcome"] for r in json.loads(cli(relay, "deliveries", "--json"))} == {"failed"}
    alerts_row = next(line for line in cli(relay, "stats").splitlines() if line.startswith("alerts "))
    # The 3 notices posted to the notices channel are the relay's messages, not the route's.
    assert alerts_row.split()[1:] == ["4", "0", "0", "0", "0", "0", "0", "0", "4", "4"]


def test_a_holder_that_gives_up_after_losing_its_lease_leaves_no_copy_behind(make_relay, copera):
    from bot.copera_client import SendResult

    relay = make_relay(ROUTES)
    send(relay, "ops", "evt-0")
    format_jobs(relay)
    dispatcher = relay.runtime.dispatcher
    assert dispatcher.outbox.claim("stalled", 0.05) == CHANNEL
    items = dispatcher.outbox.take(CHANNEL, "stalled", 10)
    time.sleep(0.1)
    assert dispatcher.outbox.recover() == 1  # the message waits again in the outbox ...
    # ... when the stalled holder's post comes back refused for good.
    dispatcher.settle(CHANNEL, "stalled", items, SendResult("permanent", 403, "Forbidden"))
    relay.work()
    assert copera.messages == []
    assert [markers([e["text"]]) for e in failed_entries(relay)] == [["evt-0"]]
    assert "waiting to post: 0 " in cli(relay, "stats")


def test_replay_sends_in_acceptance_order_as_new_messages(make_relay, copera):
    relay = make_relay(ROUTES, env={"RELAY_MAX_DELIVERY_AGE": "600"})
    copera.forbidden = {CHANNEL}
    for i in range(3):
        send(relay, "ops", f"evt-{i}")
        relay.work()
    last, newer, older = (e["id"] for e in failed_entries(relay))
    # Failures from an hour ago, older than the maximum age (set in storage rather than waited for,
    # so that a slow machine cannot make the fresh replays look old too).
    for raw_id, raw in relay.redis.hgetall("relay:failed").items():
        entry = json.loads(raw)
        entry["accepted_at"] -= 3600
        relay.redis.hset("relay:failed", raw_id, json.dumps(entry))
    send(relay, "dev", "evt-3")
    format_jobs(relay)  # accepted before the replay: goes first
    copera.forbidden = set()
    assert "queued 2 message(s) again" in cli(relay, "replay", newer, older)
    relay.work()
    assert [(m["channel"], markers([m["message"]])) for m in copera.messages] == [
        (OTHER_CHANNEL, ["evt-3"]), (CHANNEL, ["evt-0", "evt-1"])]
    copera.fail_next = 1  # a replayed message is retried like a new one, not given up as too old
    assert "queued 1 message(s) again" in cli(relay, "replay", last)
    relay.work()
    assert markers(copera.texts(CHANNEL)) == ["evt-0", "evt-1", "evt-2"]
    assert failed_entries(relay) == []


def _metric(text: str, name: str) -> float:
    found = re.findall(rf"^{re.escape(name)} (\S+)$", text, re.M)
    return float(found[0]) if found else 0.0


def test_delivery_counters_and_histories_account_for_every_post(make_relay, copera):
    relay = make_relay(ROUTES, env={"METRICS_TOKEN": "metrics-token-0123"})
    copera.throttle_next, copera.retry_after = 1, 1
    digest_ids = [send(relay, "ops", f"evt-{i}") for i in range(3)]
    dev_id = send(relay, "dev", "evt-3")  # due while the token is paused: waits for the limiter
    relay.work()
    copera.fail_next = 1
    retried_id = send(relay, "ops", "evt-4")
    relay.work()
    copera.forbidden = {CHANNEL}
    failed_id = send(relay, "ops", "evt-5")
    relay.work()
    assert markers(copera.texts()) == ["evt-3", "evt-0", "evt-1", "evt-2", "evt-4"]
    text = relay.client.get("/metrics", headers={"Authorization": "Bearer metrics-token-0123"}).get_data(as_text=True)
    assert _metric(text, 'relay_messages_posted_total{route="ops",status="204"}') == 4
    assert _metric(text, 'relay_messages_posted_total{route="dev",status="204"}') == 1
    assert _metric(text, 'relay_messages_failed_total{route="ops",status="403"}') == 1
    assert _metric(text, 'relay_delivery_retries_total{reason="rate_limited"}') == 1
    assert _metric(text, 'relay_delivery_retries_total{reason="error"}') == 1
    assert (_metric(text, "relay_digests_total"), _metric(text, "relay_digest_events_total")) == (1, 3)
    waits = _metric(text, "relay_ratelimiter_waits_total")
    assert waits >= 1 and 0 < _metric(text, "relay_ratelimiter_wait_seconds_total") <= waits * copera.retry_after
    assert _metric(text, "relay_failed_messages") == 1
    rows = {r["delivery_id"]: r for r in json.loads(cli(relay, "deliveries", "--json", "--limit", "50"))}
    assert {i: (rows[i]["outcome"], rows[i]["copera_status"], rows[i]["attempts"]) for i in rows} == {
        **{i: ("posted", "204", 2) for i in digest_ids}, dev_id: ("posted", "204", 1),
        retried_id: ("posted", "204", 2), failed_id: ("failed", "403", 1)}
    assert rows[failed_id]["reason"] == "Integration is not a participant of this channel"
    assert rows[retried_id]["reason"] == ""


def test_every_failed_attempt_is_counted_by_status_and_every_retry_by_reason(make_relay, copera):
    """The counters behind /metrics, with counts that tell the labels apart: two 503s and one 429
    before success, a digest of exactly two, a digest of three given up on at once."""
    relay = make_relay(ROUTES, env={"METRICS_TOKEN": "metrics-token-0123"})
    copera.fail_next = 2
    send(relay, "ops", "evt-0")
    relay.work()
    copera.throttle_next, copera.retry_after = 1, 1
    send(relay, "ops", "evt-1")
    relay.work()
    send(relay, "dev", "evt-2")
    send(relay, "dev", "evt-3")
    relay.work()
    copera.forbidden = {CHANNEL}
    for i in (4, 5, 6):
        send(relay, "ops", f"evt-{i}")
    relay.work()
    assert markers(copera.texts()) == ["evt-0", "evt-1", "evt-2", "evt-3"]
    text = relay.client.get("/metrics", headers={"Authorization": "Bearer metrics-token-0123"}).get_data(as_text=True)
    assert _metric(text, 'relay_post_attempts_failed_total{route="ops",status="503"}') == 2
    assert _metric(text, 'relay_post_attempts_failed_total{route="ops",status="429"}') == 1
    assert _metric(text, 'relay_post_attempts_failed_total{route="ops",status="403"}') == 3
    assert _metric(text, 'relay_delivery_retries_total{reason="error"}') == 2
    assert _metric(text, 'relay_delivery_retries_total{reason="rate_limited"}') == 1
    assert _metric(text, 'relay_messages_failed_total{route="ops",status="403"}') == 3
    assert (_metric(text, "relay_digests_total"), _metric(text, "relay_digest_events_total")) == (1, 2)


def test_a_post_copera_never_answered_is_counted_with_status_none(make_relay, copera):
    relay = make_relay(ROUTES, env={"METRICS_TOKEN": "metrics-token-0123", "COPERA_API_URL": f"http://127.0.0.1:{free_port()}"})
    send(relay, "ops", "evt-0")
    format_jobs(relay)
    relay.runtime.dispatcher.step("owner-1")
    text = relay.client.get("/metrics", headers={"Authorization": "Bearer metrics-token-0123"}).get_data(as_text=True)
    assert _metric(text, 'relay_post_attempts_failed_total{route="ops",status="none"}') == 1
    assert _metric(text, 'relay_delivery_retries_total{reason="error"}') == 1


def test_a_job_stuck_between_dequeue_and_start_is_run_again(make_relay, copera, monkeypatch):
    from workers import job_recovery

    monkeypatch.setattr(job_recovery, "STUCK_SECONDS", 0.2)
    relay = make_relay(ROUTES)
    send(relay, "ops", "evt-0")
    worker = SimpleWorker([QUEUE_NAME], connection=relay.redis, serializer=JSONSerializer)
    assert worker.dequeue_job_and_maintain_ttl(timeout=1)  # and the worker dies right there
    recovery = relay.runtime.job_recovery
    assert recovery.sweep() == 0  # first seen stuck: it may be on its way to the started registry
    time.sleep(0.1)
    assert recovery.sweep() == 0  # not yet stuck for long
    time.sleep(0.2)
    assert recovery.sweep() == 1
    relay.work()
    assert markers(copera.texts()) == ["evt-0"]
    assert recovery.sweep() == 0


def test_a_live_workers_running_job_is_left_alone(make_relay, copera):
    relay = make_relay(ROUTES)
    send(relay, "ops", "evt-0")
    worker = SimpleWorker([QUEUE_NAME], connection=relay.redis, serializer=JSONSerializer)
    job, _queue = worker.dequeue_job_and_maintain_ttl(timeout=1)
    worker.prepare_execution(job)
    worker.prepare_job_execution(job, remove_from_intermediate_queue=True)
    recovery = relay.runtime.job_recovery
    recovery.worker_name = worker.name
    recovery.start_heartbeat(every=0.05)  # the worker's own process says it is alive
    try:
        assert wait_for(lambda: relay.redis.ttl(f"relay:alive:{worker.name}") > 0, 5)
        assert recovery.sweep() == 0
    finally:
        recovery.stop()  # the process stops: its alive key goes with it
    assert recovery.sweep() == 1
    relay.work()
    assert markers(copera.texts()) == ["evt-0"]


def test_a_started_entry_whose_job_is_gone_is_dropped(make_relay):
    relay = make_relay(ROUTES)
    send(relay, "ops", "evt-0")
    _kill_mid_job(relay, perform=False)
    queue = Queue(QUEUE_NAME, connection=relay.redis, serializer=JSONSerializer)
    [job_id] = queue.started_job_registry.get_job_ids()
    # The job's hash expired (or an operator deleted it) while its started entry stayed behind.
    relay.redis.delete(queue.fetch_job(job_id).key)
    assert queue.started_job_registry.get_job_ids() == [job_id]
    assert relay.runtime.job_recovery.sweep() == 0
    assert queue.started_job_registry.get_job_ids() == []


def test_a_webhook_with_nothing_to_post_says_why(make_relay, copera):
    routes = {"ops": {**ROUTES["ops"], "min_severity": "warning"}}
    relay = make_relay(routes)
    quiet = send(relay, "ops", "evt-0", level="info")
    loud = send(relay, "ops", "evt-1", level="error")
    relay.work()
    relay.work()  # a second pass changes nothing
    assert markers(copera.texts()) == ["evt-1"]
    rows = {r["delivery_id"]: r for r in json.loads(cli(relay, "deliveries", "ops", "--json"))}
    assert {k: rows[quiet][k] for k in ("outcome", "messages", "channels", "text", "reason", "attempts")} == {
        "outcome": "nothing to post", "messages": "0", "channels": [], "text": "", "attempts": 0,
        "reason": "severity info is below this route's min_severity warning"}
    assert (rows[loud]["outcome"], rows[loud]["attempts"], rows[loud]["channels"]) == ("posted", 1, [CHANNEL])


def test_replay_all_of_an_empty_failed_list_queues_nothing(make_relay, copera):
    relay = make_relay(ROUTES)
    assert cli(relay, "replay", "--all").strip() == "queued 0 message(s) again"
    assert cli(relay, "failed").strip() == "no failed deliveries"
    relay.work()
    assert copera.messages == []


def test_stats_show_what_waits_and_the_age_of_the_oldest(make_relay):
    relay = make_relay(ROUTES)
    outbox = relay.runtime.outbox
    now = time.time()

    def item(i, channel, age):
        return OutboxItem(id=f"i{i}", delivery_id=f"d{i}", route="ops", channel=channel, text=f"evt-{i}",
                          accepted_at=now - age, score=now - age)

    outbox.push([item(0, CHANNEL, 50), item(1, CHANNEL, 5), item(2, OTHER_CHANNEL, 20), item(3, OTHER_CHANNEL, 1)])
    assert re.search(r"waiting to post: 4 +oldest waiting: (5\d) s", cli(relay, "stats"))
    assert outbox.claim("w", 60) == CHANNEL
    assert len(outbox.take(CHANNEL, "w", 1)) == 1  # in flight still waits
    assert re.search(r"waiting to post: 4 +oldest waiting: (5\d) s", cli(relay, "stats"))
    assert outbox.ack(CHANNEL, "w")
    assert re.search(r"waiting to post: 3 +oldest waiting: (2\d) s", cli(relay, "stats"))


def test_a_clock_ahead_elsewhere_never_shows_a_negative_age(make_relay):
    relay = make_relay(ROUTES)
    ahead = time.time() + 120  # accepted by a web process whose clock runs two minutes ahead
    relay.runtime.outbox.push([OutboxItem(id="i0", delivery_id="d0", route="ops", channel=CHANNEL, text="evt-0",
                                          accepted_at=ahead, score=ahead)])
    assert "waiting to post: 1   oldest waiting: 0 s" in cli(relay, "stats")


# -- a Redis failure at the moment a delivery settles ----------------------------------------------

def test_a_redis_failure_while_giving_up_leaves_the_message_waiting_not_lost(make_relay, copera, monkeypatch):
    """The failed entry, the release of the channel and the record are one transaction: when its
    commit fails, none of them happened, and the message is still there to be tried again."""
    relay = make_relay(ROUTES, env={"RELAY_LEASE_SECONDS": "2"})
    delivery_id = send(relay, "ops", "evt-0")
    format_jobs(relay)
    copera.forbidden = {CHANNEL}
    dispatcher = relay.runtime.dispatcher
    pipeline = dispatcher.redis.pipeline
    broken = [True]

    def pipeline_failing_once(*args, **kwargs):
        pipe = pipeline(*args, **kwargs)
        if broken and kwargs.get("transaction", args[0] if args else True):
            broken.clear()
            pipe.execute = lambda *a, **k: (_ for _ in ()).throw(redis_lib.ConnectionError("connection reset"))
        return pipe

    monkeypatch.setattr(dispatcher.redis, "pipeline", pipeline_failing_once)
    with pytest.raises(redis_lib.ConnectionError):
        dispatcher.drain(timeout=5)
    assert failed_entries(relay) == []
    assert dispatcher.outbox.backlog()[0] == 1
    outcome = {r["delivery_id"]: r["outcome"] for r in json.loads(cli(relay, "deliveries", "--json"))}
    assert outcome[delivery_id] != "failed"
    # Once the dead attempt's lease lapses, the message is tried again and ends on the list once.
    assert wait_for(lambda: dispatcher.outbox.recover() == 1, 5)
    dispatcher.drain(timeout=5)
    assert [markers([e["text"]]) for e in failed_entries(relay)] == [["evt-0"]]
    assert dispatcher.outbox.backlog()[0] == 0


def test_only_a_refused_channel_raises_a_notice_not_an_outage(make_relay, copera):
    """A message given up on because Copera stayed down is on the failed list; the channel-refused
    notice (check the channel id, add the integration) would be wrong advice there."""
    relay = make_relay(ROUTES, env={"RELAY_MAX_DELIVERY_AGE": "1"}, extra={"notices_channel": THIRD_CHANNEL})
    send(relay, "ops", "evt-0")
    format_jobs(relay)
    copera.mode = "down"
    time.sleep(1.2)
    relay.runtime.dispatcher.drain(timeout=5)
    assert [(markers([e["text"]]), e["copera_status"]) for e in failed_entries(relay)] == [(["evt-0"], 503)]
    copera.mode = "ok"
    relay.runtime.dispatcher.drain(timeout=5)
    assert copera.texts() == []


def test_replay_starts_over_when_the_failed_list_changes_under_it(make_relay, copera):
    """A worker adding a failure while a replay reads the list must neither lose that failure nor
    stop the replay half-way."""
    relay = make_relay(ROUTES)
    failed = relay.runtime.failed
    other = FailedList(redis_lib.Redis(connection_pool=relay.redis.connection_pool))
    envelope = {"delivery_id": "d-1", "route": "ops", "source": "generic", "event": "message",
                "payload": {"message": "evt-1"}, "received_at": time.time()}
    failed.add_webhook(envelope, "route removed")
    requeued = []

    def requeue(env, pipe):
        if not requeued:  # a concurrent failure lands between the read and the commit
            other.add_webhook({**envelope, "delivery_id": "d-2", "payload": {"message": "evt-2"}}, "route removed")
        requeued.append(env["delivery_id"])

    replayed, missing = failed.replay(["d-1"], relay.runtime.outbox, requeue)
    assert [e["id"] for e in replayed] == ["d-1"] and missing == []
    assert requeued == ["d-1", "d-1"]  # read again after the conflict, queued in the second transaction
    assert failed.ids() == ["d-2"]


# -- the delivery threads' lifecycle ----------------------------------------------------------------

def test_stop_lets_a_post_in_progress_finish_and_settle(make_relay, copera):
    """SIGTERM (a deploy, a dyno restart) stops the delivery threads: a post already on its way is
    waited for and settled, not left for the next worker to post again."""
    relay = make_relay(ROUTES)
    send(relay, "ops", "evt-0")
    format_jobs(relay)
    copera.delay = 1.0
    dispatcher = relay.runtime.dispatcher
    dispatcher.start(1)
    assert wait_for(lambda: relay.redis.exists(keys.lease(CHANNEL)), 5)
    dispatcher.stop(timeout=10)
    assert not any(t.is_alive() for t in dispatcher.threads)
    assert markers(copera.texts()) == ["evt-0"]
    assert dispatcher.outbox.backlog()[0] == 0


def test_stop_gives_up_waiting_at_its_timeout(make_relay, copera):
    """A SIGTERM must end within the platform's grace period even when Copera hangs: `stop(timeout)`
    waits for posts in progress at most `timeout` in all, not per thread, and the posts still settle."""
    relay = make_relay(ROUTES)
    send(relay, "ops", "evt-0")
    send(relay, "dev", "evt-1")
    format_jobs(relay)
    copera.delay = 3.0
    dispatcher = relay.runtime.dispatcher
    dispatcher.start(2)
    assert wait_for(lambda: relay.redis.exists(keys.lease(CHANNEL), keys.lease(OTHER_CHANNEL)) == 2, 5)
    started = time.monotonic()
    dispatcher.stop(timeout=0.5)
    assert time.monotonic() - started < 1.5  # two threads joined one second each would take 2 s
    for t in dispatcher.threads:
        t.join(10)
    assert sorted(markers(copera.texts())) == ["evt-0", "evt-1"]
    assert dispatcher.outbox.backlog()[0] == 0


def test_a_bug_in_one_step_does_not_stop_delivery(make_relay, copera, monkeypatch):
    """An unexpected exception in the delivery loop is logged and the loop carries on a second later."""
    relay = make_relay(ROUTES)
    dispatcher = relay.runtime.dispatcher
    step = dispatcher.step
    raised = []

    def flaky_step(owner):
        if not raised:
            raised.append(owner)
            raise RuntimeError("a bug")
        return step(owner)

    monkeypatch.setattr(dispatcher, "step", flaky_step)
    send(relay, "ops", "evt-0")
    format_jobs(relay)
    dispatcher.start(1)
    try:
        assert wait_for(lambda: copera.texts(), 10)
    finally:
        _stop(dispatcher, 1)
    assert raised and markers(copera.texts()) == ["evt-0"]


def test_limiter_waits_are_counted_with_their_seconds(make_relay):
    relay = make_relay(ROUTES, env={"METRICS_TOKEN": "metrics-token-0123"})
    relay.runtime.dispatcher.history.limiter_wait(0.25)
    relay.runtime.dispatcher.history.limiter_wait(0.5)
    text = relay.client.get("/metrics", headers={"Authorization": "Bearer metrics-token-0123"}).get_data(as_text=True)
    assert _metric(text, "relay_ratelimiter_waits_total") == 2
    assert _metric(text, "relay_ratelimiter_wait_seconds_total") == 0.75


def test_a_worker_without_a_heartbeat_stops_cleanly(make_relay):
    """A worker stopped before its heartbeat started (a crash at start-up) still removes its alive key."""
    relay = make_relay(ROUTES)
    recovery = JobRecovery(relay.redis, QUEUE_NAME)
    recovery.worker_name = "worker-without-heartbeat"
    recovery.beat()
    assert relay.redis.exists(keys.alive("worker-without-heartbeat"))
    recovery.stop()
    assert not relay.redis.exists(keys.alive("worker-without-heartbeat"))


def test_a_delivery_thread_outlives_a_redis_outage(make_relay, copera, monkeypatch):
    relay = make_relay(ROUTES)
    send(relay, "ops", "evt-0")
    format_jobs(relay)
    dispatcher = relay.runtime.dispatcher
    next_ready_in = dispatcher.outbox.next_ready_in
    outage = [redis_lib.ConnectionError("Redis is loading"), redis_lib.ConnectionError("connection refused")]

    def flaky_next_ready_in():
        if outage:
            raise outage.pop(0)
        return next_ready_in()

    monkeypatch.setattr(dispatcher.outbox, "next_ready_in", flaky_next_ready_in)
    dispatcher.start(1)
    try:
        # Backs off 2 s, then 4 s, then delivers.
        assert wait_for(lambda: markers(copera.texts()) == ["evt-0"], 15)
    finally:
        dispatcher.stop(timeout=10)


def test_a_message_two_holders_give_up_on_is_counted_failed_once(make_relay, copera):
    """A holder that stalled past its lease and the holder that took the message over both get
    Copera's 403: the failed list holds one entry, and stats and /metrics count one failure."""
    from bot.copera_client import SendResult

    relay = make_relay(ROUTES)
    send(relay, "ops", "evt-0")
    format_jobs(relay)
    dispatcher = relay.runtime.dispatcher
    assert dispatcher.outbox.claim("stalled", 0.05) == CHANNEL
    items = dispatcher.outbox.take(CHANNEL, "stalled", 10)
    time.sleep(0.1)
    assert dispatcher.outbox.recover() == 1
    assert dispatcher.outbox.claim("next", 30) == CHANNEL
    assert [i.id for i in dispatcher.outbox.take(CHANNEL, "next", 10)] == [i.id for i in items]
    refused = SendResult("permanent", 403, "Forbidden")
    dispatcher.settle(CHANNEL, "stalled", items, refused)
    dispatcher.settle(CHANNEL, "next", items, refused)
    assert [markers([e["text"]]) for e in failed_entries(relay)] == [["evt-0"]]
    header, *rows = cli(relay, "stats").splitlines()
    columns = header.split()[3:]  # after "route (last hour)"
    ops = dict(zip(columns, map(int, next(r for r in rows if r.startswith("ops ")).split()[1:]), strict=True))
    assert (ops["failed"], ops["post_attempts_failed"]) == (1, 2)
    assert b"1" == relay.redis.hget(keys.COUNTERS, "failed|ops|403")
