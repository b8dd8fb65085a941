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

    route = request.args.get("route")
    names = list(_relay().config.routes)
    if route and route not in names:
        return error_response(404, "unknown_route", f"no route named {route!r} is configured")
    return jsonify(deliveries=History(_relay().redis).recent(route, names, _limit()))


@bp.get("/failed")
def failed():

    entries = FailedList(_relay().redis).list(_limit(50))
    return jsonify(failed=entries, count=FailedList(_relay().redis).count())


@bp.get("/stats")
def hour_stats():
    """Per-route counts over the last hour, in total and per minute (for a dashboard)."""
    return jsonify(stats.last_hour(_relay().redis))
