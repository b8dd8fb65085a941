"""`uptime-kuma`: Uptime Kuma's Webhook notification (JSON body).

Uptime Kuma posts `{"heartbeat": …, "monitor": …, "msg": …}`. For a state change the heartbeat says
whether the monitor is down (status 0) or up (1), with the check's message and response time; the
monitor gives its name, type and target. A monitor going down fires an alert, coming back up
resolves it, and a maintenance window starting is posted as info.

Without a heartbeat the notification is not a state change: with a monitor it is a general notice
such as a certificate about to expire (posted as a warning); with neither it is the "Test" button
of the notification settings, posted as a short message so that the setup can be checked.
"""

from typing import ClassVar

from marshmallow import fields

from bot import markdown as md
from bot.message import Message
from bot.sources._monitoring import check_alert, target
from bot.sources.base import Event, Lenient, Source

HEARTBEAT_EVENTS = {0: "down", 1: "up", 2: "pending", 3: "maintenance"}


class HeartbeatSchema(Lenient):
    status = fields.Int(required=True)
    msg = fields.Str(allow_none=True)
    ping = fields.Float(allow_none=True)


class MonitorSchema(Lenient):
    name = fields.Str(required=True)
    type = fields.Str(allow_none=True)
    url = fields.Str(allow_none=True)
    hostname = fields.Str(allow_none=True)
    port = fields.Raw(allow_none=True)


class NotificationSchema(Lenient):
    msg = fields.Str(required=True)
    heartbeat = fields.Nested(HeartbeatSchema, allow_none=True)
    monitor = fields.Nested(MonitorSchema, allow_none=True)


def _monitor(p: dict) -> dict:
    return p.get("monitor") or {"name": "Uptime Kuma monitor"}


def _fields(monitor: dict, *more) -> list:
    # Non-HTTP monitors keep a placeholder "https://" in `url`; their address is the host name.
    address = monitor.get("url") if md.safe_url(monitor.get("url")) else monitor.get("hostname")
    return [("Target", target(address, monitor.get("port"), monitor.get("type"))), *more]


def format_state(p: dict) -> Message:
    monitor, beat = _monitor(p), p["heartbeat"]
    up = int(beat["status"]) == 1
    ping = beat.get("ping")
    return check_alert(
        monitor["name"],
        up=up,
        fields=_fields(
            monitor,
            ("Reason", md.inline(beat.get("msg"))),
            ("Response time", f"{ping:g} ms" if up and ping is not None else ""),
        ),
        key=monitor.get("id"),
    )


def format_maintenance(p: dict) -> Message:
    monitor = _monitor(p)
    return Message(title=f"{monitor['name']} is under maintenance", body=[md.fields(_fields(monitor))])


def format_notice(p: dict) -> Message:
    return Message(title=p["monitor"]["name"], severity="warning", body=[md.text(p["msg"], 1000)])


def format_test(p: dict) -> Message:
    return Message(title="Uptime Kuma test notification", body=[md.text(p["msg"], 300)])


class UptimeKuma(Source):
    name = "uptime-kuma"
    title = "Uptime Kuma"
    setup = (
        "Settings → Notifications → Setup Notification: type Webhook, Post URL https://<relay>/hooks/<route>, "
        'request body "Preset - application/json", additional headers {"Authorization": "Bearer <secret>"}'
    )
    schema = NotificationSchema
    events: ClassVar[dict[str, Event]] = {
        "down": Event(format_state),
        "up": Event(format_state),
        "maintenance": Event(format_maintenance),
        "notice": Event(format_notice),
        "test": Event(format_test),
    }
    ignored: ClassVar[dict[str, str]] = {"pending": "pending heartbeats are retries before a monitor is declared down"}

    def detect_event(self, payload, headers):
        beat = payload.get("heartbeat")
        if beat:
            status = int(beat["status"])
            return HEARTBEAT_EVENTS.get(status, f"status {status}")
        return "notice" if payload.get("monitor") else "test"


SOURCE = UptimeKuma()
