"""The delivery loop: takes due channels from the outbox, in priority order, within the shared
rate limit, and posts their pending messages to Copera.

Each thread repeats one step: wait until a channel is due, take a slot from the token's limiter,
lease the most urgent due channel, post what is pending there (one message, or a digest of
several), then acknowledge, retry later, or record a failure. Waiting for the limiter happens
before a channel is leased and is never counted as a failed attempt.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
import uuid

import redis

from bot.copera_client import SendResult
from bot.store import keys
from bot.store.failed import FailedList
from bot.store.limiter import RateLimiter
from bot.store.outbox import WAKE, Outbox, OutboxItem, direct_user
from workers import digest

log = logging.getLogger("relay.delivery")

BACKOFF_BASE = 2.0
BACKOFF_CAP = 300.0
SWEEP_EVERY = 5.0
IDLE_WAIT = 1.0


class LeaseKeeper:
    """Renews the leases of the posts this process has in progress, so that a slow Copera (a post
    can take as long as the client's timeout) never outlasts a lease and hands the channel's
    in-flight items to another worker mid-post. One thread serves every delivery thread.

    A stall of the whole process (GC, a starved machine) can still let a lease expire; the outbox
    then re-queues the items and refuses the stalled holder's acknowledgement, so the cost is a
    possible duplicate, never a loss."""

    def __init__(self, outbox: Outbox, lease_seconds: float):
        self.outbox = outbox
        self.lease_seconds = lease_seconds
        self.held: dict[tuple[str, str], bool] = {}
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None

    @contextlib.contextmanager
    def holding(self, channel: str, owner: str):
        """Keeps `owner`'s lease on `channel` fresh for the duration of the block."""
        with self.lock:
            self.held[(channel, owner)] = True
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, name="lease-keeper", daemon=True)
                self.thread.start()
        try:
            yield
        finally:
            with self.lock:
                self.held.pop((channel, owner), None)

    def renew_all(self) -> None:
        with self.lock:
            held = list(self.held)
        for channel, owner in held:
            try:
                if not self.outbox.renew(channel, owner, self.lease_seconds):
                    log.warning("lease on a channel expired during a post; its messages may be posted twice",
                                extra={"channel": channel})
            except redis.RedisError as exc:
                log.warning("could not renew a lease", extra={"channel": channel, "error": str(exc)})

    def _run(self) -> None:
        while True:
            time.sleep(self.lease_seconds / 3)
            with self.lock:
                if not self.held:
                    self.thread = None
                    return
            self.renew_all()


def backoff(attempt: int) -> float:
    """Exponential backoff with jitter: 1–2 s, 2–4 s, … capped at 150–300 s."""
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * (2 ** max(0, attempt - 1)))
    return random.uniform(ceiling / 2, ceiling)


