"""Gogs: repository and organisation webhooks of type "Gogs".

Gitea began as a fork of Gogs and still sends the same payloads, so the schemas and formatters are
Gitea's; only the headers differ, and Gogs has no pull request review events.
"""

from bot.auth import HmacSignature
from bot.sources.gitea import EVENTS, Gitea


class Gogs(Gitea):
    name = "gogs"
    title = "Gogs"
    setup = (
        "Repository → Settings → Webhooks → Add Webhook → Gogs: Payload URL https://<relay>/hooks/<route>, "
        "Content type application/json, Secret <secret>"
    )
    auth = HmacSignature("X-Gogs-Signature")
    event_header = "X-Gogs-Event"
    delivery_headers = ("X-Gogs-Delivery",)
    events = EVENTS


SOURCE = Gogs()
