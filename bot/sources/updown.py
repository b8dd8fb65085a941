"""`updown`: updown.io's webhooks for its HTTP, TCP and ICMP checks.

updown.io posts a JSON array of events. A check going down fires an alert and coming back up
resolves it (with how long it was down); an invalid SSL certificate fires one and a valid one
resolves it; a certificate close to expiry or an Apdex drop warns, and a renewed certificate is
good news. Every event of a delivery becomes its own message; the delivery is named after its
first event of a known kind, which is what a route's event filter sees.
"""

from typing import ClassVar

from marshmallow import fields, validate

from bot import markdown as md
from bot.message import Message
from bot.sources._monitoring import alert, check_alert, duration, target
from bot.sources.base import Event, Lenient, Source

CHECK_PAGE = "https://updown.io/{token}"


class CheckSchema(Lenient):
    token = fields.Str(allow_none=True)
    url = fields.Str(allow_none=True)
    alias = fields.Str(allow_none=True)
    error = fields.Str(allow_none=True)


class DowntimeSchema(Lenient):
    error = fields.Str(allow_none=True)
    duration = fields.Raw(allow_none=True)
    details_url = fields.Str(allow_none=True)


class CertSchema(Lenient):
    issuer = fields.Str(allow_none=True)
    to = fields.Str(allow_none=True)


class SslSchema(Lenient):
    error = fields.Str(allow_none=True)
    days_before_expiration = fields.Raw(allow_none=True)
    cert = fields.Nested(CertSchema, allow_none=True)
    new_cert = fields.Nested(CertSchema, allow_none=True)


class EventSchema(Lenient):
    event = fields.Str(required=True)
    description = fields.Str(allow_none=True)
    check = fields.Nested(CheckSchema, allow_none=True)
    downtime = fields.Nested(DowntimeSchema, allow_none=True)
    ssl = fields.Nested(SslSchema, allow_none=True)
    apdex_dropped = fields.Raw(allow_none=True)


class DeliverySchema(Lenient):
    events = fields.List(fields.Nested(EventSchema), required=True, validate=validate.Length(min=1))


def _check(e: dict) -> dict:
    return e.get("check") or {}


def _name(e: dict) -> str:
    check = _check(e)
    return (check.get("alias") or "").strip() or (check.get("url") or "").strip() or "updown.io check"


def _page(e: dict) -> str | None:
    token = str(_check(e).get("token") or "")
    return CHECK_PAGE.format(token=token) if token.isalnum() else None


def _target(e: dict) -> str:
    """The checked address, shown only when the title names the check by its alias."""
    check = _check(e)
    return target(check.get("url")) if (check.get("alias") or "").strip() else ""


def _cert_fields(cert: dict | None) -> list:
    cert = cert or {}
    return [("Issuer", md.inline(cert.get("issuer"), 120)), ("Expires", md.inline(cert.get("to"), 40))]


def format_down(e: dict) -> Message:
    downtime = e.get("downtime") or {}
    error = downtime.get("error") or _check(e).get("error")
    return check_alert(
        _name(e),
        up=False,
        url=downtime.get("details_url") or _page(e),
        fields=[("Target", _target(e)), ("Error", md.inline(error, 200))],
        key=_check(e).get("token"),
        started_at=downtime.get("started_at"),
    )


def format_up(e: dict) -> Message:
    downtime = e.get("downtime") or {}
    return check_alert(
        _name(e),
        up=True,
        url=_page(e),
        fields=[("Target", _target(e)), ("Down for", duration(downtime.get("duration")))],
        key=_check(e).get("token"),
        started_at=downtime.get("started_at"),
        ended_at=downtime.get("ended_at"),
    )


def format_ssl_invalid(e: dict) -> Message:
    ssl = e.get("ssl") or {}
    return alert(
        f"SSL certificate of {_name(e)} is invalid",
        up=False,
        url=_page(e),
        fields=[("Target", _target(e)), ("Error", md.inline(ssl.get("error"), 200)), *_cert_fields(ssl.get("cert"))],
    )


def format_ssl_valid(e: dict) -> Message:
    ssl = e.get("ssl") or {}
    return alert(
        f"SSL certificate of {_name(e)} is valid again",
        up=True,
        url=_page(e),
        fields=[("Target", _target(e)), *_cert_fields(ssl.get("cert"))],
    )


def format_ssl_expiration(e: dict) -> Message:
    ssl = e.get("ssl") or {}
    days = str(ssl.get("days_before_expiration") or "").strip()
    when = f"in {days} day{'' if days == '1' else 's'}" if days.isdigit() else "soon"
    return Message(
        title=f"SSL certificate of {_name(e)} expires {when}",
        url=_page(e),
        severity="warning",
        body=[md.fields([("Target", _target(e)), *_cert_fields(ssl.get("cert"))])],
    )


def format_ssl_renewed(e: dict) -> Message:
    ssl = e.get("ssl") or {}
    return Message(
        title=f"SSL certificate of {_name(e)} was renewed",
        url=_page(e),
        severity="success",
        body=[md.fields([("Target", _target(e)), *_cert_fields(ssl.get("new_cert"))])],
    )


def format_performance_drop(e: dict) -> Message:
    return Message(
        title=f"Performance of {_name(e)} dropped",
        url=_page(e),
        severity="warning",
        body=[md.fields([("Target", _target(e)), ("Apdex dropped by", md.inline(e.get("apdex_dropped"), 20))])],
    )


FORMATTERS = {
    "check.down": format_down,
    "check.up": format_up,
    "check.ssl_invalid": format_ssl_invalid,
    "check.ssl_valid": format_ssl_valid,
    "check.ssl_expiration": format_ssl_expiration,
    "check.ssl_renewed": format_ssl_renewed,
    "check.performance_drop": format_performance_drop,
}


def format_delivery(p: dict) -> list[Message]:
    """One message per event of a kind this module knows, in the order updown.io sent them."""
    return [FORMATTERS[e["event"]](e) for e in p["events"] if e["event"] in FORMATTERS]


class Updown(Source):
    name = "updown"
    title = "updown.io"
    setup = "Settings → Webhooks: add the URL https://<relay>/hooks/<route>?token=<secret>"
    schema = DeliverySchema
    events: ClassVar[dict[str, Event]] = {kind: Event(format_delivery) for kind in FORMATTERS}

    def parse_body(self, body, content_type):
        # updown.io posts a bare array; wrapping it lets the schema check it like any other payload.
        payload = super().parse_body(body, content_type)
        return {"events": payload} if isinstance(payload, list) else payload

    def detect_event(self, payload, headers):
        kinds = [e["event"] for e in payload["events"]]
        return next((kind for kind in kinds if kind in FORMATTERS), kinds[0])


SOURCE = Updown()
