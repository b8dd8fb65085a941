"""`healthchecks`: Healthchecks.io's webhook integration.

Placeholders as listed on the integration's form (Integrations → Webhook; the form's table in
https://github.com/healthchecks/healthchecks, v3.5).

Healthchecks posts whatever body the integration defines, filling in `$PLACEHOLDERS`; the
"Execute on down events" and "Execute on up events" sections each take a URL and a body. This
module reads the recommended body below, used in both sections (self-hosted instances put their
own address in `details_url`):

    {"name": $NAME_JSON, "status": "$STATUS", "code": "$CODE", "slug": "$SLUG", "tags": "$TAGS",
     "now": "$NOW", "exitstatus": "$EXITSTATUS", "details_url": "https://healthchecks.io/checks/$CODE/details/"}

`$NAME_JSON` (not `"$NAME"`) because Healthchecks puts `$NAME` in verbatim: a check name with a
double quote would make the body invalid JSON. `$STATUS` is "down" (fires an error alert) or "up"
(resolves it); `$CODE`, the check's UUID, is the alert's identity across the two. `$EXITSTATUS` is
the last ping's exit status, "-1" when the ping gave none.

Healthchecks does not sign webhooks, so the secret goes in the URL (`?token=`) or in a header the
integration adds (`Authorization: Bearer <secret>`). It sends no delivery id: retries are recognised
by a hash of the body.
"""

from typing import ClassVar

from marshmallow import fields

from bot import markdown as md
from bot.message import Message
from bot.sources._monitoring import check_alert
from bot.sources.base import Event, Lenient, Source

TEMPLATE = (
    '{"name": $NAME_JSON, "status": "$STATUS", "code": "$CODE", "slug": "$SLUG", "tags": "$TAGS", '
    '"now": "$NOW", "exitstatus": "$EXITSTATUS", "details_url": "https://healthchecks.io/checks/$CODE/details/"}'
)
# Healthchecks' value of $EXITSTATUS when the last ping carried none.
NO_EXIT_STATUS = "-1"


class CheckSchema(Lenient):
    name = fields.Str(required=True)
    status = fields.Str(required=True)
    code = fields.Str(allow_none=True)
    slug = fields.Str(allow_none=True)
    tags = fields.Str(allow_none=True)
    now = fields.Str(allow_none=True)
    exitstatus = fields.Raw(allow_none=True)
    details_url = fields.Str(allow_none=True)


def _text(p: dict, key: str) -> str:
    return str(p.get(key) or "").strip()


def format_check(p: dict) -> Message:
    up = _text(p, "status").lower() == "up"
    exit_status = _text(p, "exitstatus")
    tags = _text(p, "tags").split()
    now = _text(p, "now") or None
    return check_alert(
        p["name"].strip() or _text(p, "slug") or "Healthchecks check",
        up=up,
        url=_text(p, "details_url") or None,
        fields=[
            ("Down since" if not up else "Up since", md.inline(now or "", 40)),
            ("Last exit status", md.code(exit_status, 20) if exit_status and exit_status != NO_EXIT_STATUS else ""),
            ("Tags", ", ".join(md.code(tag, 60) for tag in tags[:10])),
        ],
        key=_text(p, "code") or None,
        started_at=None if up else now,
        ended_at=now if up else None,
    )


class Healthchecks(Source):
    name = "healthchecks"
    title = "Healthchecks.io"
    setup = (
        "Project → Integrations → Webhook: in both Execute on down events and Execute on up events, "
        "POST to https://<relay>/hooks/<route>?token=<secret>, header Content-Type: application/json, "
        f"request body {TEMPLATE}"
    )
    schema = CheckSchema
    events: ClassVar[dict[str, Event]] = {"down": Event(format_check), "up": Event(format_check)}

    def detect_event(self, payload, headers):
        return _text(payload, "status").lower() or None


SOURCE = Healthchecks()
