"""`newrelic`: New Relic alert notifications, from workflows and from legacy notification channels.

Workflows post the JSON of a webhook destination's payload template. The default template carries
the issue's title, link, priority, state (CREATED, ACTIVATED, CLOSED), policies, conditions, entities
and times; anything a team adds to its template (a runbook, an owner, a block of custom fields) is
shown as extra `**label:** value` lines, so a customised template still produces a useful message.
Legacy alert channels post an incident with `current_state` open, acknowledged or closed.

Open and acknowledged issues are firing alerts with New Relic's priority; closed ones resolve them.
A legacy channel's test notification is posted as info.

Because workflow templates are free-form, any JSON object is taken for a workflow issue; only
fields of the default template with the wrong type (or a body that is not an object) are refused.
"""

from typing import ClassVar

from marshmallow import fields, validate

from bot import markdown as md
from bot.message import Message, severity_of
from bot.sources._monitoring import alert, duration, is_recovery, joined
from bot.sources.base import Event, Lenient, Source

# Fields of New Relic's default workflow template that the message shows (or deliberately leaves out).
WORKFLOW_FIELDS = {
    "id",
    "issueUrl",
    "title",
    "priority",
    "impactedEntities",
    "totalIncidents",
    "state",
    "trigger",
    "isCorrelated",
    "createdAt",
    "updatedAt",
    "sources",
    "alertPolicyNames",
    "alertConditionNames",
    "workflowName",
    "owner",
}
MAX_EXTRA_FIELDS = 10
# Epoch milliseconds up to the year 5138; larger values are not New Relic timestamps.
EPOCH_MS = validate.Range(min=0, max=10**14)


class IssueSchema(Lenient):
    title = fields.Str(allow_none=True)
    issueUrl = fields.Str(allow_none=True)
    priority = fields.Str(allow_none=True)
    state = fields.Str(allow_none=True)
    owner = fields.Str(allow_none=True)
    totalIncidents = fields.Int(allow_none=True)
    createdAt = fields.Int(allow_none=True, validate=EPOCH_MS)
    updatedAt = fields.Int(allow_none=True, validate=EPOCH_MS)
    impactedEntities = fields.List(fields.Str(allow_none=True), allow_none=True)
    alertPolicyNames = fields.List(fields.Str(allow_none=True), allow_none=True)
    alertConditionNames = fields.List(fields.Str(allow_none=True), allow_none=True)


class TargetSchema(Lenient):
    name = fields.Str(allow_none=True)
    link = fields.Str(allow_none=True)


class IncidentSchema(Lenient):
    current_state = fields.Str(required=True)
    incident_id = fields.Raw(allow_none=True)
    incident_url = fields.Str(allow_none=True)
    condition_name = fields.Str(allow_none=True)
    policy_name = fields.Str(allow_none=True)
    details = fields.Str(allow_none=True)
    severity = fields.Str(allow_none=True)
    owner = fields.Str(allow_none=True)
    runbook_url = fields.Str(allow_none=True)
    targets = fields.List(fields.Nested(TargetSchema), allow_none=True)


def _names(values) -> str:
    return joined([md.code(v, 100) for v in values or [] if v])


def _scalar(value) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value if not isinstance(v, (dict, list)))
    return "" if isinstance(value, dict) else str(value)


def _shown(value: str) -> str:
    """A value as text, or as a link when it is a web address (a runbook, a dashboard)."""
    return md.link(value, value, 300) if value else ""


def _extra_fields(p: dict) -> list:
    """Fields a team added to its payload template; a nested object's entries count one by one."""
    extra = []
    for key, value in p.items():
        if key in WORKFLOW_FIELDS:
            continue
        entries = value.items() if isinstance(value, dict) else [(key, value)]
        extra += [(md.inline(k, 80), _shown(_scalar(v))) for k, v in entries]
    return extra[:MAX_EXTRA_FIELDS]


def _int(value) -> int | None:
    """An Int field as validated: marshmallow also accepts "42" and 42.0, the formatter sees those."""
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return None


def format_issue(p: dict) -> Message:
    state = (p.get("state") or "").upper()
    closed = is_recovery(state)
    opened, updated = _int(p.get("createdAt")), _int(p.get("updatedAt"))
    open_for = duration((updated - opened) / 1000) if closed and opened and updated else ""
    info = [
        ("State", md.code(state) if state else ""),
        ("Priority", md.inline(p.get("priority"))),
        ("Policies", _names(p.get("alertPolicyNames"))),
        ("Conditions", _names(p.get("alertConditionNames"))),
        ("Entities", _names(p.get("impactedEntities"))),
        ("Incidents", str(_int(p.get("totalIncidents"))) if (_int(p.get("totalIncidents")) or 0) > 1 else ""),
        ("Acknowledged by", md.inline(p.get("owner")) if p.get("owner") not in (None, "", "N/A") else ""),
        ("Open for", open_for),
        *_extra_fields(p),
    ]
    return alert(
        p.get("title") or "New Relic issue",
        up=closed,
        url=p.get("issueUrl"),
        severity=severity_of(p.get("priority"), "error"),
        fields=info,
        key=p.get("issueId") or p.get("id"),
        started_at=p.get("createdAt"),
        ended_at=p.get("updatedAt"),
    )


def format_incident(p: dict) -> Message:
    targets = [md.link(t.get("name") or t.get("link"), t.get("link")) for t in p.get("targets") or []]
    info = [
        ("State", md.code(p["current_state"])),
        ("Policy", md.code(p.get("policy_name") or "")),
        ("Condition", md.code(p.get("condition_name") or "")),
        ("Targets", joined([t for t in targets if t])),
        ("Acknowledged by", md.inline(p.get("owner"))),
        ("Runbook", md.link("runbook", p.get("runbook_url")) if md.safe_url(p.get("runbook_url")) else ""),
    ]
    title = p.get("details") or p.get("condition_name") or f"New Relic incident {p.get('incident_id') or ''}"
    if p["current_state"].lower() == "test":
        return Message(title=title.strip(), url=p.get("incident_url"), body=[md.fields(info)])
    return alert(
        title.strip(),
        up=is_recovery(p["current_state"]),
        url=p.get("incident_url"),
        severity=severity_of(p.get("severity"), "error"),
        fields=info,
        key=p.get("incident_id"),
    )


class NewRelic(Source):
    name = "newrelic"
    title = "New Relic"
    setup = (
        "Alerts → Destinations → Webhook: endpoint https://<relay>/hooks/<route>, authorization Bearer token "
        "<secret>; then add that destination to a workflow with the default payload template"
    )
    events: ClassVar[dict[str, Event]] = {
        "issue": Event(format_issue, IssueSchema), "incident": Event(format_incident, IncidentSchema),
    }

    def detect_event(self, payload, headers):
        if not isinstance(payload, dict) or not payload:
            return None
        return "incident" if "current_state" in payload else "issue"


SOURCE = NewRelic()
