"""Every error the relay answers is JSON, including the ones Flask raises itself (404, 405, 413)."""

from __future__ import annotations

import redis
from flask import jsonify
from werkzeug.exceptions import HTTPException

_LABELS = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large", 400: "bad_request"}


def error_response(status: int, error: str, message: str, headers: dict | None = None, **extra):
    body = {"error": error, "message": message, **extra}
    response = jsonify(body)
    response.status_code = status
    for k, v in (headers or {}).items():
        response.headers[k] = v
    return response


def init_app(app) -> None:
    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        message = exc.description or exc.name
        if exc.code == 413:
            message = f"body is larger than {app.config.get('MAX_CONTENT_LENGTH')} bytes"
        return error_response(exc.code or 500, _LABELS.get(exc.code, exc.name.lower().replace(" ", "_")), message)

    @app.errorhandler(redis.RedisError)
    def _redis_error(exc: redis.RedisError):
        # Whatever asked Redis, an outage is a 503 the sender can retry, never a 500.
        app.logger.error("redis unavailable: %s", type(exc).__name__)
        return error_response(503, "unavailable", "the relay's queue is unavailable; retry later",
                              headers={"Retry-After": "30"})

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        app.logger.exception("unhandled error")
        return error_response(500, "internal_error", "the relay failed to handle this request")
