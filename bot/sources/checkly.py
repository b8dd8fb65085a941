"""`checkly`: Checkly's webhook alert channel, with the body template below.

Documentation: https://www.checklyhq.com/docs/integrations/alerts/webhooks/ (variables, webhook
secrets, retries) and https://www.checklyhq.com/docs/communicate/alerts/overview/ (alert states).

Checkly posts whatever body the channel's template renders (Handlebars: `{{VARIABLE}}`). This module
reads the recommended template below; set it as the channel's request body:

    {"alert_type": "{{ALERT_TYPE}}", "alert_title": "{{ALERT_TITLE}}", "check_id": "{{CHECK_ID}}",
     "check_name": "{{CHECK_NAME}}", "check_type": "{{CHECK_TYPE}}", "group_name": "{{GROUP_NAME}}",
     "check_result_id": "{{CHECK_RESULT_ID}}", "result_link": "{{RESULT_LINK}}",
     "error_message": "{{CHECK_ERROR_MESSAGE}}", "response_time": "{{RESPONSE_TIME}}",
     "status_code": "{{API_CHECK_RESPONSE_STATUS_CODE}}", "status_text": "{{API_CHECK_RESPONSE_STATUS_TEXT}}",
     "run_location": "{{RUN_LOCATION}}", "started_at": "{{STARTED_AT}}",
     "tags": [{{#each TAGS}}"{{this}}"{{#unless @last}},{{/unless}}{{/each}}]}

Every value is a quoted string (an empty `RESPONSE_TIME` would otherwise make the body invalid).
Double braces make Handlebars HTML-escape the values (`"` becomes `&quot;`, `&` becomes `&amp;`), so
a check name with a quote still gives valid JSON; the relay decodes those entities. An error message
spanning lines arrives with raw line breaks inside a JSON string, which strict JSON refuses: such a
body is read leniently (control characters allowed inside strings), then checked like any other.

`alert_type` is the event: ALERT_FAILURE fires an error alert, ALERT_DEGRADED a warning one (API
checks past their degraded thresholds); ALERT_RECOVERY and ALERT_DEGRADED_RECOVERY resolve it. The
check's UUID is the alert's identity and the alert type its revision, so a degraded check that then
fails is news, not a repeat. Other types (ALERT_SSL, …) are not supported. Checkly retries a failed
delivery up to 5 times with the same result: the result id and alert type make the dedup key.

Auth: with a webhook secret set on the channel, `x-checkly-signature` is the hex HMAC-SHA256 of the
raw body keyed with it (no prefix). Checkly also sends `x-checkly-timestamp`, whose format the docs do
not give; it is not checked.
"""

import html
import json
from typing import ClassVar

from marshmallow import fields, validate

from bot import markdown as md
from bot.auth import HmacSignature
from bot.message import Message
from bot.sources._monitoring import alert_ref, joined
from bot.sources.base import Event, Lenient, PayloadError, Source

TEMPLATE = (
    '{"alert_type": "{{ALERT_TYPE}}", "alert_title": "{{ALERT_TITLE}}", "check_id": "{{CHECK_ID}}", '
    '"check_name": "{{CHECK_NAME}}", "check_type": "{{CHECK_TYPE}}", "group_name": "{{GROUP_NAME}}", '
    '"check_result_id": "{{CHECK_RESULT_ID}}", "result_link": "{{RESULT_LINK}}", '
    '"error_message": "{{CHECK_ERROR_MESSAGE}}", "response_time": "{{RESPONSE_TIME}}", '
    '"status_code": "{{API_CHECK_RESPONSE_STATUS_CODE}}", "status_text": "{{API_CHECK_RESPONSE_STATUS_TEXT}}", '
    '"run_location": "{{RUN_LOCATION}}", "started_at": "{{STARTED_AT}}", '
    '"tags": [{{#each TAGS}}"{{this}}"{{#unless @last}},{{/unless}}{{/each}}]}'
)
# alert type -> (severity while it fires, or None when it resolves; title verb)
STATES = {
    "ALERT_FAILURE": ("error", "is failing"),
    "ALERT_DEGRADED": ("warning", "is degraded"),
    "ALERT_RECOVERY": (None, "recovered"),
    "ALERT_DEGRADED_RECOVERY": (None, "is no longer degraded"),
}


