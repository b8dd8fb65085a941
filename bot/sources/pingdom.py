"""`pingdom`: Pingdom's webhook integration for uptime and transaction checks.

Pingdom posts one JSON object per state change of a check: its id, name and type, the checked host
or URL, the previous and current state and Pingdom's description of the failure. Uptime checks go
DOWN and UP, transaction checks FAILING and SUCCESS; the first of each pair fires an alert, the
second resolves it.
"""

from typing import ClassVar

from marshmallow import fields

from bot import markdown as md
from bot.message import Message
from bot.sources._monitoring import check_alert, is_recovery, target
from bot.sources.base import Event, Lenient, Source

REPORTS = "https://my.pingdom.com/app/reports/{page}#check={check_id}"


class CheckParamsSchema(Lenient):
    full_url = fields.Str(allow_none=True)
    hostname = fields.Str(allow_none=True)
    port = fields.Raw(allow_none=True)


class CheckSchema(Lenient):
    check_id = fields.Raw(required=True)
    check_name = fields.Str(required=True)
    check_type = fields.Str(allow_none=True)
    check_params = fields.Nested(CheckParamsSchema, allow_none=True)
    current_state = fields.Str(required=True)
    description = fields.Str(allow_none=True)
    long_description = fields.Str(allow_none=True)
    custom_message = fields.Str(allow_none=True)
    importance_level = fields.Str(allow_none=True)


def format_state_change(p: dict) -> Message:
    up = is_recovery(p["current_state"])
    kind = (p.get("check_type") or "").upper()
    params = p.get("check_params") or {}
    page = "transactions" if kind == "TRANSACTION" else "uptime"
    reason = p.get("long_description") or p.get("description")
    custom = p.get("custom_message")
    return check_alert(
        p["check_name"],
        up=up,
        url=REPORTS.format(page=page, check_id=p["check_id"]),
        severity="warning" if (p.get("importance_level") or "").upper() == "LOW" else "error",
        fields=[
            ("Target", target(params.get("full_url") or params.get("hostname"), params.get("port"), kind)),
            ("Reason", "" if up else md.inline(reason)),
        ],
        details=[md.quote(custom, 500)] if custom else [],
        key=p.get("check_id"),
    )


class Pingdom(Source):
    name = "pingdom"
    title = "Pingdom"
    setup = (
        "Integrations → Integrations → Add integration: type Webhook, "
        "URL https://<relay>/hooks/<route>?token=<secret>; then pick it in each check's alerting settings"
    )
    schema = CheckSchema
    events: ClassVar[dict[str, Event]] = {
        state: Event(format_state_change) for state in ("down", "up", "failing", "success")
    }

    def detect_event(self, payload, headers):
        return payload["current_state"].strip().lower() or None


SOURCE = Pingdom()
