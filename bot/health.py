"""Probes for PaaS and Kubernetes: `/healthz` says the process is up, `/readyz` that Redis answers."""

from __future__ import annotations

import redis
from flask import Blueprint, current_app, jsonify

from bot.errors import error_response

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    try:
        current_app.extensions["relay"].redis.ping()
    except redis.RedisError:
        return error_response(503, "unavailable", "redis is not reachable", headers={"Retry-After": "10"})
    return jsonify(status="ready")
