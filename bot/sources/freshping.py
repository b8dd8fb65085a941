"""`freshping`: Freshping's webhook integration for its uptime checks.

Freshping posts the check's new state in `webhook_event_data`: "Not Responding" or "Reporting
Error" fire a down alert with the HTTP status code and response time, "Available" resolves it.
The integration's test delivery (application "Webhook test") confirms the setup.
"""

from typing import ClassVar

from marshmallow import fields

from bot import markdown as md
from bot.message import Message
from bot.sources._monitoring import check_alert, target
from bot.sources.base import Event, Lenient, Source

# Freshping's state name -> event; a check is down in every state but "Available".
STATES = {"available": "up", "not responding": "down", "reporting error": "down"}
TEST_APPLICATION = "Webhook test"


class EventDataSchema(Lenient):
    check_name = fields.Str(required=True)
    check_state_name = fields.Str(required=True)
    request_url = fields.Str(allow_none=True)
    application_name = fields.Str(allow_none=True)
    http_status_code = fields.Raw(allow_none=True)
    response_time = fields.Raw(allow_none=True)


class FreshpingSchema(Lenient):
    webhook_event_id = fields.Raw(allow_none=True)
    webhook_event_data = fields.Nested(EventDataSchema, required=True)


def _is_test(data: dict) -> bool:
    return (data.get("application_name") or "").strip() == TEST_APPLICATION


def format_state(p: dict) -> Message:
    data = p["webhook_event_data"]
    up = STATES.get(data["check_state_name"].strip().lower()) == "up"
    code = data.get("http_status_code")
    elapsed = data.get("response_time")
    return check_alert(
        data["check_name"],
        up=up,
        key=data.get("check_id"),
        fields=[
            ("Target", target(data.get("request_url"))),
            ("State", "" if up else md.inline(data["check_state_name"], 60)),
            ("HTTP status", "" if up or code in (None, "") else md.inline(code, 10)),
            ("Response time", "" if up or elapsed in (None, "") else f"{md.inline(elapsed, 20)} ms"),
        ],
    )


def format_test(p: dict) -> Message:
    data = p["webhook_event_data"]
    return Message(
        title="Freshping webhook test",
        body=[md.fields([("Check", md.inline(data["check_name"], 120)), ("Target", target(data.get("request_url")))])],
    )


class Freshping(Source):
    name = "freshping"
    title = "Freshping"
    setup = (
        "Settings → Integrations → Webhook → Create Integration: Trigger the webhook https://<relay>/hooks/<route>, "
        "tick Requires Basic Authentication with any user name and the secret as password"
    )
    schema = FreshpingSchema
    events: ClassVar[dict[str, Event]] = {
        "down": Event(format_state), "up": Event(format_state), "test": Event(format_test),
    }

    def detect_event(self, payload, headers):
        data = payload["webhook_event_data"]
        if _is_test(data):
            return "test"
        return STATES.get(data["check_state_name"].strip().lower()) or data["check_state_name"].strip() or None

    def payload_delivery_id(self, event, payload):
        event_id = str(payload.get("webhook_event_id") or "")
        return f"event:{event_id[:100]}" if event_id else None


SOURCE = Freshping()