class AlertSchema(Lenient):
    alert_type = fields.Str(required=True, validate=validate.Length(min=1, max=100))
    check_id = fields.Str(required=True)
    check_name = fields.Str(required=True)
    alert_title = fields.Str(allow_none=True)
    check_type = fields.Str(allow_none=True)
    group_name = fields.Str(allow_none=True)
    check_result_id = fields.Str(allow_none=True)
    result_link = fields.Str(allow_none=True)
    error_message = fields.Str(allow_none=True)
    response_time = fields.Str(allow_none=True)
    status_code = fields.Str(allow_none=True)
    status_text = fields.Str(allow_none=True)
    run_location = fields.Str(allow_none=True)
    started_at = fields.Str(allow_none=True)
    tags = fields.List(fields.Str(), allow_none=True)


def _text(p: dict, key: str) -> str:
    """A template value with Handlebars' HTML escaping undone."""
    return html.unescape(str(p.get(key) or "")).strip()


def _response(p: dict) -> str:
    status = " ".join(s for s in (_text(p, "status_code"), _text(p, "status_text")) if s)
    took = _text(p, "response_time")
    took = f"{took} ms" if took.replace(".", "", 1).isdigit() else took
    return " · ".join(md.inline(part, 80) for part in (status, took) if part)


def format_alert(p: dict) -> Message:
    severity, verb = STATES[p["alert_type"].strip()]
    up = severity is None
    tags = [md.code(html.unescape(t), 60) for t in p.get("tags") or [] if t.strip()]
    # "API", "TCP" stay as they are; "BROWSER", "MULTI_STEP" read "Browser", "Multi step".
    kind = _text(p, "check_type")
    kind = kind if len(kind) <= 3 else kind.replace("_", " ").capitalize()
    started = _text(p, "started_at") or None
    body = md.fields([
        ("Check", " in ".join(md.inline(v, 120) for v in (kind and f"{kind} check", _text(p, "group_name")) if v)),
        ("Location", md.inline(_text(p, "run_location"), 80)),
        ("Error", "" if up else md.inline(_text(p, "error_message"), 500)),
        ("Response", _response(p)),
        ("Checked at", md.inline(started or "", 40)),
        ("Tags", joined(tags)),
    ])
    return Message(
        title=f"{_text(p, 'check_name') or 'Checkly check'} {verb}",
        url=_text(p, "result_link") or None,
        severity=severity or "success",
        status="resolved" if up else "firing",
        body=[body] if body else [],
        alert=alert_ref(_text(p, "check_id"), up=up, started_at=None if up else started,
                        ended_at=started if up else None, revision="" if up else p["alert_type"].strip()),
    )


class Checkly(Source):
    name = "checkly"
    title = "Checkly"
    setup = (
        "Alert settings → Add alert channel → Webhook: method POST, URL https://<relay>/hooks/<route>, "
        "webhook secret = the route secret, header Content-Type: application/json, "
        f"body {TEMPLATE}; subscribe it to failure, degraded and recovery alerts"
    )
    auth = HmacSignature("x-checkly-signature")
    schema = AlertSchema
    events: ClassVar[dict[str, Event]] = {alert_type: Event(format_alert) for alert_type in STATES}

    def parse_body(self, body: bytes, content_type: str) -> object:
        """The body as strict JSON, or, failing that, read with raw control characters allowed inside
        strings (a multi-line `{{CHECK_ERROR_MESSAGE}}`) and checked again as strict JSON."""
        try:
            return super().parse_body(body, content_type)
        except PayloadError as strict_error:
            try:
                value = json.loads(body.decode("utf-8-sig"), strict=False)
            except (UnicodeDecodeError, ValueError, RecursionError):
                raise strict_error from None
            return super().parse_body(json.dumps(value).encode(), "application/json")

    def detect_event(self, payload, headers):
        return payload["alert_type"].strip() or None

    def payload_delivery_id(self, event, payload):
        result = str(payload.get("check_result_id") or "").strip()
        return f"{result}:{event}"[:200] if result else None


SOURCE = Checkly()
