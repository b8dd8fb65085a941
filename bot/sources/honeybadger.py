"""`honeybadger`: Honeybadger's Webhook integration (payload version v2, the default).

Documented at https://docs.honeybadger.io/guides/integrations/webhook/ and, per event, at
https://docs.honeybadger.io/guides/integrations/payloads/v2/: every body has the `event` name and
a one-line `message`, plus the records the event is about. Error events carry the `fault` (`id`,
`project_id`, `klass`, `message`, `component`, `action`, `environment`, `notices_count`,
`created_at`); `resolved`, `assigned` and `commented` add the `actor`, `assigned` the `assignee`,
`commented` the `comment`. Uptime events carry the `site` (`id`, `name`, `url`, `details_url`) and
its `outage` (`down_at`, `up_at`, `reason`, `status`); check-in events the `check_in` (`id`,
`name`, `report_period`, `expected_at`, `missed_count`); `deployed` the `deploy` (`environment`,
`revision`, `repository`, `local_username`).

Errors are alerts keyed by the fault's `id`: `occurred`, `rate_exceeded` and `unresolved` fire,
`resolved` resolves. Each notice and a passed rate threshold are news about the firing fault (its
revision), not repeats. Sites (`down`/`up`) and check-ins (`check_in_missing`/
`check_in_reporting`) are alerts keyed by their ids. `cert_will_expire` is a warning outside any
alert, because Honeybadger sends nothing when the certificate is renewed. v2 bodies carry no link
to the fault, so the message links its page at app.honeybadger.io, built from the project and
fault ids. `volume_spike` and the Insights alarms are not supported: their v2 payloads are not
described beyond their names.

Every delivery carries a `Honeybadger-Token` header, and an `Authorization: Bearer <token>` header
when the integration is given a bearer token. The relay checks the bearer token (the route
secret), which each integration sets for itself. Honeybadger sends no delivery id: a notice is
recognised by its fault and notice count, anything else by a body hash.
"""

from __future__ import annotations

from typing import ClassVar

from marshmallow import fields

from bot import markdown as md
from bot.message import Message
from bot.sources._ci import build_message, commit_url
from bot.sources._monitoring import alert, alert_ref, duration, epoch, target
from bot.sources.base import Event, Lenient, Source

FAULT_URL = "https://app.honeybadger.io/projects/{project}/faults/{fault}"
# Fault events -> (how the title says it, whether the fault is resolved by it).
FAULT_EVENTS = {
    "occurred": ("Error occurred", False),
    "rate_exceeded": ("Error rate exceeded", False),
    "unresolved": ("Error reopened", False),
    "resolved": ("Error resolved", True),
}


class PersonSchema(Lenient):
    id = fields.Raw(allow_none=True)
    name = fields.Str(allow_none=True)
    email = fields.Str(allow_none=True)


class FaultSchema(Lenient):
    id = fields.Raw(required=True)
    project_id = fields.Raw(allow_none=True)
    klass = fields.Str(allow_none=True)
    message = fields.Str(allow_none=True)
    component = fields.Str(allow_none=True)
    action = fields.Str(allow_none=True)
    environment = fields.Str(allow_none=True)
    notices_count = fields.Raw(allow_none=True)
    created_at = fields.Str(allow_none=True)
    last_notice_at = fields.Str(allow_none=True)
    url = fields.Str(allow_none=True)


class CommentSchema(Lenient):
    body = fields.Str(allow_none=True)


class SiteSchema(Lenient):
    id = fields.Raw(required=True)
    name = fields.Str(allow_none=True)
    url = fields.Str(allow_none=True)
    details_url = fields.Str(allow_none=True)
    cert_will_expire_at = fields.Str(allow_none=True)


class OutageSchema(Lenient):
    down_at = fields.Str(allow_none=True)
    up_at = fields.Str(allow_none=True)
    reason = fields.Str(allow_none=True)
    status = fields.Raw(allow_none=True)


class CheckInSchema(Lenient):
    id = fields.Raw(required=True)
    name = fields.Str(allow_none=True)
    report_period = fields.Str(allow_none=True)
    expected_at = fields.Str(allow_none=True)
    reported_at = fields.Str(allow_none=True)
    missed_count = fields.Raw(allow_none=True)


