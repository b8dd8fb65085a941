"""RQ job entry points. Their dotted paths are stored in Redis with every queued job, so they are a
compatibility surface: rename one and jobs queued before a deploy fail after it.

`process_webhook` formats one accepted webhook and appends the resulting messages to the outboxes
of their channels; the delivery loop (`workers.dispatcher`) posts them.
"""

from __future__ import annotations

import logging
import time
import uuid

from rq.timeouts import JobTimeoutException

from bot import lifecycle
from bot import markdown as md
from bot.enqueue import JOB_FUNCTION
from bot.message import Message, render
from bot.sources import SOURCES
from bot.store.alerts import alert_id
from bot.store.outbox import OutboxItem, dm_address
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


def _side_effect_failed(source, envelope: dict, error: str) -> Message:
    """Said in the channel when the work a sender asked for (e.g. confirming an SNS subscription)
    failed, so that a person can do it by hand; the event's own message follows."""
    return Message(
        title=f"{source.title}: the relay could not act on this {envelope['event']}",
        severity="warning",
        body=[md.fields([("Delivery", md.code(envelope["delivery_id"])), ("Error", md.inline(error, 300))])],
    )


def _error(exc: BaseException) -> str:
    # HTTP errors name the URL, which may carry a sender's one-time token: the status is enough.
    status = getattr(getattr(exc, "response", None), "status_code", None)
    return f"{type(exc).__name__}" + (f" (HTTP {status})" if status else f": {exc}")


def _messages(rt, source, route, envelope: dict) -> tuple[list[Message], list[Message]]:
    """The event's messages, and warnings that are said whatever the route's filters are."""
    warnings = []
    try:
        source.side_effect(envelope["event"], envelope["payload"], route, rt.http_get)
    except JobTimeoutException:
        raise
    except Exception as exc:
        log.error("sender's request failed", extra={"delivery_id": envelope["delivery_id"], "route": route.name,
                                                    "error": _error(exc)})
        warnings.append(_side_effect_failed(source, envelope, _error(exc)))
    try:
        messages = source.format(envelope["event"], envelope["payload"])
    except JobTimeoutException:  # RQ's job timeout: the job fails and is retried, never a fallback
        raise
    except Exception as exc:  # a formatter bug must not lose the event
        log.exception("formatter failed", extra={"delivery_id": envelope["delivery_id"], "route": route.name})
        messages = [_fallback(envelope, f"{type(exc).__name__}: {exc}")]
    return messages, warnings


def _with_line(text: str, line: str) -> str:
    """`text` with a lifecycle line (a duration) after it; the text gives way, never the line."""
    if not line:
        return text
    return md.fit([text], md.MAX_MESSAGE - len(line) - 2) + "\n\n" + line


def _lifecycle(rt, route, message: Message, delivery_id: str, text: str, channels: list[str]) -> dict:
    """The alert's lifecycle decision for this message (see `bot.lifecycle`)."""
    now = time.time()
    return rt.alerts.observe(
        alert_id(route.name, message.alert.key), delivery_id,
        lambda state: lifecycle.decide(state, message.alert, message, route, now, rendered=text, channels=channels))


def process_webhook(envelope: dict) -> dict:
    """Formats one accepted webhook and queues its messages for delivery.

    Every accepted webhook ends in one visible state: messages in the outbox, "nothing to post"
    with the reason in its history, or the failed list with the reason (a route removed by a
    reload; a job that failed for the last time, see `record_job_failure`)."""
    rt = runtime.get()
    delivery_id = envelope["delivery_id"]
    route = rt.config.routes.get(envelope["route"])
    source = SOURCES.get(envelope["source"])
    if route is None or source is None or route.source.name != source.name:
        reason = (f"route {envelope['route']} is no longer configured for source {envelope['source']}; "
                  "replay it once the route is back")
        log.error("route no longer configured; webhook kept on the failed list",
                  extra={"delivery_id": delivery_id, "route": envelope["route"]})
        rt.failed.add_webhook(envelope, reason)
        rt.history.unformatted(envelope, reason)
        return {"messages": 0, "reason": reason}
    messages, warnings = _messages(rt, source, route, envelope)
    accepted_at = float(envelope.get("received_at") or time.time())
    items, skipped = [], []
    for message, always in [(m, True) for m in warnings] + [(m, False) for m in messages]:
        why = None if always else route.filter_reason(message, envelope.get("branch"))
        # A warning about the relay's own failure is said even where no channel rule matches it.
        channels = [] if why else (route.destinations(message) or ([route.channels[0].channel] if always else []))
        if not why and not channels:
            why = "no channel rule matches the message"
        if why:
            skipped.append(why)
            continue
        text = render(message) if always else route.render_text(message, envelope)
        addresses, dm_text = channels, ""
        if not always and message.alert is not None:
            decision = _lifecycle(rt, route, message, delivery_id, text, channels)
            if decision["action"] == "skip":
                skipped.append(decision["reason"])
                addresses = []
            text = decision.get("text") or _with_line(text, decision.get("line", ""))
            dm_text = decision.get("dm")
            addresses = [*addresses, *(dm_address(u) for u in decision.get("dm_users", []))]
        for address in addresses:
            dm = address not in channels
            items.append(OutboxItem(
                id=uuid.uuid4().hex, delivery_id=delivery_id, route=route.name, event=envelope["event"],
                channel=address, text=dm_text if dm else text, name=route.sender_name, severity=message.severity,
                status=message.status, accepted_at=accepted_at, score=accepted_at - priority_boost(message)))
    reason = None if items else ("; ".join(dict.fromkeys(skipped)) or f"the {envelope['event']} event has no message")
    # History first: the delivery threads may post (and record "posted") as soon as the push lands.
    rt.history.formatted(envelope, items, reason)
    if items:
        rt.outbox.push(items, marker=delivery_id)
    log.info("formatted", extra={"delivery_id": delivery_id, "route": route.name, "event": envelope["event"],
                                 "messages": len(items), **({"reason": reason} if reason else {})})
    return {"messages": len(items)}


def record_job_failure(job, exc_type, exc_value, traceback) -> bool:
    """RQ exception handler of the relay's worker: a webhook job failing for the last time (RQ's
    retries used up, a timeout included) goes on the relay's failed list with the reason, where
    `failed`, `replay` and /metrics see it; RQ's own failed registry is read by none of them."""
    if job.func_name != JOB_FUNCTION or job.should_retry:
        return True
    try:
        envelope = job.args[0]
        error = "formatting took longer than the job timeout" if exc_type is JobTimeoutException else _error(exc_value)
        reason = f"the worker could not process this webhook: {error}"
        rt = runtime.get()
        rt.failed.add_webhook(envelope, reason)
        rt.history.unformatted(envelope, reason)
    except Exception:  # the failure stays in RQ's registry; say so rather than break RQ's handling
        log.exception("could not record a failed job on the failed list", extra={"job_id": job.id})
    return True
