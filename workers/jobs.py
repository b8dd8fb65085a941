"""RQ job entry points. Their dotted paths are stored in Redis with every queued job, so they are a
compatibility surface: rename one and jobs queued before a deploy fail after it.

`process_webhook` formats one accepted webhook and appends the resulting messages to the outboxes
of their channels; the delivery loop (`workers.dispatcher`) posts them.
"""

from __future__ import annotations

import logging
import time
import uuid

from bot import markdown as md
from bot.message import Message, render
from bot.sources import SOURCES
from bot.templates import TemplateError
from workers import runtime

log = logging.getLogger("relay.worker")

# Seconds by which urgent messages jump the queue when the budget is short. Bounded, so an old
# informational message eventually outranks a stream of new critical ones (no starvation).
PRIORITY_BOOST = {"critical": 300.0, "error": 240.0, "warning": 60.0}


def priority_boost(message: Message) -> float:
    if message.status == "resolved":
        return 0.0
    return PRIORITY_BOOST.get(message.severity, 0.0)


def _fallback(envelope: dict, error: str) -> Message:
    """Said in the channel when a formatter fails, so the event is not silently lost."""
    return Message(
        title=f"{envelope['source']} {envelope['event']} webhook could not be formatted",
        severity="warning",
        body=[md.fields([("Delivery", md.code(envelope["delivery_id"])), ("Error", md.inline(error, 300))])],
    )


def _text(route, message: Message, envelope: dict) -> str:
    if route.template is None:
        return render(message)
    context = {"payload": envelope["payload"], "event": envelope["event"], "source": envelope["source"],
               "route": route.name, "message": {"title": message.title, "url": message.url,
                                                "severity": message.severity, **message.routing_facts()}}
    try:
        return route.template.render(context)
    except TemplateError as exc:
        log.error("route template failed; using the default format", extra={"route": route.name, "error": str(exc)})
        return render(message)


def process_webhook(envelope: dict) -> dict:
    """Formats one accepted webhook and queues its messages for delivery."""
    rt = runtime.get()
    delivery_id = envelope["delivery_id"]
    route = rt.config.routes.get(envelope["route"])
    source = SOURCES.get(envelope["source"])
    if route is None or source is None:
        log.error("route or source no longer configured; dropping", extra={"delivery_id": delivery_id,
                                                                          "route": envelope["route"]})
        return {"messages": 0, "reason": "route not configured"}
    source.side_effect(envelope["event"], envelope["payload"], route, rt.http_get)
    try:
        messages = source.format(envelope["event"], envelope["payload"])
    except Exception as exc:  # a formatter bug must not lose the event
        log.exception("formatter failed", extra={"delivery_id": delivery_id, "route": route.name})
        messages = [_fallback(envelope, f"{type(exc).__name__}: {exc}")]
    accepted_at = float(envelope.get("received_at") or time.time())
    items = []
    for message in messages:
        if not route.wants(message):
            continue
        text = _text(route, message, envelope)
        for channel in route.destinations(message):
            items.append({
                "id": uuid.uuid4().hex,
                "delivery_id": delivery_id,
                "route": route.name,
                "event": envelope["event"],
                "channel": channel,
                "text": text,
                "name": route.sender_name,
                "severity": message.severity,
                "status": message.status,
                "accepted_at": accepted_at,
                "score": accepted_at - priority_boost(message),
            })
    if items:
        rt.outbox.push(items, marker=delivery_id)
    rt.history.formatted(envelope, items)
    log.info("formatted", extra={"delivery_id": delivery_id, "route": route.name, "event": envelope["event"],
                                 "messages": len(items)})
    return {"messages": len(items)}