class DeploySchema(Lenient):
    environment = fields.Str(allow_none=True)
    revision = fields.Str(allow_none=True)
    repository = fields.Str(allow_none=True)
    local_username = fields.Str(allow_none=True)


class ProjectSchema(Lenient):
    id = fields.Raw(allow_none=True)
    name = fields.Str(allow_none=True)


class HoneybadgerSchema(Lenient):
    event = fields.Str(required=True)
    message = fields.Str(required=True)
    project = fields.Nested(ProjectSchema, allow_none=True)


class FaultEventSchema(HoneybadgerSchema):
    fault = fields.Nested(FaultSchema, required=True)
    actor = fields.Nested(PersonSchema, allow_none=True)
    assignee = fields.Nested(PersonSchema, allow_none=True)
    comment = fields.Nested(CommentSchema, allow_none=True)


class SiteEventSchema(HoneybadgerSchema):
    site = fields.Nested(SiteSchema, required=True)
    outage = fields.Nested(OutageSchema, allow_none=True)


class CheckInEventSchema(HoneybadgerSchema):
    check_in = fields.Nested(CheckInSchema, required=True)


class DeployEventSchema(HoneybadgerSchema):
    deploy = fields.Nested(DeploySchema, required=True)


def _fault_name(fault: dict) -> str:
    """ "Class: message", or whichever of the two there is."""
    kind = (fault.get("klass") or "").strip()
    message = md.first_line(fault.get("message"), 200)
    return f"{kind}: {message}" if kind and message else kind or message or "an error"


def _fault_url(fault: dict) -> str | None:
    if fault.get("url"):
        return fault["url"]
    project, fault_id = fault.get("project_id"), fault.get("id")
    if isinstance(project, int) and isinstance(fault_id, int):
        return FAULT_URL.format(project=project, fault=fault_id)
    return None


def _where(fault: dict) -> str:
    """The component#action (controller and action, job and method) the error was raised in."""
    place = "#".join(part for part in (fault.get("component"), fault.get("action")) if part)
    return md.code(place, 150)


def _who(person: dict | None) -> str:
    person = person or {}
    return md.inline(person.get("name") or person.get("email"), 120)


def _project_name(p: dict) -> str:
    return md.inline((p.get("project") or {}).get("name"), 120)


def format_fault(p: dict) -> Message:
    fault = p["fault"]
    what, up = FAULT_EVENTS[p["event"]]
    body = md.fields(
        [
            ("By", _who(p.get("actor")) if up else ""),
            ("Project", _project_name(p)),
            ("Environment", md.code(fault.get("environment"), 60)),
            ("Where", "" if up else _where(fault)),
            ("Notices", md.inline(fault.get("notices_count"), 20)),
            ("Details", md.inline(p["message"], 300) if p["event"] == "rate_exceeded" else ""),
        ]
    )
    # A new notice and a passed rate threshold are news about the firing fault, not a repeat of it.
    revision = {"occurred": str(fault.get("notices_count") or ""), "rate_exceeded": "rate exceeded"}.get(p["event"], "")
    # A reopened fault fires again from its latest notice, not from when it first appeared.
    started = fault.get("last_notice_at") if p["event"] == "unresolved" else fault.get("created_at")
    return Message(
        title=f"{what}: {_fault_name(fault)}",
        url=_fault_url(fault),
        severity="success" if up else "error",
        status="resolved" if up else "firing",
        body=[body] if body else [],
        alert=alert_ref(f"fault:{fault['id']}", up=up, started_at=None if up else started,
                        revision="" if up else revision),
    )


def format_assigned(p: dict) -> Message:
    fault = p["fault"]
    who = _who(p.get("actor")) or "Someone"
    whom = _who(p.get("assignee")) or "nobody"
    return Message(
        title=f"{who} assigned {_fault_name(fault)} to {whom}",
        url=_fault_url(fault),
        body=[md.fields([("Environment", md.code(fault.get("environment"), 60))])],
    )


