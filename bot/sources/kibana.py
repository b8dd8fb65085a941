"""`kibana`: Elastic (Kibana) alerting rules through a Webhook connector, with the relay's body.

Docs: https://www.elastic.co/guide/en/kibana/current/webhook-action-type.html and the action
variables, https://www.elastic.co/guide/en/kibana/current/rule-action-variables.html

A Webhook connector posts the body its rule action renders from Mustache variables (Kibana
escapes them as JSON strings in a webhook body), so the relay defines the body. Create the
connector (Stack Management → Connectors → Webhook: method POST, URL
`https://<relay>/hooks/<route>`, authentication Basic with the route's secret as password, or a
header `Authorization: Bearer <secret>`) and give each rule's action this body (the README has it
too), one action "When the rule is active" and one "If recovered":

    {
      "rule": {"id": "{{rule.id}}", "name": "{{rule.name}}", "type": "{{rule.type}}",
               "tags": "{{rule.tags}}", "url": "{{rule.url}}"},
      "alert": {"id": "{{alert.id}}", "uuid": "{{alert.uuid}}", "actionGroup": "{{alert.actionGroup}}",
                "actionGroupName": "{{alert.actionGroupName}}", "flapping": "{{alert.flapping}}"},
      "reason": "{{context.reason}}",
      "message": "{{context.message}}",
      "date": "{{date}}",
      "kibanaBaseUrl": "{{kibanaBaseUrl}}",
      "severity": "error"
    }

`severity` is the one value not taken from Kibana (its rules have no severity): set it per rule to
critical, error, warning or info. The event is `recovered` for the recovered action group and
`active` for any other (threshold met, query matched, a rule type's warning group); a warning
action group lowers the severity to warning. The message links the rule (`rule.url`, filled in
when Kibana's `server.publicBaseUrl` is set, else the rule page under `kibanaBaseUrl`).

Kibana sends no delivery id; a retried body is recognised for ten minutes, while an alert that
keeps firing on each check interval still posts.
"""

from __future__ import annotations

from typing import ClassVar
from urllib.parse import quote

from marshmallow import fields

from bot import markdown as md
from bot.message import Message, severity_of
from bot.sources._monitoring import alert
from bot.sources.base import Event, Lenient, Source

ACTIVE, RECOVERED = "active", "recovered"
RULE_PAGE = "{}/app/management/insightsAndAlerting/triggersActions/rule/{}"
MAX_TAGS = 10


class RuleSchema(Lenient):
    id = fields.Str(allow_none=True)
    name = fields.Str(required=True)
    type = fields.Str(allow_none=True)
    tags = fields.Str(allow_none=True)
    url = fields.Str(allow_none=True)


class AlertSchema(Lenient):
    id = fields.Str(allow_none=True)
    uuid = fields.Str(allow_none=True)
    actionGroup = fields.Str(required=True)
    actionGroupName = fields.Str(allow_none=True)
    flapping = fields.Str(allow_none=True)


class KibanaSchema(Lenient):
    rule = fields.Nested(RuleSchema, required=True)
    alert = fields.Nested(AlertSchema, required=True)
    reason = fields.Str(allow_none=True)
    message = fields.Str(allow_none=True)
    date = fields.Str(allow_none=True)
    kibanaBaseUrl = fields.Str(allow_none=True)
    severity = fields.Str(allow_none=True)


def _rule_url(p: dict) -> str | None:
    rule = p["rule"]
    if md.safe_url(rule.get("url")):
        return rule["url"]
    base = (p.get("kibanaBaseUrl") or "").rstrip("/")
    return RULE_PAGE.format(base, quote(rule["id"], safe="")) if md.safe_url(base) and rule.get("id") else None


def _tags(tags: str | None) -> str:
    names = [t.strip() for t in (tags or "").split(",") if t.strip()]
    return " ".join(md.code(t, 60) for t in names[:MAX_TAGS]) + (" …" if len(names) > MAX_TAGS else "")


def format_alert(p: dict) -> Message:
    rule, a = p["rule"], p["alert"]
    recovered = a["actionGroup"].strip() == "recovered"
    severity = severity_of(p.get("severity"), "error")
    if a["actionGroup"].strip().lower().endswith("warning") and severity in ("critical", "error"):
        severity = "warning"
    reason = (p.get("reason") or "").strip()
    message = (p.get("message") or "").strip()
    # Single-alert rules name their alert after the rule or the action group: nothing to add.
    alert_id = a.get("id") if a.get("id") not in (rule.get("id"), a["actionGroup"]) else ""
    return alert(
        f"{rule['name']} {'recovered' if recovered else 'is active'}",
        up=recovered,
        key=f"{rule.get('id')}:{a.get('id')}",
        url=_rule_url(p),
        severity=severity,
        fields=[
            ("Alert", md.code(alert_id, 150)),
            ("Group", md.inline(a.get("actionGroupName") or a["actionGroup"], 80) if not recovered else ""),
            ("Rule type", md.code(rule.get("type"), 80)),
            ("Tags", _tags(rule.get("tags"))),
            ("Flapping", "yes" if (a.get("flapping") or "").strip().lower() == "true" else ""),
            ("At", md.inline(p.get("date"), 40)),
        ],
        details=[
            md.text(reason, 1000) if reason else "",
            md.quote(message, 1500) if message and message != reason else "",
        ],
    )


class Kibana(Source):
    name = "kibana"
    title = "Elastic / Kibana alerting"
    setup = (
        "Kibana → Stack Management → Connectors → Webhook: POST https://<relay>/hooks/<route>, Basic auth with "
        "password <secret>; in each rule's actions use the relay's body (see README) for active and recovered"
    )
    schema = KibanaSchema
    events: ClassVar[dict[str, Event]] = {ACTIVE: Event(format_alert), RECOVERED: Event(format_alert)}

    def detect_event(self, payload, headers):
        group = payload["alert"]["actionGroup"].strip()
        if not group:
            return None
        return RECOVERED if group == "recovered" else ACTIVE


SOURCE = Kibana()
