"""The relay's HTTP API as an OpenAPI 3 document, served at `GET /openapi.json`.

The document is built from the code it describes: the authentication schemes of `POST /hooks/{route}`
and the event headers come from the source registry, so a new source shows up here by itself. It
names no route and no secret: what it describes is the same for every installation.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from bot.auth import HmacSignature, SharedSecret, SlackSignature, StandardWebhooks, TokenHeader
from bot.config import ROUTE_NAME
from bot.sources import SOURCES

bp = Blueprint("openapi", __name__)

_JSON = "application/json"


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _error(*codes: str, description: str, headers: dict | None = None, details: bool = False) -> dict:
    narrowed = {"type": "object", "properties": {"error": {"type": "string", "enum": list(codes)}}}
    if details:
        narrowed["required"] = ["details"]
    schema = {"allOf": [_ref("Error"), narrowed]}
    response = {"description": description, "content": {_JSON: {"schema": schema}}}
    if headers:
        response["headers"] = headers
    return response


_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before retrying.",
                                "schema": {"type": "string", "pattern": "^[0-9]+$"}}}
_UNAVAILABLE = _error("unavailable", description="Redis is unreachable: nothing was queued; retry later.",
                      headers=_RETRY_AFTER)
_ADMIN_ERRORS = {
    "401": _error("unauthorized", description="Missing or wrong `Authorization: Bearer <RELAY_ADMIN_TOKEN>`."),
    "404": _error("admin_disabled", "unknown_route", "not_found",
                  description="The admin API is not enabled (RELAY_ADMIN_TOKEN is unset), or an unknown route."),
    "503": _error("unavailable", description="Redis is unreachable.", headers=_RETRY_AFTER),
}
_DELIVERY_ID = {"name": "delivery_id", "in": "query", "required": False,
                "description": "Only this webhook: the delivery id its sender was answered.",
                "schema": {"type": "string"}}
_LIMIT = {"name": "limit", "in": "query", "required": False,
          "description": "How many entries (clamped to 1…500; a non-number means the default).",
          "schema": {"type": "integer", "minimum": 1, "maximum": 500}}


def _security_schemes() -> tuple[dict, list[dict]]:
    """OpenAPI security schemes for every way a source authenticates, and the alternatives list."""
    schemes: dict[str, dict] = {}
    for source in SOURCES.values():
        auth = source.auth
        if isinstance(auth, SharedSecret):
            schemes["sharedSecretBearer"] = {"type": "http", "scheme": "bearer",
                                             "description": "`Authorization: Bearer <route secret>`."}
            schemes["sharedSecretBasic"] = {"type": "http", "scheme": "basic",
                                            "description": "HTTP Basic with the route secret as password."}
            schemes["sharedSecretQuery"] = {"type": "apiKey", "in": "query", "name": "token",
                                            "description": "`?token=<route secret>` (sent once)."}
        elif isinstance(auth, (HmacSignature, TokenHeader)):
            name = "".join(part.capitalize() for part in auth.header.replace("_", "-").split("-"))
            schemes[f"header{name}"] = {"type": "apiKey", "in": "header", "name": auth.header,
                                        "description": f"`{source.name}` and alike: {auth.description}."}
        elif isinstance(auth, StandardWebhooks):
            schemes["standardWebhooks"] = {"type": "apiKey", "in": "header", "name": "webhook-signature",
                                           "description": auth.description + "."}
    schemes.setdefault("slackSignature", {"type": "apiKey", "in": "header", "name": "X-Slack-Signature",
                                          "description": SlackSignature.description + " (no source uses it yet)."})
    alternatives = [{name: []} for name in schemes]
    # Routes with `allow_unauthenticated: true` take requests without credentials.
    alternatives.append({})
    return schemes, alternatives


def _event_headers() -> list[dict]:
    names = sorted({s.event_header for s in SOURCES.values() if s.event_header}, key=str.lower)
    params = [{"name": n, "in": "header", "required": False, "description": "The event name, for sources that send it "
               "in this header.", "schema": {"type": "string", "maxLength": 200}} for n in names]
    params += [{"name": n, "in": "header", "required": False, "description": d, "schema": {"type": "string"}}
               for n, d in (("webhook-id", "Standard Webhooks message id (also the delivery id)."),
                            ("webhook-timestamp", "Standard Webhooks Unix timestamp, within ±5 minutes."))]
    return params


def document() -> dict:
    schemes, hook_security = _security_schemes()
    schemes["adminToken"] = {"type": "http", "scheme": "bearer", "description": "`RELAY_ADMIN_TOKEN`."}
    schemes["metricsToken"] = {"type": "http", "scheme": "bearer",
                               "description": "`METRICS_TOKEN`, required only when it is set."}
    str_or_null = {"type": "string", "nullable": True}
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Copera Relay",
            "version": "1",
            "description": (
                "Receives webhooks from CI/CD and monitoring tools, checks that each comes from its sender, "
                "and posts a message into a Copera channel. Every answer of `POST /hooks/{route}` is JSON."
            ),
        },
        "paths": {
            "/hooks/{route}": {
                "post": {
                    "operationId": "receiveWebhook",
                    "summary": "Receive one webhook for a configured route",
                    "description": (
                        "Authenticates the request with the route's source scheme (a signature over the raw body, "
                        "a token header, or the shared secret), validates the payload, filters, deduplicates and "
                        "queues it. Nothing slow happens before the answer."
                    ),
                    "parameters": [
                        {"name": "route", "in": "path", "required": True, "description": "The route name in relay.yml.",
                         "schema": {"type": "string", "pattern": ROUTE_NAME.pattern}},
                        *_event_headers(),
                    ],
                    "security": hook_security,
                    "requestBody": {
                        "required": True,
                        "description": "The sender's payload, signed as sent (the raw bytes).",
                        "content": {
                            _JSON: {"schema": {}},
                            "application/x-www-form-urlencoded": {"schema": {
                                "type": "object", "properties": {"payload": {
                                    "type": "string", "description": "The JSON payload, for senders that post forms."}},
                                "additionalProperties": {"type": "string"}}},
                            "text/plain": {"schema": {"type": "string"},
                                           "description": "JSON sent as text/plain (Amazon SNS)."},
                        },
                    },
                    "responses": {
                        "200": {"description": "Valid but ignored (filtered, unsupported event, ping), or a "
                                               "redelivery of an event already accepted.",
                                "content": {_JSON: {"schema": {"oneOf": [_ref("Ignored"), _ref("Duplicate")]}}}},
                        "202": {"description": "Queued for formatting and delivery.",
                                "content": {_JSON: {"schema": _ref("Queued")}}},
                        "400": _error("invalid_payload", "bad_request", description="Not JSON, or not a payload of "
                                      "that sender; `details` names the fields."),
                        "401": _error("unauthorized", description="Bad or missing signature or token. Shared-secret "
                                      "routes add `WWW-Authenticate: Basic`.",
                                      headers={"WWW-Authenticate": {"schema": {"type": "string"}}}),
                        "404": _error("unknown_route", "not_found", description="No such route."),
                        "413": _error("payload_too_large", description="Body over RELAY_MAX_BODY_BYTES."),
                        "429": _error("rate_limited", description="Over the route's max_requests_per_minute.",
                                      headers=_RETRY_AFTER),
                        "503": _UNAVAILABLE,
                    },
                }
            },
            "/healthz": {"get": {
                "operationId": "healthz", "summary": "Liveness: the process is up", "security": [],
                "responses": {"200": {"description": "Up.", "content": {_JSON: {"schema": {
                    "type": "object", "required": ["status"], "properties": {"status": {"enum": ["ok"]}}}}}}},
            }},
            "/readyz": {"get": {
                "operationId": "readyz", "summary": "Readiness: Redis answers", "security": [],
                "responses": {
                    "200": {"description": "Ready.", "content": {_JSON: {"schema": {
                        "type": "object", "required": ["status"], "properties": {"status": {"enum": ["ready"]}}}}}},
                    "503": _error("unavailable", description="Redis is not reachable.", headers=_RETRY_AFTER),
                },
            }},
            "/metrics": {"get": {
                "operationId": "metrics", "summary": "Prometheus metrics",
                "security": [{"metricsToken": []}, {}],
                "responses": {
                    "200": {"description": "Prometheus text exposition format.",
                            "content": {"text/plain": {"schema": {"type": "string"}}}},
                    "401": _error("unauthorized", description="METRICS_TOKEN is set and was not presented."),
                    "503": _UNAVAILABLE,
                },
            }},
            "/openapi.json": {"get": {
                "operationId": "openapi", "summary": "This document", "security": [],
                "responses": {"200": {"description": "OpenAPI 3 document.",
                                      "content": {_JSON: {"schema": {"type": "object", "required": ["openapi"]}}}}},
            }},
            "/admin/routes": {"get": {
                "operationId": "adminRoutes", "summary": "Configured routes (no secrets)",
                "security": [{"adminToken": []}],
                "responses": {"200": {"description": "Routes.", "content": {_JSON: {"schema": {
                    "type": "object", "required": ["routes"],
                    "properties": {"routes": {"type": "array", "items": _ref("Route")}}}}}}, **_ADMIN_ERRORS},
            }},
            "/admin/deliveries": {"get": {
                "operationId": "adminDeliveries", "summary": "Recent deliveries, newest first",
                "security": [{"adminToken": []}],
                "parameters": [{"name": "route", "in": "query", "required": False, "schema": {"type": "string"}},
                               _DELIVERY_ID, _LIMIT],
                "responses": {"200": {"description": "Deliveries.", "content": {_JSON: {"schema": {
                    "type": "object", "required": ["deliveries"],
                    "properties": {"deliveries": {"type": "array", "items": _ref("Delivery")}}}}}}, **_ADMIN_ERRORS},
            }},
            "/admin/failed": {"get": {
                "operationId": "adminFailed", "summary": "Messages on the failed list, newest first",
                "security": [{"adminToken": []}],
                "parameters": [{"name": "route", "in": "query", "required": False, "schema": {"type": "string"}},
                               _DELIVERY_ID, _LIMIT],
                "responses": {"200": {"description": "Failed messages.", "content": {_JSON: {"schema": {
                    "type": "object", "required": ["failed", "count"],
                    "properties": {"failed": {"type": "array", "items": {"type": "object"}},
                                   "count": {"type": "integer", "minimum": 0}}}}}}, **_ADMIN_ERRORS},
            }},
            "/admin/stats": {"get": {
                "operationId": "adminStats", "summary": "Per-route outcomes over the last hour",
                "security": [{"adminToken": []}],
                "responses": {"200": {"description": "Totals and per-minute counts.", "content": {_JSON: {"schema": {
                    "type": "object", "required": ["routes", "minutes"],
                    "properties": {
                        "routes": {"type": "object", "additionalProperties": _ref("OutcomeCounts")},
                        "minutes": {"type": "array", "items": {
                            "type": "object", "required": ["minute", "routes"],
                            "properties": {"minute": {"type": "integer"}, "routes": {
                                "type": "object", "additionalProperties": _ref("OutcomeCounts")}}}},
                    }}}}}, **_ADMIN_ERRORS},
            }},
        },
        "components": {
            "securitySchemes": schemes,
            "schemas": {
                "Queued": {"type": "object", "required": ["status", "delivery_id"], "additionalProperties": False,
                           "properties": {"status": {"enum": ["queued"]}, "delivery_id": {"type": "string"}}},
                "Duplicate": {"type": "object", "required": ["status", "delivery_id"], "additionalProperties": False,
                              "properties": {"status": {"enum": ["duplicate"]}, "delivery_id": {"type": "string"}}},
                "Ignored": {"type": "object", "required": ["status", "reason"], "additionalProperties": False,
                            "properties": {"status": {"enum": ["ignored"]}, "reason": {"type": "string"}}},
                "Error": {"type": "object", "required": ["error", "message"],
                          "properties": {"error": {"type": "string"}, "message": {"type": "string"},
                                         "details": {"type": "object", "description": "Field name -> messages."}}},
                "OutcomeCounts": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}},
                "Route": {"type": "object", "required": ["route", "source", "url", "auth", "channels"], "properties": {
                    "route": {"type": "string"}, "source": {"type": "string"}, "url": {"type": "string"},
                    "auth": {"type": "string", "description": "How the sender authenticates (never the secret)."},
                    "channels": {"type": "array", "items": {"type": "object", "required": ["channel"], "properties": {
                        "channel": {"type": "string"}, "when": {"type": "object"}}}},
                    "events": {"type": "array", "items": {"type": "string"}},
                    "exclude_events": {"type": "array", "items": {"type": "string"}},
                    "branches": {"type": "array", "items": {"type": "string"}},
                    "min_severity": str_or_null, "template": {"type": "boolean"}}},
                "Delivery": {"type": "object", "properties": {
                    "delivery_id": {"type": "string"}, "route": {"type": "string"}, "source": {"type": "string"},
                    "event": {"type": "string"}, "received_at": {"type": "number"},
                    "attempts": {"type": "integer"}, "channels": {"type": "array", "items": {"type": "string"}},
                    "outcome": {"type": "string"}, "text": {"type": "string"}}},
            },
        },
    }


@bp.get("/openapi.json")
def openapi_json():
    cached = current_app.extensions.get("relay.openapi")
    if cached is None:
        cached = current_app.extensions["relay.openapi"] = document()
    return jsonify(cached)


def init_app(app) -> None:
    """Serves the document at `GET /openapi.json` (idempotent)."""
    if "openapi" not in app.blueprints:
        app.register_blueprint(bp)
