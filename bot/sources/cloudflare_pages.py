"""Cloudflare Pages deployments, through Cloudflare Notifications' generic webhooks.

Cloudflare Pages has no webhook of its own: its "Pages project updates" notification (alert type
`pages_event_alert`, filtered by project, environment `ENVIRONMENT_PRODUCTION` /
`ENVIRONMENT_PREVIEW` and event `EVENT_DEPLOYMENT_STARTED` / `_SUCCESS` / `_FAILED`) is sent to a
webhook destination (https://developers.cloudflare.com/notifications/get-started/configure-webhooks/).

Every notification has the documented envelope
(https://developers.cloudflare.com/notifications/reference/webhook-payload-schema/): `name` and
`policy_name` (the notification policy), `text` (a human-readable description with the values
filled in), `data` (alert-specific), `ts` (Unix seconds), `account_id`, `policy_id`, `alert_type`,
`alert_correlation_id` and `alert_event`. The event is `alert_type`; only `pages_event_alert` is
supported here, other Cloudflare alerts sent to the same destination are answered "not
supported". "Save and Test" posts `{"text": "Hello World! …"}` alone, which is acknowledged and
not posted.

Cloudflare documents no example of a Pages alert's `data`, so the message is built on `text`,
which is always there and says what happened. When `data` carries the deployment's details under
the names the Pages API uses (`project_name`, `environment`, `branch`, `commit_hash`,
`commit_message`, `deployment_id`, `deployment_url`, and `event` spelled as the policy filter's
`EVENT_DEPLOYMENT_*` values) they are shown as fields and the outcome is read from `event`;
otherwise the outcome is read from the words of `text` ("failed", "succeeded"/"success",
"started"). The title links to the deployment on the Cloudflare dashboard when the account,
project and deployment ids are known. Redeliveries repeat `alert_correlation_id` and `ts`, which
together are the dedup key.

Auth: give the webhook destination a secret; Cloudflare sends it verbatim in the `cf-webhook-auth`
header of every request, and requests without it or with another value are refused.
"""

from __future__ import annotations

import re
from typing import ClassVar
from urllib.parse import quote

from marshmallow import fields, validate

from bot import markdown as md
from bot.auth import TokenHeader
from bot.sources._ci import build_message
from bot.sources.base import Event, Lenient, Source

PAGES_ALERT = "pages_event_alert"
TEST = "test"

# The policy filter's event values -> (severity, how the title says it).
EVENTS = {
    "EVENT_DEPLOYMENT_STARTED": ("info", "started"),
    "EVENT_DEPLOYMENT_SUCCESS": ("success", "succeeded"),
    "EVENT_DEPLOYMENT_FAILED": ("error", "failed"),
}
# Read from `text` when `data` has no event, the first match wins (a failure may mention success).
_WORDS = (
    (re.compile(r"\bfail(ed|ure)?\b", re.I), ("error", "failed")),
    (re.compile(r"\b(succeeded|success(ful)?)\b", re.I), ("success", "succeeded")),
    (re.compile(r"\bstarted\b", re.I), ("info", "started")),
)
_ENVIRONMENTS = {"ENVIRONMENT_PRODUCTION": "production", "ENVIRONMENT_PREVIEW": "preview"}


class Envelope(Lenient):
    text = fields.Str(required=True, validate=validate.Length(max=10_000))
    alert_type = fields.Str(allow_none=True)
    data = fields.Dict(allow_none=True)


class PagesAlert(Lenient):
    name = fields.Str(allow_none=True)
    policy_name = fields.Str(allow_none=True)
    account_id = fields.Str(allow_none=True)
    ts = fields.Int(allow_none=True)
    alert_correlation_id = fields.Str(allow_none=True)


def _data(p: dict) -> dict:
    data = p.get("data")
    return {k: v for k, v in data.items() if isinstance(v, str) and v.strip()} if isinstance(data, dict) else {}


def result_of(p: dict) -> tuple[str, str]:
    """(severity, verb): from `data.event` when Cloudflare sent it, else from the words of `text`."""
    event = _data(p).get("event", "").upper()
    if event in EVENTS:
        return EVENTS[event]
    for pattern, result in _WORDS:
        if pattern.search(p["text"]):
            return result
    return ("info", "was updated")


def dashboard_url(account: str | None, project: str | None, deployment: str | None) -> str | None:
    if not (account and project and deployment):
        return None
    return (f"https://dash.cloudflare.com/{quote(account, safe='')}/pages/view/{quote(project, safe='')}"
            f"/{quote(deployment, safe='')}")


def format_pages(p: dict):
    """A Pages deployment notification: the outcome, what `data` says of it, and Cloudflare's text."""
    data = _data(p)
    project = data.get("project_name")
    environment = _ENVIRONMENTS.get(data.get("environment", "").upper(), data.get("environment"))
    if project:
        what = f"{project} {environment} deployment" if environment else f"{project} deployment"
    else:
        what = f"Cloudflare Pages deployment ({p.get('policy_name') or p.get('name') or 'Pages project updates'})"
    result = result_of(p)
    live = data.get("deployment_url")
    return build_message(
        what=what,
        result=result,
        url=dashboard_url(p.get("account_id"), project, data.get("deployment_id")) or live,
        branch=data.get("branch"),
        sha=data.get("commit_hash"),
        subject=data.get("commit_message"),
        extra=[("URL", md.link(live, live) if md.safe_url(live) and result[0] == "success" else None)],
        blocks=[md.quote(p["text"], limit=1000, max_lines=8)],
        repo=project,
    )


class CloudflarePages(Source):
    name = "cloudflare-pages"
    title = "Cloudflare Pages"
    setup = (
        "Cloudflare dashboard → Notifications → Destinations → Webhooks → Create: URL https://<relay>/hooks/<route>, "
        "Secret = the route secret, Save and Test; then Notifications → Add → Pages → Project updates, pick the "
        "projects, environments and events, and this webhook"
    )
    auth = TokenHeader("cf-webhook-auth")
    schema = Envelope
    events: ClassVar[dict[str, Event]] = {
        PAGES_ALERT: Event(format_pages, PagesAlert, branch=lambda p: _data(p).get("branch")),
    }
    ignored: ClassVar[dict[str, str]] = {
        TEST: "Cloudflare's test message (Save and Test): the webhook destination works",
    }

    def detect_event(self, payload, headers):
        alert_type = payload.get("alert_type")
        if isinstance(alert_type, str) and alert_type.strip():
            return alert_type.strip()
        return TEST if set(payload) == {"text"} else None

    def payload_delivery_id(self, event, payload):
        correlation, ts = payload.get("alert_correlation_id"), payload.get("ts")
        if not isinstance(correlation, str) or not correlation or not isinstance(ts, int):
            return None
        return f"{correlation}:{ts}"[:200]


SOURCE = CloudflarePages()
