"""Railway project webhooks (https://docs.railway.com/observability/webhooks).

A project's webhook receives one JSON object per deployment status change, in every environment
of the project: `{"type": "Deployment.failed", "details": {…}, "resource": {…}, "severity":
"WARNING", "timestamp": "…"}`. `details` describes the deployment (`id`, `source`, `status`,
`branch`, `commitHash`, `commitAuthor`, `commitMessage`; the git fields are there when the
deployment was built from a repository), and `resource` names the `workspace`, `project`,
`environment` (with `isEphemeral` for PR environments), `service` and `deployment`, each with an
`id` and, but for the deployment, a `name`. The event is the body's `type`.

Railway's documentation shows only `Deployment.failed` as a `type` and says the others follow the
deployment states of https://docs.railway.com/deployments/reference (the guide
https://docs.railway.com/guides/alerts-crashes-failed-deploys also names the crashed state). The
other type words declared here (`deployed`, `redeployed`, `building`, `deploying`, `oom_killed`,
`slept`, `resumed`) are the ones receivers in the wild handle; they are not in Railway's docs.
Volume and CPU/RAM monitor alerts reach the same URL but have no documented payload, so they are
answered "not supported" rather than guessed at.

The payload carries no event id; a redelivery repeats the whole body, so the dedup key is the
type, the deployment and the timestamp. The title links to the deployment on the Railway
dashboard, built from the ids in `resource` (the URL shape the dashboard uses, not part of the
webhook docs).

Auth: Railway does not sign its webhooks or let you set a secret, so the route uses a shared
secret; put it in the URL as `?token=<secret>`.
"""

from __future__ import annotations

from functools import partial
from typing import ClassVar
from urllib.parse import quote

from marshmallow import fields, validate

from bot import markdown as md
from bot.sources._ci import build_message
from bot.sources.base import Event, Lenient, Source

# The word after "Deployment." -> (severity, how the title says it).
RESULTS = {
    "building": ("info", "is building"),
    "deploying": ("info", "is deploying"),
    "deployed": ("success", "succeeded"),
    "redeployed": ("success", "was redeployed"),
    "failed": ("error", "failed"),
    "crashed": ("error", "crashed"),
    "oom_killed": ("error", "was killed for running out of memory"),
    "slept": ("info", "went to sleep"),
    "resumed": ("success", "woke up"),
}


class Envelope(Lenient):
    type = fields.Str(required=True, validate=validate.Length(min=1, max=200))
    resource = fields.Dict(required=True)
    timestamp = fields.Str(allow_none=True)


class Named(Lenient):
    id = fields.Str(required=True)
    name = fields.Str(allow_none=True)


class Resource(Lenient):
    project = fields.Nested(Named, required=True)
    environment = fields.Nested(Named, allow_none=True)
    service = fields.Nested(Named, required=True)
    deployment = fields.Nested(Named, allow_none=True)


class Details(Lenient):
    id = fields.Str(allow_none=True)
    branch = fields.Str(allow_none=True)
    commitHash = fields.Str(allow_none=True)
    commitAuthor = fields.Str(allow_none=True)
    commitMessage = fields.Str(allow_none=True)


class DeploymentEvent(Lenient):
    resource = fields.Nested(Resource, required=True)
    details = fields.Nested(Details, allow_none=True)


def _name(entity: dict | None) -> str | None:
    return (entity or {}).get("name") or (entity or {}).get("id")


def _deployment_id(p: dict) -> str | None:
    return ((p["resource"].get("deployment") or {}).get("id")) or (p.get("details") or {}).get("id")


def dashboard_url(resource: dict, deployment_id: str | None) -> str:
    """The deployment's page on the Railway dashboard (the service's page when the id is missing)."""
    url = (f"https://railway.com/project/{quote(resource['project']['id'], safe='')}"
           f"/service/{quote(resource['service']['id'], safe='')}")
    query = []
    env = (resource.get("environment") or {}).get("id")
    if env:
        query.append(f"environmentId={quote(env, safe='')}")
    if deployment_id:
        query.append(f"id={quote(deployment_id, safe='')}")
    return url + ("?" + "&".join(query) if query else "")


def format_deployment(result: tuple[str, str], p: dict):
    """One status change of a service's deployment; `result` is (severity, verb) of the type."""
    resource, details = p["resource"], p.get("details") or {}
    environment = _name(resource.get("environment"))
    service = _name(resource["service"])
    what = f"{service} {environment} deployment" if environment else f"{service} deployment"
    return build_message(
        what=what,
        result=result,
        url=dashboard_url(resource, _deployment_id(p)),
        branch=details.get("branch"),
        sha=details.get("commitHash"),
        subject=details.get("commitMessage"),
        by=details.get("commitAuthor"),
        extra=[("Project", md.inline(_name(resource["project"]), 120))],
        repo=_name(resource["project"]),
    )


def _branch(p: dict) -> str | None:
    return (p.get("details") or {}).get("branch")


class Railway(Source):
    name = "railway"
    title = "Railway"
    setup = (
        "Railway project → Settings → Webhooks: URL https://<relay>/hooks/<route>?token=<route secret>, pick the "
        "deployment events, Save Webhook (Railway does not sign webhooks)"
    )
    schema = Envelope
    events: ClassVar[dict[str, Event]] = {
        f"Deployment.{word}": Event(partial(format_deployment, result), DeploymentEvent, branch=_branch)
        for word, result in RESULTS.items()
    }

    def detect_event(self, payload, headers):
        return payload["type"].strip() or None

    def payload_delivery_id(self, event, payload):
        deployment = _deployment_id(payload) if isinstance(payload.get("resource"), dict) else None
        stamp = payload.get("timestamp")
        if not deployment or not isinstance(stamp, str) or not stamp:
            return None
        return f"{event}:{deployment}:{stamp}"[:200]


SOURCE = Railway()
