"""`POST /hooks/<route>`: authenticate, validate, filter, deduplicate, queue. Nothing slow happens here:
formatting and posting belong to the worker, because senders time out within seconds."""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify, request

from bot.auth import AuthError, SharedSecret
from bot.enqueue import QueueUnavailable, accept
from bot.errors import error_response
from bot.sources.base import Ignored, PayloadError

bp = Blueprint("intake", __name__)
log = logging.getLogger("relay.intake")


def _ignored(route, reason: str):
    log.info("ignored", extra={"route": route.name, "reason": reason})
    return jsonify(status="ignored", reason=reason), 200


@bp.post("/hooks/<route_name>")
def receive(route_name: str):
    relay = current_app.extensions["relay"]
    route = relay.config.routes.get(route_name)
    if route is None:
        return error_response(404, "unknown_route", f"no route named {route_name!r} is configured")
    body = request.get_data(cache=False)
    try:
        route.authenticate(request.headers, request.args, body)
    except AuthError as exc:
        log.warning("unauthorized", extra={"route": route.name, "reason": str(exc)})
        # Senders that keep credentials in the URL (Amazon SNS) send Basic auth only when challenged.
        challenge = {"WWW-Authenticate": 'Basic realm="copera-relay"'} if isinstance(route.auth, SharedSecret) else {}
        return error_response(401, "unauthorized", str(exc), headers=challenge)
    try:
        incoming = route.source.receive(body, request.content_type or "", request.headers,
                                        screen=route.event_filter_reason)
    except Ignored as exc:
        return _ignored(route, exc.reason)
    except PayloadError as exc:
        log.info("invalid payload", extra={"route": route.name, "reason": exc.message})
        return error_response(400, "invalid_payload", exc.message, details=exc.details)
    reason = route.branch_filter_reason(incoming.branch)
    if reason:
        return _ignored(route, reason)
    try:
        result = accept(relay.redis, relay.queue, route, incoming, request.headers, body)
    except QueueUnavailable:
        log.error("redis unavailable, answering 503", extra={"route": route.name})
        return error_response(503, "unavailable", "the relay's queue is unavailable; retry later",
                              headers={"Retry-After": "30"})
    log.info(result.status, extra={"route": route.name, "event": incoming.event, "delivery_id": result.delivery_id})
    code = 202 if result.status == "queued" else 200
    return jsonify(status=result.status, delivery_id=result.delivery_id), code
