"""`rollbar`: Rollbar's per-project webhook notifications.

Documented at https://docs.rollbar.com/docs/webhooks: every notification is a JSON POST
`{"event_name": ..., "data": {...}}`. The item events (`new_item`, `occurrence`,
`exp_repeat_item`, `item_velocity`, `reactivated_item`, `reopened_item`, `resolved_item`) carry the
item as the API's read endpoints return it under `data.item` (`id`, `counter`, `title`,
`environment`, `total_occurrences`, `level` as a number: 10 debug … 50 critical), with its latest
occurrence in `item.last_occurrence` or, for `occurrence`, in `data.occurrence` (`uuid`, `level`,
`body.trace` frames, `server.host`). `exp_repeat_item` adds the power of ten reached
(`data.occurrences`), `item_velocity` the rule's `data.trigger` (`threshold`,
`window_size_description`). `deploy` carries `data.deploy` (`environment`, `revision`,
`local_username`, `comment`, `status`). Rollbar's "Send test notification" posts `event_name`
"test", which produces no message.

Errors are alerts keyed by the item's `id`: new, reactivated and reopened items and their
occurrences fire with the item's level, `resolved_item` resolves the same alert. A power of ten,
a high-rate trigger and each single occurrence are news about a firing alert (its revision), not
repeats. Payloads have no web URL; the message links the occurrence with Rollbar's UUID redirect
(`https://rollbar.com/instance/uuid?uuid=<uuid>`, as Rollbar's SDKs build it) when there is one.

Rollbar does not sign webhooks or send a secret header, so the route secret goes in the URL
(`?token=`). Rollbar sends no delivery id: occurrences are recognised by their UUID, new items
by the item id, a power of ten by both, deploys by the deploy id, anything else by a body hash.
"""

from __future__ import annotations

import re
from typing import ClassVar

from marshmallow import fields

from bot import markdown as md
from bot.message import Message, severity_of
from bot.sources._ci import build_message, elapsed, outcome
from bot.sources._monitoring import alert_ref
from bot.sources.base import Event, Lenient, Source

MAX_FRAMES = 5
OCCURRENCE_URL = "https://rollbar.com/instance/uuid?uuid={}"
_UUID = re.compile(r"[0-9a-fA-F-]{32,36}")
# Rollbar's numeric item levels.
LEVELS = {10: "debug", 20: "info", 30: "warning", 40: "error", 50: "critical"}
# event_name -> how the title says it; all are about one item.
ITEM_EVENTS = {
    "new_item": "New item",
    "occurrence": "New occurrence",
    "exp_repeat_item": "Item reached {n} occurrences",
    "item_velocity": "High occurrence rate",
    "reactivated_item": "Item reactivated",
    "reopened_item": "Item reopened",
    "resolved_item": "Item resolved",
}
# Rollbar's deploy statuses (its Deploy API); a deploy reported without one is finished.
DEPLOY_RESULTS = {
    "started": ("info", "started"),
    "succeeded": ("success", "succeeded"),
    "failed": ("error", "failed"),
    "timed_out": ("error", "timed out"),
}


class OccurrenceSchema(Lenient):
    uuid = fields.Str(allow_none=True)
    level = fields.Str(allow_none=True)
    body = fields.Dict(allow_none=True)
    server = fields.Dict(allow_none=True)
    code_version = fields.Raw(allow_none=True)


class ItemSchema(Lenient):
    id = fields.Raw(required=True)
    title = fields.Str(required=True)
    counter = fields.Raw(allow_none=True)
    environment = fields.Str(allow_none=True)
    level = fields.Raw(allow_none=True)
    total_occurrences = fields.Raw(allow_none=True)
    resolved_in_version = fields.Raw(allow_none=True)
    last_activated_timestamp = fields.Raw(allow_none=True)
    last_occurrence = fields.Nested(OccurrenceSchema, allow_none=True)


class TriggerSchema(Lenient):
    threshold = fields.Raw(allow_none=True)
    window_size_description = fields.Str(allow_none=True)


class ItemDataSchema(Lenient):
    item = fields.Nested(ItemSchema, required=True)
    occurrence = fields.Nested(OccurrenceSchema, allow_none=True)
    occurrences = fields.Raw(allow_none=True)
    trigger = fields.Nested(TriggerSchema, allow_none=True)


class ItemEventSchema(Lenient):
    data = fields.Nested(ItemDataSchema, required=True)


class DeploySchema(Lenient):
    id = fields.Raw(allow_none=True)
    environment = fields.Str(allow_none=True)
    revision = fields.Str(allow_none=True)
    local_username = fields.Str(allow_none=True)
    comment = fields.Str(allow_none=True)
    status = fields.Str(allow_none=True)
    start_time = fields.Raw(allow_none=True)
    finish_time = fields.Raw(allow_none=True)


class DeployDataSchema(Lenient):
    deploy = fields.Nested(DeploySchema, required=True)


class DeployEventSchema(Lenient):
    data = fields.Nested(DeployDataSchema, required=True)


class RollbarSchema(Lenient):
    event_name = fields.Str(required=True)
    data = fields.Dict(required=True)


def _level(item: dict, occurrence: dict) -> str:
    """The occurrence's level word, else the item's numeric level as a word."""
    if occurrence.get("level"):
        return str(occurrence["level"])
    level = item.get("level")
    return LEVELS.get(level, str(level)) if isinstance(level, int) else str(level or "")


