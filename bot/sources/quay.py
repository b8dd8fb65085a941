"""`quay`: Quay (quay.io and Red Hat Quay) repository notifications, webhook method, with the body
template below.

Documentation: https://docs.redhat.com/en/documentation/red_hat_quay/3.4/html/use_red_hat_quay/repository_notifications
(the events and their data) and Quay's source (https://github.com/quay/quay: `notifications/
notificationevent.py` for each event's data, `notifications/notificationmethod.py` for the webhook,
`util/jsontemplate.py` for body templates).

Quay's webhook posts the event's data and nothing else: no event name in the body or the headers,
and the build events (queued, started, succeeded, failed, cancelled) carry the same fields. So every
notification gets a "POST JSON body template" naming its event. In a Quay template a string that is
exactly `${path}` becomes the value at that JSON path of the event data (any type; null when
absent). Use this template, with `<event>` replaced by the notification's event (`repo_push`,
`build_queued`, `build_start`, `build_success`, `build_failure`, `build_cancelled`,
`vulnerability_found`):

    {"event": "<event>", "repository": "${repository}", "docker_url": "${docker_url}",
     "homepage": "${homepage}", "updated_tags": "${updated_tags}", "build_id": "${build_id}",
     "build_name": "${build_name}", "docker_tags": "${docker_tags}", "trigger_kind": "${trigger_kind}",
     "trigger_metadata": "${trigger_metadata}", "error_message": "${error_message}", "tags": "${tags}",
     "vulnerability": "${vulnerability}", "vulnerabilities": "${vulnerabilities}"}

The data: `repository` (`namespace/name`), `docker_url` (the pull address), `homepage` (the
repository's page, or the build's page for build events); a push lists `updated_tags`; a build has
`build_id`, `docker_tags`, `trigger_kind` and `trigger_metadata` (`ref`, `commit`, `commit_info`
with `url`, `message`, `author.username`), a failed one an `error_message`; a vulnerability names
the image's `tags` and one `vulnerability` (`id`, `priority`, `description`, `link`) or, on newer
Quay, a `vulnerabilities` list.

Builds read like any CI build. A vulnerability is a firing alert of the repository (keyed by it,
the vulnerabilities' ids as its revision) with the worst priority's severity (Critical and Defcon1
→ critical, High → error, Medium → warning, lower → info); Quay reports no fix, so it never resolves.

Auth: Quay does not sign webhooks; the secret goes in the URL (`?token=<secret>`). It sends no
delivery id: a build's id and event make the dedup key, other events are recognised by a hash of
the body.
"""

import hashlib
from functools import partial
from typing import ClassVar

from marshmallow import fields, validate

from bot import markdown as md
from bot.message import Message
from bot.sources._ci import build_message, codes
from bot.sources._git import branch_of_ref
from bot.sources._monitoring import alert_ref
from bot.sources.base import Event, Lenient, Source

TEMPLATE = (
    '{"event": "<event>", "repository": "${repository}", "docker_url": "${docker_url}", '
    '"homepage": "${homepage}", "updated_tags": "${updated_tags}", "build_id": "${build_id}", '
    '"build_name": "${build_name}", "docker_tags": "${docker_tags}", "trigger_kind": "${trigger_kind}", '
    '"trigger_metadata": "${trigger_metadata}", "error_message": "${error_message}", "tags": "${tags}", '
    '"vulnerability": "${vulnerability}", "vulnerabilities": "${vulnerabilities}"}'
)
BUILD_RESULTS = {
    "build_queued": ("info", "is queued"),
    "build_start": ("info", "started"),
    "build_success": ("success", "succeeded"),
    "build_failure": ("error", "failed"),
    "build_cancelled": ("warning", "was cancelled"),
}
# Quay's vulnerability priorities, worst first, and the relay's severity for each.
PRIORITIES = {"defcon1": "critical", "critical": "critical", "high": "error", "medium": "warning",
              "low": "info", "negligible": "info", "unknown": "info"}
MAX_VULNERABILITIES = 10


class NotificationSchema(Lenient):
    event = fields.Str(required=True, validate=validate.Length(min=1, max=100))
    repository = fields.Str(required=True, validate=validate.Length(min=1, max=300))
    docker_url = fields.Str(allow_none=True)
    homepage = fields.Str(allow_none=True)


class PushSchema(Lenient):
    updated_tags = fields.List(fields.Str(), required=True)


class AuthorSchema(Lenient):
    username = fields.Str(allow_none=True)


class CommitInfoSchema(Lenient):
    url = fields.Str(allow_none=True)
    message = fields.Str(allow_none=True)
    author = fields.Nested(AuthorSchema, allow_none=True)


class TriggerMetadataSchema(Lenient):
    ref = fields.Str(allow_none=True)
    commit = fields.Str(allow_none=True)
    commit_info = fields.Nested(CommitInfoSchema, allow_none=True)


class BuildSchema(Lenient):
    build_id = fields.Str(required=True, validate=validate.Length(min=1, max=200))
    build_name = fields.Str(allow_none=True)
    docker_tags = fields.List(fields.Str(), allow_none=True)
    trigger_kind = fields.Str(allow_none=True)
    trigger_metadata = fields.Nested(TriggerMetadataSchema, allow_none=True)
    error_message = fields.Str(allow_none=True)


