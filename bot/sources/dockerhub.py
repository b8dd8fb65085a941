"""`dockerhub`: Docker Hub repository webhooks (https://docs.docker.com/docker-hub/repos/manage/webhooks/).

Docker Hub posts one kind of payload, after an image is pushed to the repository: `push_data`
(who pushed which tag, and when) and `repository` (its `namespace/name` as `repo_name`, and
`repo_url`). Every delivery is the event "push". The `callback_url` is for validating webhook
chains; the relay does not call it, Docker Hub does not need it to deliver.

Docker Hub does not sign its webhooks and lets the URL be the only setting, so the secret goes in
the URL (`?token=`). It sends no delivery id either: retries are recognised by a hash of the body.
"""

from typing import ClassVar

from marshmallow import fields

from bot import markdown as md
from bot.message import Message
from bot.sources.base import Event, Lenient, Source


class PushData(Lenient):
    pusher = fields.Str(allow_none=True)
    tag = fields.Str(allow_none=True)
    pushed_at = fields.Raw(allow_none=True)


class Repository(Lenient):
    repo_name = fields.Str(required=True)
    repo_url = fields.Str(allow_none=True)
    namespace = fields.Str(allow_none=True)
    name = fields.Str(allow_none=True)
    is_private = fields.Raw(allow_none=True)


class PushSchema(Lenient):
    push_data = fields.Nested(PushData, required=True)
    repository = fields.Nested(Repository, required=True)
    callback_url = fields.Str(allow_none=True)


def format_push(p: dict) -> Message:
    repo = p["repository"]["repo_name"]
    data = p["push_data"]
    tag = (data.get("tag") or "").strip()
    # A push by digest names no tag; "latest" would claim one that may not have moved.
    ref = f"{repo}:{tag}" if tag else repo
    pusher = (data.get("pusher") or "").strip() or "someone"
    # The relay's messages lead with the severity's emoji, so the title carries no 📦 of its own.
    return Message(
        title=f"{ref} pushed by {pusher}",
        url=p["repository"].get("repo_url"),
        body=[md.fields([("Pull", md.code(f"docker pull {ref}"))])],
        repo=repo,
    )


class DockerHub(Source):
    name = "dockerhub"
    title = "Docker Hub"
    setup = (
        "Docker Hub repository → Webhooks → New webhook: Webhook URL https://<relay>/hooks/<route>?token=<secret>"
    )
    only_event = "push"
    schema = PushSchema
    events: ClassVar[dict[str, Event]] = {"push": Event(format_push)}


SOURCE = DockerHub()
