"""Gogs: repository and organisation webhooks of type "Gogs".

Gitea began as a fork of Gogs and still sends the same payloads, so the schemas and formatters are
Gitea's; only the headers differ, Gogs has no pull request review events, and a release links the
releases page, since Gogs has no page per release.
"""

from typing import ClassVar

from bot.auth import HmacSignature
from bot.message import Message
from bot.sources.base import Event
from bot.sources.gitea import EVENTS, Gitea, ReleaseSchema, event_row
from bot.sources.gitea import format_release as gitea_release


def format_release(p: dict) -> Message:
    """Gogs sends no release URL, and Gitea's /releases/tag/<tag> is a 404 there."""
    repo_url = p["repository"].get("html_url")
    release = dict(p["release"])
    if not release.get("html_url") and repo_url:
        release["html_url"] = f"{repo_url.rstrip('/')}/releases"
    return gitea_release({**p, "release": release})


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
    events: ClassVar[dict[str, Event]] = {**EVENTS, **dict([event_row("release", format_release, ReleaseSchema)])}


SOURCE = Gogs()
