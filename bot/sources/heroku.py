"""Heroku deploy hooks (the HTTP add-on of `heroku addons:create deployhooks:http`).

Heroku posts a plain form after each deploy: `app`, `user`, `url`, `head`/`head_long` (the commit),
`release` and `git_log`, the deployed commits as `  * Author: subject` lines. Every post is one
event, "deploy".
"""

from typing import ClassVar

from marshmallow import fields

from bot import markdown as md
from bot.sources._ci import build_message
from bot.sources.base import Event, Lenient, Source

MAX_COMMITS = 10


class HerokuSchema(Lenient):
    app = fields.Str(required=True)
    user = fields.Str(allow_none=True)
    url = fields.Str(allow_none=True)
    head = fields.Str(allow_none=True)
    head_long = fields.Str(allow_none=True)
    release = fields.Str(allow_none=True)
    git_log = fields.Str(allow_none=True)


def format_deploy(p: dict):
    commits = [line.strip().removeprefix("* ") for line in (p.get("git_log") or "").splitlines() if line.strip()]
    release = f" {p['release']}" if p.get("release") else ""
    return build_message(
        what=f"{p['app']}{release}",
        result=("success", "deployed"),
        url=p.get("url"),
        sha=p.get("head_long") or p.get("head"),
        by=p.get("user"),
        blocks=[md.bullets([md.inline(c) for c in commits], limit=MAX_COMMITS)] if commits else [],
        repo=p["app"],
    )


class Heroku(Source):
    name = "heroku"
    only_event = "deploy"
    title = "Heroku"
    setup = "heroku addons:create deployhooks:http --url='https://<relay>/hooks/<route>?token=<secret>'"
    schema = HerokuSchema
    form_fields_payload = True
    events: ClassVar[dict[str, Event]] = {"deploy": Event(format_deploy)}


SOURCE = Heroku()
