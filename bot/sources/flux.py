"""`flux`: Flux CD events from the notification-controller's `generic` provider.

Docs: https://fluxcd.io/flux/components/notification/providers/#generic-webhook and the Event
type it posts, https://pkg.go.dev/github.com/fluxcd/pkg/runtime/events#Event

Flux posts one Kubernetes event of one Flux object per request, as the JSON of its `Event`:
`involvedObject` (kind, namespace, name of the Kustomization, HelmRelease, GitRepository…),
`severity` (`info` or `error`), `reason` (`ReconciliationSucceeded`, `UpgradeFailed`,
`HealthCheckFailed`…), the controller's `message`, and `metadata` holding the `revision` applied
(`main@sha1:<commit>`, a chart version, an OCI digest) and the Alert's `summary`. The event is the
Flux severity, the one an Alert's `eventSeverity` filters on. The message says which object, what
happened (the reason), at which revision, with the controller's text; its labels `kind` and
`namespace` are there for routing rules.

Auth: the generic provider cannot sign, so the provider's secret sets a header,
`headers: {Authorization: "Bearer <secret>"}` (or the address carries `?token=<secret>`). The
`flux-hmac` source takes the same events from the `generic-hmac` provider, which signs them.
Flux sends no delivery id; a retried event is recognised by its body for ten minutes.
"""

from __future__ import annotations

import re
from typing import ClassVar

from marshmallow import fields

from bot import markdown as md
from bot.message import Message
from bot.sources._ci import build_message
from bot.sources.base import Event, Lenient, Source, StrMap

SEVERITIES = ("info", "error")
_SHA1 = re.compile(r"(?P<ref>.+)@sha1:(?P<sha>[0-9a-f]{40})")
# Revisions of Flux before v2.0: "<branch>/<sha>".
_LEGACY = re.compile(r"(?P<ref>.+)/(?P<sha>[0-9a-f]{40})")
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z0-9]+")


class ObjectSchema(Lenient):
    kind = fields.Str(required=True)
    name = fields.Str(required=True)
    namespace = fields.Str(allow_none=True)


class FluxEventSchema(Lenient):
    involvedObject = fields.Nested(ObjectSchema, required=True)
    severity = fields.Str(required=True)
    reason = fields.Str(required=True)
    message = fields.Str(allow_none=True)
    timestamp = fields.Str(allow_none=True)
    reportingController = fields.Str(allow_none=True)
    metadata = StrMap(allow_none=True)


def _reason(reason: str) -> str:
    """`ReconciliationSucceeded` -> "reconciliation succeeded"."""
    return " ".join(_WORD.findall(reason)).lower() or reason


def _revision(revision: str) -> tuple[str | None, str | None]:
    """(branch, commit) of a git revision; (None, None) for a chart version or an OCI digest."""
    m = _SHA1.fullmatch(revision) or _LEGACY.fullmatch(revision)
    if not m:
        return None, None
    return m["ref"].removeprefix("refs/heads/"), m["sha"]


def format_event(p: dict) -> Message:
    obj = p["involvedObject"]
    meta = p.get("metadata") or {}
    reason = p["reason"]
    failed = p["severity"].strip().lower() == "error"
    severity = "error" if failed else "success" if reason.endswith("Succeeded") else "info"
    where = f"{obj['namespace']}/{obj['name']}" if obj.get("namespace") else obj["name"]
    revision = meta.get("revision") or ""
    branch, sha = _revision(revision)
    message = build_message(
        what=f"{obj['kind']} {where}:",
        result=(severity, _reason(reason)),
        branch=branch,
        sha=sha,
        extra=[
            ("Revision", md.code(revision, 120) if revision and not sha else ""),
            ("Summary", md.inline(meta.get("summary"), 300)),
            ("Controller", md.inline(p.get("reportingController"), 80)),
        ],
        blocks=[md.quote(p["message"], 1500, 20)] if (p.get("message") or "").strip() else [],
        repo=obj["name"],
    )
    message.labels = {"kind": obj["kind"], **({"namespace": obj["namespace"]} if obj.get("namespace") else {})}
    return message


class Flux(Source):
    name = "flux"
    title = "Flux CD"
    setup = (
        "Flux Provider spec.type: generic, spec.address: https://<relay>/hooks/<route>, secretRef to a Secret with "
        "headers: 'Authorization: Bearer <secret>'; then an Alert with providerRef to it"
    )
    schema = FluxEventSchema
    events: ClassVar[dict[str, Event]] = {severity: Event(format_event) for severity in SEVERITIES}

    def detect_event(self, payload, headers):
        return payload["severity"].strip().lower() or None

    def branch(self, event, payload):
        return _revision((payload.get("metadata") or {}).get("revision") or "")[0]


SOURCE = Flux()
