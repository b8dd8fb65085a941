"""Escalation by direct message: a loop that sends the DMs of alerts whose deadline has passed.

The schedule lives in Redis (`bot.store.alerts`), so a worker restarted between an alert's firing
and its deadline loses nothing: whichever worker's loop sees the deadline first claims it, and the
claim and the queued DMs are one transaction, so each user gets the DM once. The DMs then go
through the outbox like channel posts: the shared limiter, retries, and the failed list.

The same loop posts the summary of a flapping alert that settled without a further change (a whole
flap window without a start), to the channels of its last message, claimed the same way: once.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid

import redis

from bot import lifecycle
from bot.store.alerts import AlertState, AlertStore
from bot.store.outbox import OutboxItem, dm_address

log = logging.getLogger("relay.escalation")

CHECK_EVERY = 1.0


class Escalator:
    def __init__(self, connection: redis.Redis, alerts: AlertStore | None = None, clock=time.time,
                 every: float = CHECK_EVERY):
        self.alerts = alerts or AlertStore(connection)
        self.clock = clock
        self.every = every
        self.stop_event = threading.Event()
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        self.thread = threading.Thread(target=self._run, name="escalations", daemon=True)
        self.thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self.stop_event.set()
        if self.thread is not None:
            self.thread.join(timeout)

    def _run(self) -> None:
        while not self.stop_event.wait(self.every):
            try:
                self.fire_due()
                self.post_settled()
            except redis.RedisError as exc:
                log.warning("redis unavailable for escalations; retrying", extra={"error": str(exc)})
            except Exception:  # a bug must not end escalations for good; the schedule is still there
                log.exception("unexpected error in the escalation loop")

    def fire_due(self) -> int:
        """Escalates every alert whose deadline has passed; returns how many DMs were queued."""
        now = self.clock()
        sent = 0
        for aid in self.alerts.due(now):
            items = self.alerts.escalate(aid, now, lambda state: _dms(state, now))
            if items:
                log.warning("alert escalated", extra={"route": items[0].route, "alert": aid, "users": len(items)})
            sent += len(items)
        return sent

    def post_settled(self) -> int:
        """Posts the summary of every flapping alert that has settled; returns how many were queued."""
        now = self.clock()
        posted = 0
        for aid in self.alerts.settling(now):
            items = self.alerts.settle(aid, now, lambda state: _summary(state, now))
            if items:
                log.info("flapping alert settled", extra={"route": items[0].route, "alert": aid})
            posted += len(items)
        return posted


def _summary(state: AlertState, now: float) -> tuple[AlertState, list[OutboxItem]] | None:
    settled = lifecycle.settle(state, now)
    if settled is None:
        return None
    new, text = settled
    # Recorded under the alert's last webhook, like its escalation.
    return new, [OutboxItem(id=uuid.uuid4().hex, delivery_id=state.last_delivery, route=state.route, channel=channel,
                            text=text, event="settled", status=state.status, accepted_at=now, score=now)
                 for channel in state.channels]


def _dms(state: AlertState, now: float) -> list[OutboxItem]:
    # Escalations outrank everything waiting: someone is being woken up.
    # Recorded under the webhook that started the firing, so its story shows who was told.
    return [OutboxItem(id=uuid.uuid4().hex, delivery_id=state.last_delivery, route=state.route,
                       channel=dm_address(user), text=state.escalation.text, event="escalation", severity="critical",
                       status="firing", accepted_at=now, score=now - 600.0)
            for user in state.escalation.users]
