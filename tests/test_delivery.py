"""The delivery engine against a real Redis and the Copera stand-in: order, digests, the shared
rate limit, 429s, retries, dead letters, notices and priority."""

from __future__ import annotations

import time

import pytest

from bot.store.failed import FailedList
from bot.store.limiter import RateLimiter
from tests.conftest import CHANNEL, OTHER_CHANNEL
from workers import dispatcher as dispatcher_module

SECRET = "s3cret-for-tests-0123"
BEARER = {"Authorization": f"Bearer {SECRET}"}
ROUTES = {"ops": {"source": "generic", "channel": CHANNEL, "secret": SECRET}}


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch):
    monkeypatch.setattr(dispatcher_module, "BACKOFF_BASE", 0.05)


def send(relay, n, route="ops", prefix="event", level="info"):
    for i in range(n):
        r = relay.post(route, {"message": f"{prefix} {i:03d}", "level": level}, BEARER)
        assert r.status_code == 202


def events_in(texts: list[str], prefix="event") -> list[str]:
    """Event markers in the order they appear across posts (single messages and digests)."""
    import re

    return [m for t in texts for m in re.findall(rf"(?:{prefix}) \d{{3}}", t)]


def test_burst_to_one_channel_arrives_in_order_as_one_digest(make_relay, copera):
    relay = make_relay(ROUTES)
    send(relay, 40)
    relay.work()
    texts = copera.texts(CHANNEL)
    assert len(texts) == 1
    assert texts[0].startswith("📦 **40 events** (digest, oldest first)")
    assert events_in(texts) == [f"event {i:03d}" for i in range(40)]


def test_digests_stay_under_the_copera_limit_and_keep_order(make_relay, copera):
    relay = make_relay(ROUTES)
    for i in range(30):
        relay.post("ops", {"title": f"event {i:03d}", "message": "x" * 900}, BEARER)
    relay.work()
    texts = copera.texts(CHANNEL)
    assert len(texts) >= 3
    assert all(len(t) <= 10_000 for t in texts)
    assert events_in(texts) == [f"event {i:03d}" for i in range(30)]


def test_limiter_never_exceeds_the_budget_with_a_stub_enforcing_it(make_relay, copera):
    copera.limit_per_minute = 100
    routes = {f"r{i}": {"source": "generic", "channel": f"{i:024x}", "secret": SECRET} for i in range(24)}
    relay = make_relay(routes)
    for i in range(24):
        relay.post(f"r{i}", {"message": f"event {i:03d}"}, BEARER)
    started = time.time()
    relay.work(timeout=60)
    assert len(copera.messages) == 24
    assert 429 not in copera.statuses()
    # burst of 10, then one post every ~0.69 s: 14 more posts take at least 9 s.
    assert time.time() - started > 9
    times = sorted(m["t"] for m in copera.messages)
    assert max(sum(1 for t in times if s <= t < s + 5) for s in times) <= 10 + 5 / 0.68


def test_limiter_math_holds_for_any_60_second_window(redis_url):
    import redis

    limiter = RateLimiter(redis.Redis.from_url(redis_url), "cp_key_x", 100)
    assert limiter.burst == 10
    # Worst case: a full burst, then one post per interval for the rest of the window.
    worst = limiter.burst + 60_000 // limiter.interval_ms
    assert worst <= 100


def test_copera_429_pauses_the_token_without_using_up_retries(make_relay, copera):
    copera.throttle_next = 2
    copera.retry_after = 1
    relay = make_relay(ROUTES)
    send(relay, 1)
    started = time.time()
    relay.work(timeout=10)
    assert copera.statuses() == [429, 429, 204]
    assert time.time() - started >= 2
    assert relay.redis.hget("relay:chstate:" + CHANNEL, "attempts") is None
    assert FailedList(relay.redis).count() == 0


def test_5xx_is_retried_with_backoff_and_order_is_kept(make_relay, copera):
    copera.fail_next = 3
    relay = make_relay(ROUTES)
    send(relay, 1)
    relay.work(timeout=0.5)  # first attempt fails
    send(relay, 2, prefix="later")
    relay.work(timeout=15)
    assert copera.statuses()[:3] == [503, 503, 503]
    texts = copera.texts(CHANNEL)
    assert events_in(texts, "event|later") == ["event 000", "later 000", "later 001"]


def test_copera_down_for_a_while_then_everything_arrives_in_order(make_relay, copera):
    copera.mode = "down"
    relay = make_relay(ROUTES)
    send(relay, 5)
    relay.work(timeout=1.5)
    send(relay, 5, prefix="more")
    copera.mode = "ok"
    relay.work(timeout=20)
    assert events_in(copera.texts(CHANNEL), "event|more") == [f"event {i:03d}" for i in range(5)] + [
        f"more {i:03d}" for i in range(5)
    ]


def test_forbidden_channel_goes_to_failed_list_once_with_reason_and_a_notice(make_relay, copera):
    copera.forbidden = {CHANNEL}
    relay = make_relay(ROUTES, extra={"notices_channel": OTHER_CHANNEL})
    send(relay, 1)
    relay.work()
    assert copera.statuses() == [403, 204]  # the refused post, then the notice
    failed = FailedList(relay.redis).list()
    assert len(failed) == 1
    assert failed[0]["copera_status"] == 403
    assert failed[0]["reason"] == "Integration is not a participant of this channel"
    notice = copera.texts(OTHER_CHANNEL)
    assert len(notice) == 1 and "route ops: Copera answered 403" in notice[0]
    send(relay, 1, prefix="again")
    relay.work()
    assert len(copera.texts(OTHER_CHANNEL)) == 1, "notices are rate-limited"


