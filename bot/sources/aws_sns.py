"""`aws-sns`: Amazon SNS HTTP(S) subscriptions.

SNS posts a JSON envelope (labelled `text/plain`) whose `Type` says what it is. A `Notification`
carrying a CloudWatch alarm state change becomes an alert linked to the alarm in the console; any
other notification is shown with its subject and text. A `SubscriptionConfirmation` is shown with
the link that confirms it, and `confirm_subscription()` lets the worker confirm it itself, visiting
only SNS's own ConfirmSubscription URLs.
"""

import json
import re
from typing import ClassVar
from urllib.parse import parse_qs, quote, urlsplit

from marshmallow import fields

from bot import markdown as md
from bot.message import Message
from bot.sources._monitoring import alert_ref
from bot.sources.base import Event, Lenient, Source

_SNS_HOST = re.compile(r"sns\.[a-z]{2}(?:-[a-z]+)+-\d+\.amazonaws\.com(?:\.cn)?")
_REGION = re.compile(r"[a-z]{2}(?:-[a-z]+)+-\d+")
_CONSOLES = {
    "aws": "console.aws.amazon.com",
    "aws-cn": "console.amazonaws.cn",
    "aws-us-gov": "console.amazonaws-us-gov.com",
}
# CloudWatch's alarm states: (title wording, severity, alert status).
_STATES = {
    "ALARM": ("is in ALARM", "error", "firing"),
    "OK": ("is OK", "success", "resolved"),
    "INSUFFICIENT_DATA": ("has insufficient data", "warning", None),
}
_OPERATORS = {
    "GreaterThanOrEqualToThreshold": ">=",
    "GreaterThanThreshold": ">",
    "LessThanThreshold": "<",
    "LessThanOrEqualToThreshold": "<=",
}


class EnvelopeSchema(Lenient):
    Type = fields.Str(required=True)
    MessageId = fields.Str(required=True)
    TopicArn = fields.Str(required=True)


class NotificationSchema(Lenient):
    Message = fields.Str(required=True)
    Subject = fields.Str(allow_none=True)


class ConfirmationSchema(Lenient):
    SubscribeURL = fields.Str(required=True)


class DimensionSchema(Lenient):
    name = fields.Str(allow_none=True)
    value = fields.Str(allow_none=True)


class TriggerSchema(Lenient):
    MetricName = fields.Str(allow_none=True)
    Namespace = fields.Str(allow_none=True)
    Threshold = fields.Float(allow_none=True)
    ComparisonOperator = fields.Str(allow_none=True)
    Dimensions = fields.List(fields.Nested(DimensionSchema), allow_none=True)


class AlarmSchema(Lenient):
    """A CloudWatch alarm state change, as CloudWatch publishes it in the SNS `Message` string."""

    AlarmName = fields.Str(required=True)
    NewStateValue = fields.Str(required=True)
    NewStateReason = fields.Str(allow_none=True)
    AlarmDescription = fields.Str(allow_none=True)
    AlarmArn = fields.Str(allow_none=True)
    Region = fields.Str(allow_none=True)
    Trigger = fields.Nested(TriggerSchema, allow_none=True)


_ALARM_SCHEMA = AlarmSchema()


def is_subscribe_url(url) -> bool:
    """True only for `https://sns.<region>.amazonaws.com[.cn]/?Action=ConfirmSubscription…`: https,
    SNS's own host (no user info, no port), the root path, the action named once, no fragment."""
    if not isinstance(url, str) or any(c.isspace() or not c.isprintable() for c in url):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    # Matching the whole netloc also rules out user info (`sns…@evil`) and ports.
    return (
        parts.scheme == "https"
        and _SNS_HOST.fullmatch(parts.netloc) is not None
        and parts.path == "/"
        and not parts.fragment
        and parse_qs(parts.query).get("Action") == ["ConfirmSubscription"]
    )


def confirm_subscription(payload: dict, http_get) -> str:
    """Confirms a subscription by visiting its SubscribeURL with `http_get`; returns the URL.

    The URL comes from the request body, so it is checked to be SNS's own ConfirmSubscription
    endpoint first: fetching whatever a body names would let it point the relay anywhere (SSRF).
    Raises ValueError when it is not.
    """
    url = payload.get("SubscribeURL") if isinstance(payload, dict) else None
    if not is_subscribe_url(url):
        raise ValueError("SubscribeURL is not an Amazon SNS ConfirmSubscription URL")
    http_get(url)
    return url


def _topic(p: dict) -> str:
    return p["TopicArn"].rsplit(":", 1)[-1]