def _frames(occurrence: dict) -> str:
    """The last frames of the occurrence's trace (the first trace of a chain), oldest first."""
    body = occurrence.get("body") or {}
    chain = body.get("trace_chain") if isinstance(body.get("trace_chain"), list) else []
    trace = body.get("trace") or (chain[0] if chain else None)
    frames = [f for f in (trace or {}).get("frames") or [] if isinstance(f, dict)] if isinstance(trace, dict) else []
    lines = []
    for frame in frames[-MAX_FRAMES:]:
        where = f"{frame.get('filename') or '?'}:{frame.get('lineno') or '?'}"
        lines.append(f"{where} in {frame['method']}" if frame.get("method") else where)
        if isinstance(frame.get("code"), str) and frame["code"].strip():
            lines.append("    " + frame["code"].strip())
    return md.fenced("\n".join(lines), limit=1500) if lines else ""


def _occurrence_url(occurrence: dict) -> str | None:
    uuid = str(occurrence.get("uuid") or "")
    return OCCURRENCE_URL.format(uuid) if _UUID.fullmatch(uuid) else None


def format_item(p: dict, event: str) -> Message:
    data = p["data"]
    item = data["item"]
    occurrence = data.get("occurrence") or item.get("last_occurrence") or {}
    level = _level(item, occurrence)
    up = event == "resolved_item"
    trigger = data.get("trigger") or {}
    rate = ""
    if event == "item_velocity" and trigger.get("threshold") is not None:
        window = trigger.get("window_size_description")
        rate = md.inline(f"{trigger['threshold']} occurrences" + (f" in {window}" if window else ""), 80)
    counter = item.get("counter")
    server = occurrence.get("server") if isinstance(occurrence.get("server"), dict) else {}
    fields_block = md.fields(
        [
            ("Item", md.code(f"#{counter}", 30) if counter is not None else ""),
            ("Environment", md.code(item.get("environment") or occurrence.get("environment"), 60)),
            ("Level", "" if up else md.inline(level, 20)),
            ("Rate", rate),
            ("Occurrences", md.inline(item.get("total_occurrences"), 20)),
            ("Server", "" if up else md.code(server.get("host"), 100)),
            ("Code version", "" if up else md.code(occurrence.get("code_version"), 60)),
            ("Resolved in version", md.code(item.get("resolved_in_version"), 60) if up else ""),
        ]
    )
    what = ITEM_EVENTS[event].format(n=data.get("occurrences") or "more")
    # Each occurrence, power of ten and rate trigger is news about the firing item, not a repeat of it.
    revision = {
        "occurrence": str(occurrence.get("uuid") or ""),
        "exp_repeat_item": f"{data.get('occurrences')} occurrences",
        "item_velocity": "high rate",
    }.get(event, "")
    return Message(
        title=f"{what}: {md.first_line(item['title'], 200)}",
        url=_occurrence_url(occurrence),
        severity="success" if up else severity_of(level, "error"),
        status="resolved" if up else "firing",
        body=[block for block in (fields_block, "" if up else _frames(occurrence)) if block],
        alert=alert_ref(item.get("id"), up=up, started_at=None if up else item.get("last_activated_timestamp"),
                        revision="" if up else revision),
    )


def format_deploy(p: dict) -> Message:
    deploy = p["data"]["deploy"]
    environment = deploy.get("environment") or "unknown environment"
    status = str(deploy.get("status") or "").strip().lower()
    return build_message(
        what=f"Deploy to {environment}",
        result=DEPLOY_RESULTS.get(status) or (outcome(status) if status else ("success", "finished")),
        sha=deploy.get("revision"),
        subject=deploy.get("comment"),
        by=deploy.get("local_username"),
        took=elapsed(deploy.get("start_time"), deploy.get("finish_time")),
    )


def _item_event(event: str) -> Event:
    return Event(lambda p: format_item(p, event), ItemEventSchema)


class Rollbar(Source):
    name = "rollbar"
    title = "Rollbar"
    setup = (
        "Project → Settings → Notifications → Webhook: URL https://<relay>/hooks/<route>?token=<secret>, "
        "Enable Webhook Integration, then add a rule per trigger (format JSON)"
    )
    schema = RollbarSchema
    events: ClassVar[dict[str, Event]] = {
        **{event: _item_event(event) for event in ITEM_EVENTS},
        "deploy": Event(format_deploy, DeployEventSchema),
    }
    ignored: ClassVar[dict[str, str]] = {"test": "Rollbar's test notification produces no message"}

    def detect_event(self, payload, headers):
        return payload["event_name"].strip() or None

    def payload_delivery_id(self, event, payload):
        data = payload["data"]
        if event == "deploy":
            deploy_id = data["deploy"].get("id")
            return f"deploy:{str(deploy_id)[:60]}" if deploy_id is not None else None
        item_id = str(data["item"].get("id"))[:60]
        if event == "occurrence":
            uuid = str((data.get("occurrence") or {}).get("uuid") or "")
            return f"occurrence:{uuid[:60]}" if uuid else None
        if event == "new_item":
            return f"new_item:{item_id}"
        if event == "exp_repeat_item" and data.get("occurrences") is not None:
            return f"exp_repeat_item:{item_id}:{str(data['occurrences'])[:20]}"
        return None


SOURCE = Rollbar()