class Dispatcher:
    def __init__(self, connection: redis.Redis, settings, client=None, notices=None, history=None, recovery=None):
        self.redis = connection
        self.settings = settings
        self.client = client
        self.notices = notices
        self.history = history
        self.recovery = recovery
        self.outbox = Outbox(connection)
        self.failed = FailedList(connection)
        self.limiter = RateLimiter(connection, settings.copera_token, settings.rate_limit_per_minute)
        self.leases = LeaseKeeper(self.outbox, settings.lease_seconds)
        self.stop_event = threading.Event()
        self.threads: list[threading.Thread] = []
        self._next_sweep = 0.0

    # -- lifecycle -------------------------------------------------------------------------
    def start(self, count: int) -> None:
        for i in range(count):
            owner = f"{uuid.uuid4().hex[:12]}-{i}"
            t = threading.Thread(target=self.run, args=(owner,), name=f"delivery-{i}", daemon=True)
            t.start()
            self.threads.append(t)

    def stop(self, timeout: float = 25.0) -> None:
        """Lets in-flight posts finish, then returns (used on SIGTERM)."""
        self.stop_event.set()
        deadline = time.time() + timeout
        for t in self.threads:
            t.join(max(0.0, deadline - time.time()))

    def run(self, owner: str) -> None:
        failures = 0
        while not self.stop_event.is_set():
            try:
                self.maybe_sweep()
                wait = self.step(owner)
                if wait > 0:
                    self._idle(wait)
                failures = 0
            except redis.RedisError as exc:
                failures += 1
                wait = min(30.0, 2.0**failures)
                log.warning("redis unavailable in delivery loop; retrying", extra={"error": str(exc), "wait": wait})
                self.stop_event.wait(wait)
            except Exception:  # a bug must not stop delivery for good; leases expire and recover
                log.exception("unexpected error in delivery loop")
                self.stop_event.wait(1.0)

    def _idle(self, seconds: float) -> None:
        """Sleeps up to `seconds`, woken early when a producer pushes new work."""
        seconds = min(seconds, IDLE_WAIT)
        if seconds >= 0.05:
            self.redis.blpop([WAKE], timeout=seconds)
        else:
            self.stop_event.wait(seconds)

    def maybe_sweep(self) -> None:
        now = time.time()
        if now < self._next_sweep:
            return
        self._next_sweep = now + SWEEP_EVERY
        if self.redis.set(keys.SWEEP_LOCK, "1", nx=True, px=int(SWEEP_EVERY * 1000)):
            moved = self.outbox.recover()
            if moved:
                log.warning("recovered in-flight messages of a dead worker", extra={"messages": moved})
            if self.recovery:
                self.recovery.sweep()

    # -- one step --------------------------------------------------------------------------
    def step(self, owner: str) -> float:
        """Delivers to at most one channel; returns how long to wait before the next step."""
        due_in = self.outbox.next_ready_in()
        if due_in is None:
            return IDLE_WAIT
        if due_in > 0:
            return due_in
        if not self.settings.dry_run:
            wait = self.limiter.acquire()
            if wait > 0:
                if self.history:
                    self.history.limiter_wait(wait)
                return wait
        channel = self.outbox.claim(owner, self.settings.lease_seconds)
        if channel is None:
            if not self.settings.dry_run:
                self.limiter.refund()
            return 0.02
        self.deliver(channel, owner)
        return 0.0

    def deliver(self, channel: str, owner: str) -> None:
        count = digest.select(self.outbox.peek(channel, digest.MAX_ITEMS))
        items = self.outbox.take(channel, owner, count) if count else []
        if items is None:  # the lease expired before the take (a stall): its next holder serves it
            return
        if not items:
            self.outbox.ack(channel, owner)
            return
        text = digest.compose(items)
        with self.leases.holding(channel, owner):
            result = self.post(channel, text, items[0].name)
        self.settle(channel, owner, items, result)

    def post(self, channel: str, text: str, name: str | None) -> SendResult:
        if self.settings.dry_run:
            log.info("dry run: would post", extra={"channel": channel, "sender_name": name, "text": text})
            return SendResult("ok", None, "dry run")
        user = direct_user(channel)
        if user is not None:
            return self.client.send_direct_message(user, text)
        return self.client.send_message(channel, text, name)

    def settle(self, channel: str, owner: str, items: list[dict], result: SendResult) -> None:
        ids = [i.delivery_id for i in items]
        extra = {"channel": channel, "delivery_ids": ids, "messages": len(items), "copera_status": result.status}
        if result.outcome == "ok":
            outcome = "dry_run" if self.settings.dry_run else "posted"
            # The release and the record in one transaction: a worker killed between them would
            # leave a posted message recorded as still retrying.
            pipe = self.redis.pipeline(transaction=True)
            self.outbox.ack(channel, owner, items, client=pipe)
            self.outbox.settle_uncertain(items, pipe)
            self._record(items, outcome, result, pipe)
            if not pipe.execute()[0]:
                log.warning("posted after the channel's lease expired; a copy may be posted again", extra=extra)
            log.info("posted" if outcome == "posted" else "dry run: not sent", extra=extra)
            return
        if result.outcome == "rate_limited":
            self.limiter.pause(result.retry_after or 60.0)
            self.outbox.retry_later(channel, owner, time.time() + (result.retry_after or 60.0))
            log.warning("copera rate limit hit; pausing token", extra={**extra, "retry_after": result.retry_after})
            self._record(items, "rate_limited", result)
            return
        if result.outcome == "permanent":
            self._give_up(channel, owner, items, result, extra)
            return
        attempt = self.outbox.attempts(channel)
        oldest = min(i.accepted_at for i in items)
        if time.time() - oldest > self.settings.max_delivery_age:
            self._give_up(channel, owner, items, result, extra, note=f" (gave up after {attempt} attempts)")
            return
        delay = backoff(attempt)
        self.outbox.retry_later(channel, owner, time.time() + delay)
        log.warning("post failed; will retry", extra={**extra, "attempt": attempt, "retry_in": round(delay, 1),
                                                     "reason": result.reason})
        self._record(items, "retrying", result)

    def _give_up(self, channel, owner, items, result: SendResult, extra, note: str = "") -> None:
        maybe_posted = self.outbox.uncertain(items)
        pipe = self.redis.pipeline(transaction=True)  # failed entry, release and record: all or none
        self.failed.add(items, result.status, (result.reason or "") + note, client=pipe, maybe_posted=maybe_posted)
        self.outbox.ack(channel, owner, items, client=pipe)
        self.outbox.settle_uncertain(items, pipe)
        self._record(items, "failed", result, pipe)
        self.failed.report_dropped(pipe.execute()[0])
        log.error("delivery failed for good", extra={**extra, "reason": result.reason + note})
        if self.notices and result.status in (403, 404) and direct_user(channel) is None:
            routes = sorted({i.route for i in items})
            for route in routes:
                self.notices.report(
                    f"channel-{result.status}",
                    route,
                    channel,
                    f"route {route}: Copera answered {result.status} for channel {channel} ({result.reason}). "
                    "Check the channel id and that the integration was added to the channel.",
                )

    def _record(self, items: list[OutboxItem], outcome: str, result: SendResult, client=None) -> None:
        if self.history:
            self.history.delivery(items, outcome, result, client)

    # -- for tests and tools ---------------------------------------------------------------
    def drain(self, timeout: float = 10.0, owner: str = "drain") -> None:
        """Runs steps in this thread until nothing is due (tests and `replay`)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            self.maybe_sweep()
            wait = self.step(owner)
            if self.outbox.next_ready_in() is None:
                return
            if wait > 0:
                time.sleep(min(wait, 0.2))
