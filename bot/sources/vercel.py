"""Vercel deployment webhooks (https://vercel.com/docs/webhooks/webhooks-api).

Vercel posts `{"type": "deployment.succeeded", "id": <event id>, "createdAt": <ms>, "payload": {…}}`
where the payload holds the deployment (`id`, `name`, `url` without a scheme, `meta` with the
Git commit it was built from), `links.deployment` (its page on Vercel, with the build log),
`target` (`production`, or null for a preview) and the project. The event is told apart by the
body's `type`; redeliveries repeat the top-level `id`, which is the dedup key.

Auth: `x-vercel-signature` is the hex HMAC-SHA1 of the raw body keyed with the webhook's secret
(the integration's client secret for integration webhooks).
"""

from functools import partial
from typing import ClassVar

from marshmallow import fields, validate

from bot import markdown as md
from bot.auth import HmacSignature
from bot.sources._ci import build_message
from bot.sources.base import Event, Lenient, Source

RESULTS = {
    "deployment.created": ("info", "started"),
    "deployment.succeeded": ("success", "succeeded"),
    "deployment.error": ("error", "failed"),
    "deployment.canceled": ("warning", "was canceled"),
    "deployment.promoted": ("success", "was promoted"),
}


class Envelope(Lenient):
    type = fields.Str(required=True, validate=validate.Length(min=1, max=200))
    id = fields.Str(allow_none=True)
    payload = fields.Dict(required=True)


class Deployment(Lenient):
    id = fields.Str(required=True)
    name = fields.Str(allow_none=True)
    url = fields.Str(allow_none=True)
    meta = fields.Dict(allow_none=True)


class Links(Lenient):
    deployment = fields.Str(allow_none=True)
    project = fields.Str(allow_none=True)


class DeploymentPayload(Lenient):
    deployment = fields.Nested(Deployment, required=True)
    links = fields.Nested(Links, allow_none=True)
    target = fields.Str(allow_none=True)
    name = fields.Str(allow_none=True)


class DeploymentEvent(Lenient):
    payload = fields.Nested(DeploymentPayload, required=True)


def _meta(d: dict) -> dict:
    meta = d.get("meta")
    return {k: v for k, v in meta.items() if isinstance(v, str)} if isinstance(meta, dict) else {}


def _commit_url(meta: dict) -> str | None:
    sha, org, repo = meta.get("githubCommitSha"), meta.get("githubOrg"), meta.get("githubRepo")
    return f"https://github.com/{org}/{repo}/commit/{sha}" if sha and org and repo else None


def format_deployment(result: tuple[str, str], p: dict):
    """The deployment as a message; `result` is the (severity, verb) of the event.

    The title links to the deployment's page on Vercel (the build log); a deployment that is
    live also gets its URL, a failed one does not (there is nothing to open).
    """
    inner = p["payload"]
    d = inner["deployment"]
    meta = _meta(d)
    project = d.get("name") or inner.get("name") or d["id"]
    target = inner.get("target") or "preview"
    links = inner.get("links") or {}
    live = f"https://{d['url']}" if d.get("url") and not str(d["url"]).startswith("http") else d.get("url")
    return build_message(
        what=f"{project} {target} deployment",
        result=result,
        url=links.get("deployment") or live,
        branch=meta.get("githubCommitRef") or meta.get("gitlabCommitRef") or meta.get("bitbucketCommitRef"),
        sha=meta.get("githubCommitSha") or meta.get("gitlabCommitSha") or meta.get("bitbucketCommitSha"),
        sha_url=_commit_url(meta),
        subject=meta.get("githubCommitMessage") or meta.get("gitlabCommitMessage")
        or meta.get("bitbucketCommitMessage"),
        by=meta.get("githubCommitAuthorLogin") or meta.get("gitlabCommitAuthorLogin")
        or meta.get("bitbucketCommitAuthorName"),
        extra=[("URL", md.link(live, live) if live and result[0] == "success" else None)],
        repo=project,
    )


class Vercel(Source):
    name = "vercel"
    title = "Vercel"
    setup = (
        "Vercel team → Settings → Webhooks → Create Webhook: pick the deployment events and projects, "
        "endpoint https://<relay>/hooks/<route>; use the secret Vercel shows once as the route secret"
    )
    auth = HmacSignature("x-vercel-signature", digest="sha1")
    schema = Envelope
    events: ClassVar[dict[str, Event]] = {
        event: Event(partial(format_deployment, result), DeploymentEvent) for event, result in RESULTS.items()
    }

    def detect_event(self, payload, headers):
        return payload["type"].strip() or None

    def payload_delivery_id(self, event, payload):
        value = payload.get("id")
        return str(value)[:200] if isinstance(value, str) and value else None

    def branch(self, event, payload):
        return _meta(payload["payload"]["deployment"]).get("githubCommitRef")


SOURCE = Vercel()