def format_commented(p: dict) -> Message:
    fault = p["fault"]
    who = _who(p.get("actor")) or "Someone"
    text = (p.get("comment") or {}).get("body")
    fields_block = md.fields([("Environment", md.code(fault.get("environment"), 60))])
    return Message(
        title=f"{who} commented on {_fault_name(fault)}",
        url=_fault_url(fault),
        body=[block for block in (md.quote(text) if text else "", fields_block) if block],
    )


def format_site(p: dict) -> Message:
    site, outage = p["site"], p.get("outage") or {}
    up = p["event"] == "up"
    down_at, up_at = outage.get("down_at"), outage.get("up_at")
    start, end = epoch(down_at), epoch(up_at)
    status = outage.get("status")
    return alert(
        f"{site.get('name') or site.get('url') or 'Honeybadger site'} is {'up' if up else 'down'}",
        up=up,
        url=site.get("details_url"),
        fields=[
            ("Site", target(site.get("url"))),
            ("Project", _project_name(p)),
            ("Reason", "" if up else md.inline(outage.get("reason"), 200)),
            ("HTTP status", md.code(status, 10) if status is not None and not up else ""),
            ("Down for", duration(end - start) if up and start and end and end >= start else ""),
        ],
        key=f"site:{site['id']}",
        started_at=down_at,
        ended_at=up_at if up else None,
    )


def format_cert(p: dict) -> Message:
    site = p["site"]
    return Message(
        title=f"Certificate of {site.get('name') or site.get('url') or 'a Honeybadger site'} will expire",
        url=site.get("details_url"),
        severity="warning",
        body=[md.fields([
            ("Site", target(site.get("url"))),
            ("Expires", md.inline(site.get("cert_will_expire_at"), 40)),
            ("Project", _project_name(p)),
        ])],
    )


def format_check_in(p: dict) -> Message:
    check_in = p["check_in"]
    up = p["event"] == "check_in_reporting"
    name = check_in.get("name") or str(check_in["id"])
    return alert(
        f"Check-in {name} is {'reporting again' if up else 'missing'}",
        up=up,
        fields=[
            ("Project", _project_name(p)),
            ("Reports every", md.inline(check_in.get("report_period"), 40)),
            ("Expected at", "" if up else md.inline(check_in.get("expected_at"), 40)),
            ("Missed", "" if up else md.inline(check_in.get("missed_count"), 20)),
            ("Reported at", md.inline(check_in.get("reported_at"), 40) if up else ""),
        ],
        key=f"check_in:{check_in['id']}",
    )


def format_deployed(p: dict) -> Message:
    deploy = p["deploy"]
    environment = deploy.get("environment") or "unknown environment"
    project = (p.get("project") or {}).get("name")
    return build_message(
        what=f"{project} deploy to {environment}" if project else f"Deploy to {environment}",
        result=("success", "finished"),
        sha=deploy.get("revision"),
        sha_url=commit_url(deploy.get("repository"), deploy.get("revision")),
        by=deploy.get("local_username"),
        repo=project,
    )


class Honeybadger(Source):
    name = "honeybadger"
    title = "Honeybadger"
    setup = (
        "Project settings → Alerts & Integrations → Webhook: URL https://<relay>/hooks/<route>, bearer token "
        "= the route secret, payload version v2, then pick the events"
    )
    schema = HoneybadgerSchema
    events: ClassVar[dict[str, Event]] = {
        **{event: Event(format_fault, FaultEventSchema) for event in FAULT_EVENTS},
        "assigned": Event(format_assigned, FaultEventSchema),
        "commented": Event(format_commented, FaultEventSchema),
        "down": Event(format_site, SiteEventSchema),
        "up": Event(format_site, SiteEventSchema),
        "cert_will_expire": Event(format_cert, SiteEventSchema),
        "check_in_missing": Event(format_check_in, CheckInEventSchema),
        "check_in_reporting": Event(format_check_in, CheckInEventSchema),
        "deployed": Event(format_deployed, DeployEventSchema),
    }

    def detect_event(self, payload, headers):
        return payload["event"].strip() or None

    def payload_delivery_id(self, event, payload):
        if event != "occurred":
            return None
        fault = payload["fault"]
        count = fault.get("notices_count")
        return f"occurred:{str(fault['id'])[:60]}:{str(count)[:20]}" if count is not None else None


SOURCE = Honeybadger()
