"""The naive design the worker is measured against: one RQ job per message that formats the
webhook and posts it with a reused `requests.Session`, run by a plain RQ SimpleWorker. No outbox,
no rate limiter, no history, no crash recovery."""

from __future__ import annotations

import os

import requests

from bot.message import render
from bot.sources import SOURCES

SESSION = requests.Session()


def post_message(source: str, event: str, payload: dict, channel: str) -> int:
    text = "\n\n".join(render(m) for m in SOURCES[source].format(event, payload))
    response = SESSION.post(f"{os.environ['COPERA_API_URL']}/chat/channel/{channel}/send-message",
                            json={"message": text}, timeout=(5, 15),
                            headers={"Authorization": f"Bearer {os.environ['COPERA_API_TOKEN']}"})
    return response.status_code
