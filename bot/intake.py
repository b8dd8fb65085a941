"""`POST /hooks/<route>`: authenticate, validate, filter, deduplicate, queue. Nothing slow happens here:
formatting and posting belong to the worker, because senders time out within seconds."""

from __future__ import annotations

import logging
import time

import redis
from flask import Blueprint, current_app, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from bot.auth import AuthError, SharedSecret
from bot.enqueue import QueueUnavailable
from bot.errors import error_response
from bot.metrics import observe
from bot.sources.base import Ignored, PayloadError
from bot.store import keys, stats

bp = Blueprint("intake", __name__)
log = logging.getLogger("relay.intake")


@bp.post("/hooks/<route_name>")
def receive(route_name: str):
    started = time.perf_counter()
    relay = current_app.extensions["relay"]
    route = relay.config.routes.get(route_name)
    if route is None:
        observe("-", "-", "unknown_route", started)
        return error_response(404, "unknown_route", f"no route named {route_name!r} is configured")
    outcome, response = _handle(relay, route)
    observe(route.name, route.source.name, outcome, started)
    if outcome not in ("queued", "unavailable"):  # queued is counted with the enqueue, in one round trip
        try:
            stats.record(relay.redis, route.name, outcome)
        except redis.RedisError:
            pass
    return response


def _over_route_limit(relay, route) -> int:
    """Counts this authenticated request in the route's current minute; returns seconds to wait if over."""
    now = time.time()
    key = keys.intake_limit(route.name, int(now // 60))
    pipe = relay.redis.pipeline(transaction=False)
    pipe.incr(key)
    pipe.expire(key, 120)
    count = pipe.execute()[0]
    return int(60 - now % 60) + 1 if count > route.max_requests_per_minute else 0


def _body(limit: int) -> bytes:
    """The raw body, refusing one over `limit` bytes with 413.

    A Content-Length over the limit is refused by werkzeug before the body is read. A chunked body
    has no length, and werkzeug's own cap silently cuts it at the limit, so at most limit + 1 bytes
    are read here: one byte more than the limit tells a body that is too large from one that fits."""
    environ = request.environ
    if request.content_length is not None or "wsgi.input_terminated" not in environ:
        return request.get_data(cache=False)
    stream = environ["wsgi.input"]
    chunks: list[bytes] = []
    size = 0
    while size <= limit:
        chunk = stream.read(limit + 1 - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > limit:
        raise RequestEntityTooLarge()
    return b"".join(chunks)


def _handle(relay, route):
    body = _body(relay.settings.max_body_bytes)
    try:
        route.authenticate(request.headers, request.args, body)
    except AuthError as exc:
        log.warning("unauthorized", extra={"route": route.name, "reason": str(exc)})
        relay.note_auth_failure(route)
        # Senders that keep credentials in the URL (Amazon SNS) send Basic auth only when challenged.
        challenge = {"WWW-Authenticate": 'Basic realm="copera-relay"'} if isinstance(route.auth, SharedSecret) else {}
        return "unauthorized", error_response(401, "unauthorized", str(exc), headers=challenge)
    if route.max_requests_per_minute:
        retry_after = _over_route_limit(relay, route)
        if retry_after:
            return "rate_limited", error_response(
                429, "rate_limited", f"route {route.name} accepts {route.max_requests_per_minute} requests a minute",
                headers={"Retry-After": str(retry_after)})
    try:
        incoming = route.source.receive(body, request.content_type or "", request.headers,
                                        screen=route.event_filter_reason)
        reason = route.branch_filter_reason(incoming.branch)
        if reason:
            raise Ignored(reason)
    except Ignored as exc:
        log.info("ignored", extra={"route": route.name, "reason": exc.reason})
        return "ignored", (jsonify(status="ignored", reason=exc.reason), 200)
    except PayloadError as exc:
        log.info("invalid payload", extra={"route": route.name, "reason": exc.message})
        return "invalid", error_response(400, "invalid_payload", exc.message, details=exc.details)
    try:
        result = relay.enqueuer.accept(route, incoming, request.headers, body)
    except QueueUnavailable as exc:
        log.error("could not queue, answering 503", extra={"route": route.name, "reason": str(exc)})
        return "unavailable", error_response(503, "unavailable", "the relay could not queue this webhook now; "
                                             "retry later", headers={"Retry-After": "30"})
    log.info(result.status, extra={"route": route.name, "event": incoming.event, "delivery_id": result.delivery_id})
    code = 202 if result.status == "queued" else 200
    return result.status, (jsonify(status=result.status, delivery_id=result.delivery_id), code)