def test_failed_list_and_replay_through_the_cli(make_relay, copera):
    copera.forbidden = {CHANNEL}
    relay = make_relay(ROUTES)
    send(relay, 2)
    relay.work()
    runner = relay.app.test_cli_runner()
    listing = runner.invoke(args=["failed"])
    assert listing.exit_code == 0 and "status=403" in listing.output
    copera.forbidden = set()
    replay = runner.invoke(args=["replay", "--all"])
    assert replay.exit_code == 0 and "queued 2 message(s) again" in replay.output
    relay.work()
    assert events_in(copera.texts(CHANNEL)) == ["event 000", "event 001"]
    assert FailedList(relay.redis).count() == 0
    assert runner.invoke(args=["replay", "nope"]).exit_code == 1


def test_messages_older_than_the_max_age_are_given_up(make_relay, copera):
    copera.mode = "down"
    relay = make_relay(ROUTES, env={"RELAY_MAX_DELIVERY_AGE": "1"})
    send(relay, 1)
    relay.work(timeout=4)
    failed = FailedList(relay.redis).list()
    assert len(failed) == 1 and "gave up after" in failed[0]["reason"]
    assert copera.messages == []


def test_urgent_messages_go_first_when_the_budget_is_short(make_relay, copera):
    routes = {"info": {"source": "generic", "channel": CHANNEL, "secret": SECRET},
              "crit": {"source": "generic", "channel": OTHER_CHANNEL, "secret": SECRET}}
    relay = make_relay(routes, env={"COPERA_RATE_LIMIT_PER_MINUTE": "60"})
    limiter = relay.runtime.dispatcher.limiter
    while limiter.acquire() == 0:  # use up the burst
        pass
    send(relay, 1, route="info", prefix="info")
    time.sleep(0.05)
    send(relay, 1, route="crit", prefix="crit", level="critical")
    relay.work(timeout=10)
    assert [m["channel"] for m in copera.messages] == [OTHER_CHANNEL, CHANNEL]


def test_old_messages_are_not_starved_by_urgent_ones(redis_url):
    import redis as redis_lib

    from bot.message import Message
    from bot.store.outbox import Outbox, OutboxItem
    from workers.jobs import PRIORITY_BOOST, priority_boost

    outbox = Outbox(redis_lib.Redis.from_url(redis_url))
    now = time.time()
    boost = priority_boost(Message("x", severity="critical"))
    assert boost == PRIORITY_BOOST["critical"] and priority_boost(Message("x", severity="info")) == 0

    def item(channel, accepted_at, severity):
        score = accepted_at - priority_boost(Message("x", severity=severity))
        return OutboxItem(id=channel, delivery_id=channel, route="r", channel=channel, text="t", severity=severity,
                          accepted_at=accepted_at, score=score)

    # An info message that has waited longer than the boost goes before a critical one that just came.
    outbox.push([item(CHANNEL, now - boost - 1, "info"), item(OTHER_CHANNEL, now, "critical")])
    assert outbox.claim("w", 10) == CHANNEL
    # A fresher info message waits behind the critical one.
    third = "64b7f0c2e4b0a1a2b3c4d5ff"
    outbox.push([item(third, now - 5, "info")])
    assert outbox.claim("w", 10) == OTHER_CHANNEL
    assert outbox.claim("w", 10) == third


def test_a_sender_that_keeps_failing_authentication_raises_one_notice(make_relay, copera, caplog):
    relay = make_relay(ROUTES, extra={"notices_channel": OTHER_CHANNEL})
    with caplog.at_level("WARNING", logger="relay.notices"):
        for _ in range(25):
            assert relay.post("ops", {"message": "x"}, {"Authorization": "Bearer not-the-secret"}).status_code == 401
    relay.work()
    notices = copera.texts(OTHER_CHANNEL)
    assert len(notices) == 1
    assert "route ops: 10 requests in 10 minutes failed authentication" in notices[0]
    assert SECRET not in notices[0] and "not-the-secret" not in notices[0]
    assert sum("failed authentication" in r.getMessage() for r in caplog.records) == 1


def test_backlog_counts_pending_and_in_flight_and_ages_the_oldest(redis_url):
    import redis as redis_lib

    from bot.store.outbox import Outbox, OutboxItem

    outbox = Outbox(redis_lib.Redis.from_url(redis_url))
    assert outbox.backlog() == (0, 0.0)
    now = time.time()
    outbox.push([OutboxItem(id=str(i), delivery_id=str(i), route="r", channel=ch, text="t", accepted_at=now - age,
                            score=now - age)
                 for i, (ch, age) in enumerate([(CHANNEL, 30), (CHANNEL, 5), (OTHER_CHANNEL, 10)])])
    channel = outbox.claim("w", 10)
    outbox.take(channel, "w", 1)  # one message in flight still counts
    count, oldest = outbox.backlog()
    assert count == 3 and 29 < oldest < 40
