"""Render workspace webhooks (https://render.com/docs/webhooks).

Render signs every delivery with Standard Webhooks (`webhook-id`, `webhook-timestamp`,
`webhook-signature`, see `bot.auth.StandardWebhooks`; the route secret is the `whsec_…` secret the
webhook shows) and sends a small envelope: `{"type": "deploy_ended", "timestamp": "…",
"data": {"id": "evj-…", "serviceId": "srv-…", "serviceName": "…", "status": "succeeded"}}`.
The event is the body's `type`; `webhook-id` is the dedup key (retries repeat it).

Render puts no commit, branch or author in the webhook (its docs suggest fetching the event from
the API for more), so deploy messages say which service, the outcome and link to the service's
events page on the dashboard. `server_failed` / `server_available` are an alert that fires and
resolves per service.
"""

from __future__ import annotations

from functools import partial
from typing import ClassVar

from marshmallow import fields, validate

from bot import markdown as md
from bot.auth import StandardWebhooks
from bot.sources._ci import build_message, outcome
from bot.sources._monitoring import alert
from bot.sources.base import Event, Lenient, Source

# Words Render uses that `outcome` reads differently: a deploy "succeeded" (it did not "pass" a
# test), and cron runs end "unsuccessful", which `outcome` does not know.
_RUN_OUTCOMES = {"succeeded": ("success", "succeeded"), "unsuccessful": ("error", "failed")}


class Envelope(Lenient):
    type = fields.Str(required=True, validate=validate.Length(min=1, max=200))
    timestamp = fields.Str(allow_none=True)


class Data(Lenient):
    id = fields.Str(allow_none=True)
    serviceId = fields.Str(required=True)
    serviceName = fields.Str(allow_none=True)
    status = fields.Str(allow_none=True)


class ServiceEvent(Lenient):
    data = fields.Nested(Data, required=True)


def service_url(service_id: str) -> str | None:
    """The service's events page on the Render dashboard, for the id kinds whose path is known."""
    kind = {"srv": "web", "crn": "cron"}.get(service_id.split("-", 1)[0])
    return f"https://dashboard.render.com/{kind}/{service_id}/events" if kind else None


def _service(d: dict) -> str:
    return d.get("serviceName") or d["serviceId"]


def format_run(what: str, result: tuple[str, str] | None, p: dict):
    """A build, deploy or cron run; `result` is fixed for "started" events, else read from `status`."""
    d = p["data"]
    status = str(d.get("status") or "")
    result = result or _RUN_OUTCOMES.get(status.lower()) or outcome(status)
    return build_message(
        what=f"{_service(d)} {what}",
        result=result,
        url=service_url(d["serviceId"]),
        repo=_service(d),
    )


def format_server(up: bool, p: dict):
    d = p["data"]
    return alert(
        f"{_service(d)} {'is available again' if up else 'server failed'}",
        up=up,
        url=service_url(d["serviceId"]),
        # Render does not grade the failure; a server that is down is an error, rules may raise it.
        severity="error",
        fields=[("Service", md.code(d["serviceId"])), ("Since" if not up else "At", md.inline(p.get("timestamp"), 60))],
        key=f"render:{d['serviceId']}",
        started_at=None if up else p.get("timestamp"),
        ended_at=p.get("timestamp") if up else None,
    )


class Render(Source):
    name = "render"
    title = "Render"
    setup = (
        "Render Dashboard → Integrations → Webhooks → Create Webhook: URL https://<relay>/hooks/<route>, pick the "
        "events; use the webhook's signing secret (whsec_…) as the route secret"
    )
    auth = StandardWebhooks()
    delivery_headers = ("webhook-id",)
    schema = Envelope
    events: ClassVar[dict[str, Event]] = {
        "build_started": Event(partial(format_run, "build", ("info", "started")), ServiceEvent),
        "build_ended": Event(partial(format_run, "build", None), ServiceEvent),
        "deploy_started": Event(partial(format_run, "deploy", ("info", "started")), ServiceEvent),
        "deploy_ended": Event(partial(format_run, "deploy", None), ServiceEvent),
        "cron_job_run_ended": Event(partial(format_run, "cron run", None), ServiceEvent),
        "server_failed": Event(partial(format_server, False), ServiceEvent),
        "server_available": Event(partial(format_server, True), ServiceEvent),
    }

    def detect_event(self, payload, headers):
        return payload["type"].strip() or None


SOURCE = Render()