def _alarm_url(alarm: dict, topic_arn: str) -> str | None:
    """The alarm's page in the CloudWatch console. The payload's `Region` is a display name
    ("US East (N. Virginia)"), so the region code is read from the alarm's or the topic's ARN."""
    for arn in (alarm.get("AlarmArn") or "", topic_arn):
        parts = arn.split(":")
        if len(parts) > 3 and parts[1] in _CONSOLES and _REGION.fullmatch(parts[3]):
            host, region = _CONSOLES[parts[1]], parts[3]
            return f"https://{host}/cloudwatch/home?region={region}#alarmsV2:alarm/{quote(alarm['AlarmName'], safe='')}"
    return None


def _metric(trigger: dict) -> str:
    """The alarm's metric and threshold, e.g. `CPUUtilization > 80` (AWS/EC2)."""
    name = trigger.get("MetricName")
    if not name:
        return ""
    threshold, operator = trigger.get("Threshold"), trigger.get("ComparisonOperator") or ""
    shown = md.code(name if threshold is None else f"{name} {_OPERATORS.get(operator, operator)} {float(threshold):g}")
    namespace = trigger.get("Namespace")
    return f"{shown} ({md.inline(namespace)})" if namespace else shown


def _alarm_message(alarm: dict, topic_arn: str) -> Message:
    state = alarm["NewStateValue"]
    wording, severity, status = _STATES.get(state, (f"is {state}", "info", None))
    trigger = alarm.get("Trigger") or {}
    dimensions = [f"{d['name']}={d.get('value') or ''}" for d in trigger.get("Dimensions") or [] if d.get("name")]
    return Message(
        title=f"{alarm['AlarmName']} {wording}",
        url=_alarm_url(alarm, topic_arn),
        severity=severity,
        status=status,
        body=[
            md.text(alarm.get("AlarmDescription") or "", 1000),
            md.text(alarm.get("NewStateReason") or "", 1000),
            md.fields(
                [
                    ("Metric", _metric(trigger)),
                    ("Dimensions", md.code(", ".join(dimensions[:5]))),
                    ("Region", md.inline(alarm.get("Region"))),
                ]
            ),
        ],
        labels={"alarm": alarm["AlarmName"], "state": state},
        # The state change time is when an ALARM began, or when it ended for OK.
        alert=alert_ref(alarm.get("AlarmArn"), up=status == "resolved",
                        started_at=alarm.get("StateChangeTime") if status == "firing" else None,
                        ended_at=alarm.get("StateChangeTime")) if status else None,
    )


def _json_object(text: str):
    if not text.lstrip().startswith("{"):
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def format_notification(p: dict) -> Message:
    data = _json_object(p["Message"])
    if isinstance(data, dict) and not _ALARM_SCHEMA.validate(data):
        return _alarm_message(data, p["TopicArn"])
    subject = p.get("Subject") or ""
    if data is not None:
        title, body = (
            subject or f"Notification on {_topic(p)}",
            md.fenced(json.dumps(data, indent=2, ensure_ascii=False), "json"),
        )
    elif subject:
        title, body = subject, md.text(p["Message"].strip(), 3000)
    else:
        title = md.first_line(p["Message"]) or f"Notification on {_topic(p)}"
        body = md.text("\n".join(p["Message"].strip().splitlines()[1:]).strip(), 3000)
    return Message(
        title=title,
        body=[body, md.fields([("Topic", md.code(_topic(p)))])],
        labels={"topic": _topic(p)},
    )


def format_confirmation(p: dict) -> Message:
    url = p["SubscribeURL"]
    action = (
        md.link("Confirm the subscription", url) + " (routes with `confirm_subscription: true` confirm it themselves)."
        if is_subscribe_url(url)
        else md.text("Its SubscribeURL is not an Amazon SNS address, so no link is shown.")
    )
    return Message(
        title=f"Amazon SNS subscription requested for {_topic(p)}",
        body=[
            md.text("Amazon SNS asks to deliver topic ") + md.code(p["TopicArn"]) + md.text(" to this channel."),
            action,
        ],
        labels={"topic": _topic(p)},
    )


class AwsSns(Source):
    name = "aws-sns"
    title = "Amazon SNS"
    setup = (
        "In the SNS console, create an HTTPS subscription to https://<relay>/hooks/<route>?token=<secret> "
        "(or https://relay:<secret>@<relay>/hooks/<route>), with raw message delivery off"
    )
    schema = EnvelopeSchema
    events: ClassVar[dict[str, Event]] = {
        "Notification": Event(format_notification, NotificationSchema),
        "SubscriptionConfirmation": Event(format_confirmation, ConfirmationSchema),
    }
    ignored: ClassVar[dict[str, str]] = {"UnsubscribeConfirmation": "unsubscribe confirmations need no message"}

    def detect_event(self, payload, headers):
        return payload["Type"]

    def payload_delivery_id(self, event, payload):
        return payload["MessageId"]

    def side_effect(self, event, payload, route, http_get):
        # Confirming subscribes the relay to a topic, so it happens only where the route opts in.
        if event == "SubscriptionConfirmation" and route.confirm_subscription:
            confirm_subscription(payload, http_get)


SOURCE = AwsSns()
