"""`uptimerobot`: UptimeRobot's webhook alert contact.

UptimeRobot posts whatever JSON the alert contact's "POST value" defines, filling in its `*variable*`
placeholders. The setup line gives the body this module reads: the monitor's name and address, the
alert type (1 down, 2 up, 3 SSL certificate expiry), the details and, on recovery, how long the
monitor was down. A monitor going down is a firing alert, coming back up resolves it.
"""

import re
from typing import ClassVar

from marshmallow import fields

from bot import markdown as md
from bot.message import Message
from bot.sources._monitoring import check_alert, target
from bot.sources.base import Event, Lenient, Source

ALERT_TYPES = {"1": "down", "2": "up", "3": "ssl_expiry"}
# A `*variable*` UptimeRobot did not fill in (e.g. the duration of a monitor that just went down).
_PLACEHOLDER = re.compile(r"^\*\w+\*$")


class AlertSchema(Lenient):
    monitor_friendly_name = fields.Str(required=True)
    monitor_url = fields.Str(allow_none=True)
    monitor_id = fields.Raw(allow_none=True)
    alert_type = fields.Raw(allow_none=True)
    alert_type_friendly_name = fields.Str(allow_none=True)
    alert_details = fields.Str(allow_none=True)
    alert_friendly_duration = fields.Str(allow_none=True)


def alert_kind(p: dict) -> str | None:
    """down, up or ssl_expiry, from the alert type code or else its friendly name."""
    code = str(p.get("alert_type") or "").strip()
    return ALERT_TYPES.get(code) or str(p.get("alert_type_friendly_name") or "").strip().lower() or None


def _value(p: dict, key: str) -> str:
    value = str(p.get(key) or "").strip()
    return "" if _PLACEHOLDER.match(value) else value


def _dashboard(p: dict) -> str | None:
    monitor_id = _value(p, "monitor_id")
    return f"https://dashboard.uptimerobot.com/monitors/{monitor_id}" if monitor_id.isdigit() else None


def format_state(p: dict) -> Message:
    up = alert_kind(p) == "up"
    return check_alert(
        p["monitor_friendly_name"],
        up=up,
        url=_dashboard(p),
        fields=[
            ("Target", target(_value(p, "monitor_url"))),
            ("Reason", md.inline(_value(p, "alert_details"))),
            ("Down for", md.inline(_value(p, "alert_friendly_duration")) if up else ""),
        ],
        key=_value(p, "monitor_id") or None,
    )


def format_ssl_expiry(p: dict) -> Message:
    return Message(
        title=f"SSL certificate of {p['monitor_friendly_name']} expires soon",
        url=_dashboard(p),
        severity="warning",
        body=[
            md.fields(
                [("Target", target(_value(p, "monitor_url"))), ("Details", md.inline(_value(p, "alert_details")))]
            )
        ],
    )


class UptimeRobot(Source):
    name = "uptimerobot"
    title = "UptimeRobot"
    setup = (
        "Integrations & API → Webhook: URL to notify https://<relay>/hooks/<route>?token=<secret>, send as JSON, "
        'POST value {"monitor_id": "*monitorID*", "monitor_url": "*monitorURL*", '
        '"monitor_friendly_name": "*monitorFriendlyName*", "alert_type": "*alertType*", '
        '"alert_type_friendly_name": "*alertTypeFriendlyName*", "alert_details": "*alertDetails*", '
        '"alert_friendly_duration": "*alertFriendlyDuration*"}'
    )
    schema = AlertSchema
    events: ClassVar[dict[str, Event]] = {
        "down": Event(format_state), "up": Event(format_state), "ssl_expiry": Event(format_ssl_expiry),
    }

    def detect_event(self, payload, headers):
        return alert_kind(payload)


SOURCE = UptimeRobot()