class VulnerabilitySchema(Lenient):
    id = fields.Str(required=True)
    priority = fields.Str(allow_none=True)
    description = fields.Str(allow_none=True)
    link = fields.Str(allow_none=True)


class VulnerabilityEventSchema(Lenient):
    tags = fields.List(fields.Str(), allow_none=True)
    vulnerability = fields.Nested(VulnerabilitySchema, allow_none=True)
    vulnerabilities = fields.List(fields.Nested(VulnerabilitySchema), allow_none=True)


def format_push(p: dict) -> Message:
    tags = [t for t in p["updated_tags"] if t]
    image = p.get("docker_url") or p["repository"]
    return Message(
        title=f"Image pushed to {p['repository']}",
        url=p.get("homepage"),
        body=[md.fields([("Tags", codes(tags)), ("Pull", md.code(f"docker pull {image}:{tags[0]}") if tags else "")])],
        repo=p["repository"],
    )


def _trigger(p: dict) -> dict:
    return p.get("trigger_metadata") or {}


def _build_branch(p: dict) -> str | None:
    ref = str(_trigger(p).get("ref") or "")
    return branch_of_ref(ref) if ref.startswith("refs/heads/") else None


def format_build(result: tuple[str, str], p: dict) -> Message:
    trigger = _trigger(p)
    info = trigger.get("commit_info") or {}
    ref = trigger.get("ref") or ""
    error = (p.get("error_message") or "").strip()
    kind = (p.get("trigger_kind") or "").strip()
    return build_message(
        what=f"{p['repository']} build",
        result=result,
        url=p.get("homepage"),
        branch=_build_branch(p),
        tag=ref.removeprefix("refs/tags/") if ref.startswith("refs/tags/") else None,
        sha=trigger.get("commit"),
        sha_url=info.get("url"),
        subject=info.get("message"),
        by=(info.get("author") or {}).get("username"),
        extra=[("Image tags", codes(p.get("docker_tags") or [])),
               ("Trigger", md.inline(kind, 40) if kind else ("manual" if not trigger else ""))],
        blocks=[md.quote(error, 800)] if error and result[0] == "error" else [],
        repo=p["repository"],
    )


def _priority(v: dict) -> str:
    return str(v.get("priority") or "").strip().lower()


def _found(p: dict) -> list[dict]:
    return p.get("vulnerabilities") or ([p["vulnerability"]] if p.get("vulnerability") else [])


def _no_vulnerability(p: dict) -> str | None:
    return None if _found(p) else "the notification names no vulnerability"


def format_vulnerabilities(p: dict) -> Message:
    order = list(PRIORITIES)
    found = sorted(_found(p), key=lambda v: order.index(_priority(v)) if _priority(v) in order else len(order))
    worst = _priority(found[0])
    items = [
        " ".join(part for part in (
            md.link(v["id"], v.get("link"), 120),
            f"({md.inline(v.get('priority'), 20)})" if v.get("priority") else "",
            f"— {md.inline(md.first_line(v.get('description') or '', 200))}" if v.get("description") else "",
        ) if part)
        for v in found
    ]
    level = md.shorten(found[0].get("priority") or "", 20) if worst else ""
    if len(found) == 1:
        what = f"{level} vulnerability found" if level else "1 vulnerability found"
    else:
        what = f"{len(found)} vulnerabilities found" + (f" (worst: {level})" if level else "")
    ids = hashlib.sha256("|".join(sorted(v["id"] for v in found)).encode()).hexdigest()[:16]
    return Message(
        title=f"{p['repository']}: {what}",
        url=p.get("homepage"),
        severity=PRIORITIES.get(worst, "warning"),
        status="firing",
        body=[block for block in (md.fields([("Tags", codes(p.get("tags") or []))]),
                                  md.bullets(items, MAX_VULNERABILITIES)) if block],
        repo=p["repository"],
        alert=alert_ref(p["repository"], up=False, revision=ids),
    )


class Quay(Source):
    name = "quay"
    title = "Quay"
    setup = (
        "Repository → Settings → Events and notifications → Create notification: pick the event, "
        "method Webhook POST, URL https://<relay>/hooks/<route>?token=<secret>, "
        f"POST JSON body template {TEMPLATE} with <event> replaced by the event chosen (repo_push, build_queued, "
        "build_start, build_success, build_failure, build_cancelled, vulnerability_found); one notification per event"
    )
    schema = NotificationSchema
    events: ClassVar[dict[str, Event]] = {
        "repo_push": Event(format_push, PushSchema),
        **{event: Event(partial(format_build, result), BuildSchema, branch=_build_branch)
           for event, result in BUILD_RESULTS.items()},
        "vulnerability_found": Event(format_vulnerabilities, VulnerabilityEventSchema, ignore=_no_vulnerability),
    }

    def detect_event(self, payload, headers):
        return payload["event"].strip() or None

    def payload_delivery_id(self, event, payload):
        build = payload.get("build_id")
        return f"{build}:{event}"[:200] if event in BUILD_RESULTS and isinstance(build, str) and build else None


SOURCE = Quay()
