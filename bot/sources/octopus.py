"""`octopus`: Octopus Deploy subscription webhooks (deployments, interruptions, target health).

Docs: https://octopus.com/docs/administration/managing-infrastructure/subscriptions

A subscription posts one audit event per request: `{"Timestamp", "EventType":
"SubscriptionPayload", "Payload": {"ServerUri", "ServerAuditUri", "Subscription", "Event"}}`. The
event's `Category` is the event here (`DeploymentSucceeded`, `DeploymentFailed`,
`ManualInterventionInterruptionRaised`, `MachineUnhealthy`…). Octopus names what an event is
about in its `Message` and marks each name with a `MessageReferences` entry (the document id and
where the name sits in the message), so the project, release, environment, tenant and target are
read from there, and `RelatedDocumentIds` gives the server task whose log the message links.

Deployments read like other deploys (what, which release, where, who, outcome); target health
is an alert, unhealthy firing and healthy resolved. Octopus cannot sign: the subscription's payload
URL carries `?token=<secret>` (or a header `Authorization: Bearer <secret>`). Redeliveries are
recognised by the event id.
"""

from __future__ import annotations

from typing import ClassVar

from marshmallow import fields

from bot import markdown as md
from bot.message import Message
from bot.sources._ci import build_message
from bot.sources._monitoring import alert
from bot.sources.base import Event, Lenient, Source

# Deployment categories -> (severity, how the title says it; {env} is the environment).
DEPLOYMENTS = {
    "DeploymentQueued": ("info", "is queued for {env}"),
    "DeploymentStarted": ("info", "is deploying to {env}"),
    "DeploymentSucceeded": ("success", "deployed to {env}"),
    "DeploymentFailed": ("error", "failed to deploy to {env}"),
    "ManualInterventionInterruptionRaised": ("warning", "awaits manual intervention in {env}"),
    "GuidedFailureInterruptionRaised": ("error", "awaits a guided failure decision in {env}"),
}
# Target health categories -> whether the target is healthy again.
MACHINES = {"MachineUnhealthy": False, "MachineHealthy": True}


class ReferenceSchema(Lenient):
    ReferencedDocumentId = fields.Str(required=True)
    StartIndex = fields.Int(required=True, strict=True)
    Length = fields.Int(required=True, strict=True)


class EventSchema(Lenient):
    Id = fields.Str(required=True)
    Category = fields.Str(required=True)
    Message = fields.Str(required=True)
    Username = fields.Str(allow_none=True)
    IsService = fields.Bool(allow_none=True)
    Occurred = fields.Str(allow_none=True)
    SpaceId = fields.Str(allow_none=True)
    RelatedDocumentIds = fields.List(fields.Str(), allow_none=True)
    MessageReferences = fields.List(fields.Nested(ReferenceSchema), allow_none=True)
    Comments = fields.Str(allow_none=True)
    Details = fields.Str(allow_none=True)


class PayloadSchema(Lenient):
    ServerUri = fields.Str(allow_none=True)
    ServerAuditUri = fields.Str(allow_none=True)
    Event = fields.Nested(EventSchema, required=True)


class SubscriptionSchema(Lenient):
    EventType = fields.Str(allow_none=True)
    Payload = fields.Nested(PayloadSchema, required=True)


def references(event: dict) -> dict[str, str]:
    """Document kind ("Projects", "Releases", "Environments"…) -> the first name the message gives it."""
    message = event["Message"]
    names: dict[str, str] = {}
    for ref in event.get("MessageReferences") or []:
        kind = ref["ReferencedDocumentId"].split("-")[0]
        start, length = ref["StartIndex"], ref["Length"]
        if kind not in names and 0 <= start and 0 < length and start + length <= len(message):
            names[kind] = message[start : start + length]
    return names


def _task_url(p: dict) -> str | None:
    """The server task of the event (its log), else the audit page filtered to the event."""
    payload = p["Payload"]
    event = payload["Event"]
    server = (payload.get("ServerUri") or "").rstrip("/")
    task = next((d for d in event.get("RelatedDocumentIds") or [] if d.startswith("ServerTasks-")), None)
    if task and md.safe_url(server):
        space = f"{event['SpaceId']}/" if event.get("SpaceId") else ""
        return f"{server}/app#/{space}tasks/{task}"
    return payload.get("ServerAuditUri")


def _by(event: dict) -> str | None:
    return None if event.get("IsService") else event.get("Username")


def format_deployment(category: str, p: dict) -> Message:
    event = p["Payload"]["Event"]
    names = references(event)
    severity, verb = DEPLOYMENTS[category]
    project = names.get("Projects") or "Deployment"
    release = names.get("Releases")
    return build_message(
        what=f"{project} {release}" if release else project,
        result=(severity, verb.format(env=names.get("Environments") or "an environment")),
        url=_task_url(p),
        by=_by(event),
        extra=[("Tenant", md.inline(names.get("Tenants"), 120))],
        blocks=[md.text(event["Message"], 500)],
        repo=project,
    )


def format_machine(category: str, p: dict) -> Message:
    event = p["Payload"]["Event"]
    names = references(event)
    healthy = MACHINES[category]
    target = names.get("Machines") or "Deployment target"
    return alert(
        f"{target} is {'healthy' if healthy else 'unhealthy'}",
        up=healthy,
        url=_task_url(p),
        severity="warning",
        fields=[("At", md.inline(event.get("Occurred"), 40))],
        details=[md.text(event["Message"], 500)],
    )


def _formatter(category: str):
    format_ = format_machine if category in MACHINES else format_deployment
    return lambda p: format_(category, p)


class Octopus(Source):
    name = "octopus"
    title = "Octopus Deploy"
    setup = (
        "Octopus → Configuration → Subscriptions → Add subscription: Payload URL "
        "https://<relay>/hooks/<route>?token=<secret>, event categories Deployment started/succeeded/failed, "
        "Manual intervention required, Machine health changes"
    )
    schema = SubscriptionSchema
    events: ClassVar[dict[str, Event]] = {
        category: Event(_formatter(category)) for category in [*DEPLOYMENTS, *MACHINES]
    }

    def detect_event(self, payload, headers):
        return payload["Payload"]["Event"]["Category"].strip() or None

    def payload_delivery_id(self, event, payload):
        return payload["Payload"]["Event"]["Id"][:150]


SOURCE = Octopus()
