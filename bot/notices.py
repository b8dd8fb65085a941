"""Misconfiguration notices: a route whose channel Copera refuses, or whose sender keeps failing
the signature check. Each is reported at most once an hour per route and channel, in the logs
and, when the routes file sets `notices_channel:`, as a message there."""

from __future__ import annotations

import logging
import time
import uuid

import redis

from bot.store import keys
from bot.store.outbox import NOTICE_PREFIX, Outbox, OutboxItem

log = logging.getLogger("relay.notices")
EVERY_SECONDS = 3600


class Notices:
    def __init__(self, connection: redis.Redis, notices_channel: str | None):
        self.redis = connection
        self.channel = notices_channel
        self.outbox = Outbox(connection)

    def report(self, kind: str, route: str, channel: str | None, text: str) -> bool:
        """Reports once per hour per (kind, route, channel); returns whether it was reported now."""
        key = keys.notice(kind, route, channel)
        if not self.redis.set(key, "1", nx=True, ex=EVERY_SECONDS):
            return False
        log.warning("notice: %s", text, extra={"notice": kind, "route": route, "channel": channel})
        if self.channel and self.channel != channel:
            now = time.time()
            self.outbox.push([OutboxItem(
                id=uuid.uuid4().hex, delivery_id=f"{NOTICE_PREFIX}{kind}", route=route, channel=self.channel,
                text=f"⚠️ **Copera Relay notice**\n\n{text}", name="Copera Relay", severity="warning",
                accepted_at=now, score=now)])
        return True
