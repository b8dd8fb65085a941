"""A read-only admin JSON API under /admin, for dashboards and scripts. It exists only when
RELAY_ADMIN_TOKEN is set, and every request must carry `Authorization: Bearer <RELAY_ADMIN_TOKEN>`
(compared as SHA-256 digests in constant time, like route secrets)."""

from __future__ import annotations

import redis
from flask import Blueprint, current_app, jsonify, request

from bot.auth import bearer, same_secret
from bot.errors import error_response
from bot.store import stats
from bot.store.failed import FailedList
from bot.store.history import History

bp = Blueprint("admin", __name__, url_prefix="/admin")
# Served instead of `bp` while RELAY_ADMIN_TOKEN is unset, so that a caller learns why.
off_bp = Blueprint("admin_off", __name__, url_prefix="/admin")


@off_bp.route("/", defaults={"rest": ""}, strict_slashes=False)
@off_bp.route("/<path:rest>")
def admin_off(rest: str):
    return error_response(404, "admin_disabled", "the admin API is off; set RELAY_ADMIN_TOKEN to turn it on")


def _relay():
    return current_app.extensions["relay"]


@bp.before_request
def _authenticate():
    token = _relay().settings.admin_token
    presented = bearer(request.headers.get("Authorization"))
    if not token or presented is None or not same_secret(presented, token):
        return error_response(401, "unauthorized", "admin API needs Authorization: Bearer <RELAY_ADMIN_TOKEN>")
    return None


@bp.errorhandler(redis.RedisError)
def _redis_down(exc):
    return error_response(503, "unavailable", "redis is not reachable", headers={"Retry-After": "10"})


def _limit(default: int = 20, most: int = 500) -> int:
    try:
        return max(1, min(most, int(request.args.get("limit", default))))
    except ValueError:
        return default


@bp.get("/routes")
def routes():
    return jsonify(routes=[{
        "route": name, "source": r.source.name, "url": f"/hooks/{name}", "auth": r.auth.description,
        "channels": [{"channel": c.channel, "when": c.when} for c in r.channels],
        "events": list(r.events), "exclude_events": list(r.exclude_events), "branches": list(r.branches),
        "min_severity": r.min_severity, "template": r.template is not None,
    } for name, r in _relay().config.routes.items()])


@bp.get("/deliveries")
def deliveries():

    history = History(_relay().redis)
    if request.args.get("delivery_id"):
        return jsonify(deliveries=history.get([request.args["delivery_id"]]))
    route = request.args.get("route")
    names = list(_relay().config.routes)
    if route and route not in names:
        return error_response(404, "unknown_route", f"no route named {route!r} is configured")
    return jsonify(deliveries=history.recent(route, names, _limit()))


@bp.get("/failed")
def failed():
    """The failed list, newest first; `delivery_id` (what the sender was answered) or `route` picks
    the entries of one webhook or one route."""
    failed_list = FailedList(_relay().redis)
    delivery_id, route = request.args.get("delivery_id"), request.args.get("route")
    if delivery_id or route:
        picked = failed_list.find([delivery_id] if delivery_id else [], route)
        entries = failed_list.get(list(reversed(picked))[:_limit(50)])
    else:
        entries = failed_list.list(_limit(50))
    return jsonify(failed=entries, count=failed_list.count())


@bp.get("/stats")
def hour_stats():
    """Per-route counts over the last hour, in total and per minute (for a dashboard)."""
    return jsonify(stats.last_hour(_relay().redis))
