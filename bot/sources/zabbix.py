"""`zabbix`: Zabbix problem and recovery notifications, sent by a Webhook media type.

Zabbix webhooks run a small script with parameters filled from macros. The setup line describes the
parameters this module reads: the host, the trigger (the problem's name), its severity, the event
status (PROBLEM, or RESOLVED/OK on recovery), the item that changed and a link to the event in the
Zabbix frontend. A problem fires an alert with Zabbix's severity, a recovery resolves it.
"""

from typing import ClassVar
from urllib.parse import parse_qs, urlsplit

from marshmallow import fields

from bot import markdown as md
from bot.message import Message, severity_of
from bot.sources._monitoring import alert, is_recovery, target
from bot.sources.base import Event, Lenient, Source


class NotificationSchema(Lenient):
    hostname = fields.Str(required=True)
    trigger = fields.Str(required=True)
    status = fields.Str(required=True)
    severity = fields.Str(allow_none=True)
    item = fields.Str(allow_none=True)
    link = fields.Str(allow_none=True)
    duration = fields.Str(allow_none=True)


def format_notification(p: dict) -> Message:
    up = is_recovery(p["status"])
    return alert(
        f"Resolved: {p['trigger']}" if up else p["trigger"],
        up=up,
        url=p.get("link"),
        severity=severity_of(p.get("severity"), "error"),
        fields=[
            ("Host", target(p["hostname"])),
            ("Severity", md.inline(p.get("severity"))),
            ("Item", md.inline(p.get("item"))),
            ("Duration", md.inline(p.get("duration"))),
        ],
        labels={"host": p["hostname"]},
        # {EVENT.ID} in a recovery message is the problem's event id, so the link names the alert.
        key=(parse_qs(urlsplit(p.get("link") or "").query).get("eventid") or [None])[0],
    )


class Zabbix(Source):
    name = "zabbix"
    title = "Zabbix"
    setup = (
        "Alerts → Media types → Create media type: type Webhook, parameters hostname={HOST.NAME}, "
        "trigger={EVENT.NAME}, status={EVENT.STATUS}, severity={EVENT.SEVERITY}, item={ITEM.NAME1} is {ITEM.VALUE1}, "
        "duration={EVENT.DURATION}, link={$ZABBIX.URL}/tr_events.php?triggerid={TRIGGER.ID}&eventid={EVENT.ID}, "
        "and a script that POSTs them as JSON to https://<relay>/hooks/<route> with the header "
        "Authorization: Bearer <secret>"
    )
    schema = NotificationSchema
    events: ClassVar[dict[str, Event]] = {"problem": Event(format_notification), "resolved": Event(format_notification)}

    def detect_event(self, payload, headers):
        # {EVENT.STATUS} says RESOLVED on recovery; {TRIGGER.STATUS} says OK.
        status = payload["status"].strip().lower()
        return "resolved" if status == "ok" else status or None


SOURCE = Zabbix()
