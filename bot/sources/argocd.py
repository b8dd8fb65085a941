"""`argocd`: Argo CD Notifications through its webhook service, with the relay's template.

Docs: https://argo-cd.readthedocs.io/en/stable/operator-manual/notifications/services/webhook/
and https://argo-cd.readthedocs.io/en/stable/operator-manual/notifications/templates/

Argo CD's webhook service posts whatever body a template renders, so the relay defines the body.
Register the service and the template in `argocd-notifications-cm` (the README has the same):

    service.webhook.copera-relay: |
      url: https://<relay>/hooks/<route>
      headers:
      - name: Authorization
        value: Bearer $copera-relay-secret      # a key of argocd-notifications-secret
      - name: Content-Type
        value: application/json
    template.copera-relay: |
      webhook:
        copera-relay:
          method: POST
          body: |
            {
              "app": {{toJson .app.metadata.name}},
              "project": {{toJson .app.spec.project}},
              "url": "{{.context.argocdUrl}}/applications/{{.app.metadata.namespace}}/{{.app.metadata.name}}",
              "syncStatus": {{toJson .app.status.sync.status}},
              "healthStatus": {{toJson .app.status.health.status}},
              "operationPhase": {{toJson (dig "status" "operationState" "phase" "" .app)}},
              "message": {{toJson (dig "status" "operationState" "message" "" .app)}},
              "revision": {{toJson (dig "status" "sync" "revision" "" .app)}},
              "repoURL": {{toJson (dig "spec" "source" "repoURL" "" .app)}},
              "destination": {{toJson .app.spec.destination}},
              "initiatedBy": {{toJson (dig "status" "operationState" "operation" "initiatedBy" "username" "" .app)}},
              "finishedAt": {{toJson (dig "status" "operationState" "finishedAt" "" .app)}}
            }

(`toJson` and `dig` are Sprig functions, which templates may call: `toJson` keeps quotes in a
message from breaking the JSON, `dig` gives "" for a field an application lacks, such as the
operation of an app never synced or `spec.source` of a multi-source app), and add `copera-relay`
to the `send:` list of the triggers wanted (the catalog's on-deployed, on-sync-failed,
on-health-degraded…), subscribing applications with the annotation
`notifications.argoproj.io/subscribe.<trigger>.copera-relay: ""`.

One template serves every trigger, so the event is read from the application's state the way the
catalog's triggers test it: an operation that failed or errored is `sync-failed`, a degraded app
`health-degraded`, a running operation `sync-running`, a succeeded one `deployed` once the app is
healthy (else `sync-succeeded`), and an unknown sync status `sync-status-unknown`.

Auth: the service's `Authorization: Bearer` header (shared secret). Argo CD sends no delivery id;
the triggers' `oncePer` avoids repeats, and a retried body is recognised for ten minutes.
"""

from __future__ import annotations

from typing import ClassVar

from marshmallow import fields

from bot import markdown as md
from bot.message import Message
from bot.sources._ci import build_message, commit_url
from bot.sources.base import Event, Lenient, Source

OTHER = "other"
# event -> (severity, verb)
RESULTS = {
    "deployed": ("success", "deployed"),
    "sync-succeeded": ("success", "synced"),
    "sync-running": ("info", "is syncing"),
    "sync-failed": ("error", "sync failed"),
    "health-degraded": ("error", "is degraded"),
    "sync-status-unknown": ("warning", "sync status is unknown"),
}


class DestinationSchema(Lenient):
    server = fields.Str(allow_none=True)
    name = fields.Str(allow_none=True)
    namespace = fields.Str(allow_none=True)


class AppSchema(Lenient):
    app = fields.Str(required=True)
    project = fields.Str(allow_none=True)
    url = fields.Str(allow_none=True)
    syncStatus = fields.Str(allow_none=True)
    healthStatus = fields.Str(allow_none=True)
    operationPhase = fields.Str(allow_none=True)
    message = fields.Str(allow_none=True)
    revision = fields.Str(allow_none=True)
    repoURL = fields.Str(allow_none=True)
    destination = fields.Nested(DestinationSchema, allow_none=True)
    initiatedBy = fields.Str(allow_none=True)
    finishedAt = fields.Str(allow_none=True)


def event_of(p: dict) -> str:
    """The catalog trigger the application's state answers to, tested in the catalog's order of
    precedence (a failed sync outranks the health it left behind). A state that answers none (the
    template sent by on-created, or a trigger of the user's own) is `other`, answered "not
    supported" rather than refused: the payload is a good one."""
    phase = (p.get("operationPhase") or "").strip()
    health = (p.get("healthStatus") or "").strip()
    if phase in ("Failed", "Error"):
        return "sync-failed"
    if health == "Degraded":
        return "health-degraded"
    if phase == "Running":
        return "sync-running"
    if phase == "Succeeded":
        return "deployed" if health == "Healthy" else "sync-succeeded"
    if (p.get("syncStatus") or "").strip() == "Unknown":
        return "sync-status-unknown"
    return OTHER


def _destination(d: dict | None) -> str:
    d = d or {}
    cluster = d.get("name") or d.get("server")
    namespace = d.get("namespace")
    return md.inline(f"{cluster} / {namespace}" if cluster and namespace else cluster or namespace, 200)


def format_app(event: str, p: dict) -> Message:
    revision = p.get("revision") or ""
    return build_message(
        what=p["app"],
        result=RESULTS[event],
        url=p.get("url"),
        sha=revision,
        sha_url=commit_url(p.get("repoURL"), revision),
        by=p.get("initiatedBy"),
        extra=[
            ("Project", md.inline(p.get("project"), 120)),
            ("Destination", _destination(p.get("destination"))),
            ("Sync", md.inline(p.get("syncStatus"), 40)),
            ("Health", md.inline(p.get("healthStatus"), 40)),
        ],
        # Only a failed operation's message explains the event; a degraded app's says the sync went fine.
        blocks=[md.quote(p["message"], 1000)] if event == "sync-failed" and (p.get("message") or "").strip() else [],
        repo=p["app"],
    )


def _formatter(event: str):
    return lambda p: format_app(event, p)


class ArgoCD(Source):
    name = "argocd"
    title = "Argo CD"
    setup = (
        "argocd-notifications-cm: service.webhook.copera-relay with url https://<relay>/hooks/<route> and header "
        "Authorization: Bearer <secret>, plus the relay's template.copera-relay (see README) on your triggers"
    )
    schema = AppSchema
    events: ClassVar[dict[str, Event]] = {event: Event(_formatter(event)) for event in RESULTS}

    def detect_event(self, payload, headers):
        return event_of(payload)


SOURCE = ArgoCD()
