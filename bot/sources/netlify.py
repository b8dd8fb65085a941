"""Netlify deploy notifications (outgoing webhooks of a site).

Netlify names the event in the `X-Netlify-Event` header and sends the deploy itself as the body:
site name and URLs, branch, commit, the deploy context (production, deploy preview, branch deploy)
and, for failures, the error message.
"""

from functools import partial
from typing import ClassVar

from marshmallow import fields

from bot import markdown as md
from bot.sources._ci import build_message
from bot.sources.base import Event, Lenient, Source

# Netlify's events say what happened to the deploy, so each has its own (severity, verb).
RESULTS = {
    "deploy_building": ("info", "is building"),
    "deploy_created": ("success", "is ready"),
    "deploy_failed": ("error", "failed"),
    "deploy_locked": ("info", "was locked"),
    "deploy_unlocked": ("info", "was unlocked"),
}


class Deploy(Lenient):
    id = fields.Str(required=True)
    name = fields.Str(required=True)
    url = fields.Str(allow_none=True)
    admin_url = fields.Str(allow_none=True)
    deploy_ssl_url = fields.Str(allow_none=True)
    context = fields.Str(allow_none=True)
    branch = fields.Str(allow_none=True)
    commit_ref = fields.Str(allow_none=True)
    commit_url = fields.Str(allow_none=True)
    title = fields.Str(allow_none=True)
    committer = fields.Str(allow_none=True)
    review_id = fields.Int(allow_none=True)
    review_url = fields.Str(allow_none=True)
    error_message = fields.Str(allow_none=True)


def format_deploy(result: tuple[str, str], p: dict):
    """The deploy as a message; `result` is the (severity, verb) of the event that announced it.

    A failed deploy links to its page on Netlify (the build log); any other links to the site, or to
    the preview for deploy previews and branch deploys.
    """
    context = (p.get("context") or "production").replace("-", " ")
    site = p.get("url") if context == "production" else p.get("deploy_ssl_url") or p.get("url")
    deploy_page = f"{p['admin_url']}/deploys/{p['id']}" if p.get("admin_url") else None
    failed = result[0] == "error"
    review = md.link(f"#{p['review_id']}", p.get("review_url")) if p.get("review_id") is not None else None
    return build_message(
        what=f"{p['name']} deploy" if context == "production" else f"{p['name']} {context}",
        result=result,
        url=deploy_page if failed else site or deploy_page,
        branch=p.get("branch"),
        sha=p.get("commit_ref"),
        sha_url=p.get("commit_url"),
        subject=p.get("title"),
        by=p.get("committer"),
        extra=[
            ("Site" if context == "production" else "Preview", md.link(site, site) if failed and site else None),
            ("Pull request", review),
        ],
        blocks=[md.quote(p["error_message"], 500)] if p.get("error_message") else [],
        repo=p["name"],
        # Only a deploy that ended took a length of time; locking one is not news about its build.
        took=p.get("deploy_time") if result[0] in ("success", "error") and isinstance(p.get("deploy_time"), int)
        else None,
    )


class Netlify(Source):
    name = "netlify"
    title = "Netlify"
    setup = (
        "Netlify site → Site configuration → Notifications → Deploy notifications → Add notification → "
        "HTTP POST request: URL https://<relay>/hooks/<route>?token=<secret> (one per deploy event)"
    )
    event_header = "X-Netlify-Event"
    events: ClassVar[dict[str, Event]] = {
        event: Event(partial(format_deploy, result), Deploy) for event, result in RESULTS.items()
    }

    def branch(self, event, payload):
        return payload.get("branch")


SOURCE = Netlify()
