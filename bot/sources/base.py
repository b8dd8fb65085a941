"""What every integration declares, and the shared machinery that reads those declarations.

An integration module defines one `Source` subclass with:
- `name`, `title`, `setup` (one line: where to paste the URL and secret in that tool),
- `auth` (how the sender proves itself; see `bot.auth`),
- how the event is named (`event_header`, or `detect_event()` reading the payload),
- `events`: event name -> `Event(format, schema)`. The dict's keys *are* the supported events:
  `flask sources`, the README and the "event X is not supported" answer all read them,
- `ignored`: known events that never produce a message (ping), with the reason given to senders.

Formatters are pure functions from a validated payload to `Message`s; they run in the worker.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import ClassVar
from urllib.parse import parse_qs

from marshmallow import INCLUDE, Schema, fields

from bot.auth import SharedSecret
from bot.message import Message

MAX_JSON_DEPTH = 64
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


class Lenient(Schema):
    """Base for payload schemas: checks the fields a formatter reads, keeps everything else."""

    class Meta:
        unknown = INCLUDE


class StrMap(fields.Field):
    """A JSON object of string keys and string values (labels, annotations). Checked in one pass:
    marshmallow's `Dict(keys=Str(), values=Str())` runs two fields per entry, which dominates
    validating a label-heavy alert group."""

    default_error_messages: ClassVar[dict[str, str]] = {"invalid": "Not a mapping of strings to strings."}

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise self.make_error("invalid")
        return value


class PayloadError(Exception):
    """The body is not a valid payload of this source (answered 400)."""

    def __init__(self, message: str, details: dict | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or {}


class Ignored(Exception):
    """A valid payload that produces no message (answered 200 "ignored")."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


Formatter = Callable[[dict], "Message | list[Message] | None"]


@dataclass(frozen=True)
class Event:
    """One supported event, declared once: its formatter, the schema of the fields the formatter
    reads, and its rules: `ignore(payload)` says why a valid payload is not posted (a PR being
    labeled), `branch(payload)` names the git branch it is about, for a route's `branches:`."""

    format: Formatter
    schema: type[Schema] | None = None
    ignore: Callable[[dict], str | None] | None = None
    branch: Callable[[dict], str | None] | None = None


@dataclass
class Incoming:
    """A webhook that passed authentication and validation, ready to be queued."""

    event: str
    payload: object
    delivery_key: str | None = None
    branch: str | None = None
    facts: dict = field(default_factory=dict)


def json_depth(value, limit: int = MAX_JSON_DEPTH) -> int:
    """Nesting depth of a decoded JSON value, iteratively (no recursion limit to hit)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values() if isinstance(v, (dict, list)))
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node if isinstance(v, (dict, list)))
    return deepest


def _flatten_errors(errors) -> dict:
    return errors if isinstance(errors, dict) else {"_schema": errors}


class Source:
    name: str = ""
    title: str = ""
    setup: str = ""
    auth = SharedSecret()
    event_header: str | None = None
    # For senders with a single kind of payload: the event every payload of theirs is.
    only_event: str | None = None
    # Header(s) carrying the sender's own delivery id, used to recognise redeliveries.
    delivery_headers: tuple[str, ...] = ()
    # How long a delivery key is remembered. Sender ids are unique, so a day; derived keys (body
    # hashes) only catch retries, so intentional repeats (alert reminders) still come through.
    dedup_seconds_sender_id = 24 * 3600
    dedup_seconds_derived = 600
    events: ClassVar[Mapping[str, Event]] = MappingProxyType({})
    ignored: ClassVar[Mapping[str, str]] = MappingProxyType({})
    # Top-level schema every payload of this sender must satisfy (telling "not from this sender").
    schema: type[Schema] | None = None
    # Accept `application/x-www-form-urlencoded` bodies whose fields are the payload itself.
    form_fields_payload = False

    # -- parsing ---------------------------------------------------------------------------
    def parse_body(self, body: bytes, content_type: str) -> object:
        """Decodes the body: JSON, or a form with a `payload=` JSON field (or plain form fields)."""
        ctype = (content_type or "").split(";")[0].strip().lower()
        # curl -d sends JSON labelled as a form unless told otherwise; no form body starts with a bracket.
        if ctype == "application/x-www-form-urlencoded" and body.lstrip()[:1] not in (b"{", b"["):
            try:
                form = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
            except UnicodeDecodeError:
                raise PayloadError("form body is not valid UTF-8") from None
            if "payload" in form:
                return self._json(form["payload"][0].encode("utf-8"))
            if self.form_fields_payload:
                return {k: v[0] for k, v in form.items()}
            raise PayloadError("form body has no payload= field; to send JSON, add -H 'Content-Type: application/json'")
        return self._json(body)

    @staticmethod
    def _json(body: bytes) -> object:
        try:
            # Strict UTF-8 (RFC 8259), not json.loads(bytes): that decodes with "surrogatepass" and
            # would let UTF-8-encoded surrogates through as unencodable strings.
            value = json.loads(body.decode("utf-8-sig"))
        except UnicodeDecodeError:
            raise PayloadError("body is not valid UTF-8") from None
        except (ValueError, RecursionError):
            raise PayloadError("body is not valid JSON") from None
        # A body with fewer brackets than the limit cannot nest deeper; skip the walk for those.
        if body.count(b"{") + body.count(b"[") > MAX_JSON_DEPTH and json_depth(value) > MAX_JSON_DEPTH:
            raise PayloadError(f"JSON is nested deeper than {MAX_JSON_DEPTH} levels")
        # JSON may escape a lone UTF-16 surrogate ("\ud800"), which no UTF-8 text can hold: such a
        # string breaks every later step (Redis, logs, Copera), so it is refused here.
        if _SURROGATE_ESCAPE.search(body):
            try:
                json.dumps(value, ensure_ascii=False).encode("utf-8")
            except UnicodeEncodeError:
                raise PayloadError("body is not valid JSON: it has an unpaired surrogate (\\ud800-\\udfff)") from None
        return value

    def detect_event(self, payload, headers: Mapping) -> str | None:
        """The event name; by default the value of `event_header`, else `only_event`."""
        if self.event_header:
            value = headers.get(self.event_header)
            return value.strip() if value else None
        return self.only_event

    def delivery_key(self, event: str, payload, headers: Mapping, body: bytes) -> tuple[str, int]:
        """(key, seconds to remember it): the sender's delivery id, else a hash of the body."""
        for header in self.delivery_headers:
            value = headers.get(header)
            if value:
                return f"id:{value.strip()[:200]}", self.dedup_seconds_sender_id
        own = self.payload_delivery_id(event, payload)
        if own:
            return f"id:{own}", self.dedup_seconds_sender_id
        return "sha256:" + hashlib.sha256(body).hexdigest(), self.dedup_seconds_derived

    def payload_delivery_id(self, event: str, payload) -> str | None:
        """A delivery id carried inside the payload, for senders that put it there."""
        return None

    def ignore_reason(self, event: str, payload) -> str | None:
        """Why a valid event of a supported type produces no message: its `Event.ignore` rule."""
        rule = self.events[event].ignore
        return rule(payload) if rule else None

    def side_effect(self, event: str, payload, route, http_get) -> None:
        """Work a sender asks of the receiver besides posting (run by the worker, once per delivery);
        `http_get(url)` fetches a URL. Nothing by default."""
        return None

    def branch(self, event: str, payload) -> str | None:
        """The git branch an event is about, for `branches:` filters (its `Event.branch` rule);
        None if not applicable."""
        rule = self.events[event].branch
        return rule(payload) if rule else None

    # -- the pipeline ----------------------------------------------------------------------
    def receive(self, body: bytes, content_type: str, headers: Mapping,
                screen: Callable[[str], str | None] | None = None) -> Incoming:
        """Parses, identifies and validates one webhook; raises PayloadError or Ignored.

        `screen(event)` may return a reason to drop the event before it is validated (a route's
        event filter), so filtered events cost no validation.
        """
        payload = self.parse_body(body, content_type)
        if self.schema is not None:
            self._validate(self.schema, payload, f"not a {self.title} payload")
        event = self.detect_event(payload, headers)
        if not event:
            where = f"the {self.event_header} header" if self.event_header else "the payload"
            raise PayloadError(f"not a {self.title} webhook: cannot tell the event from {where}")
        if event in self.ignored:
            raise Ignored(self.ignored[event])
        spec = self.events.get(event)
        if spec is None:
            raise Ignored(f"event {event} is not supported")
        reason = screen(event) if screen else None
        if reason:
            raise Ignored(reason)
        if spec.schema is not None:
            self._validate(spec.schema, payload, f"not a valid {self.title} {event} payload")
        reason = self.ignore_reason(event, payload)
        if reason:
            raise Ignored(reason)
        return Incoming(event=event, payload=payload, branch=self.branch(event, payload))

    @staticmethod
    def _validate(schema: type[Schema], payload, message: str) -> None:
        if not isinstance(payload, dict):
            raise PayloadError(message + ": expected a JSON object")
        try:
            errors = _schema_instance(schema).validate(payload)
        except (TypeError, ValueError, RecursionError) as exc:
            raise PayloadError(message, {"_schema": [type(exc).__name__]}) from None
        if errors:
            raise PayloadError(message, _flatten_errors(errors))

    def format(self, event: str, payload) -> list[Message]:
        """The messages for a validated payload (an empty list means nothing to post)."""
        result = self.events[event].format(payload)
        if result is None:
            return []
        return list(result) if isinstance(result, (list, tuple)) else [result]

    def describe(self) -> dict:
        return {
            "source": self.name,
            "title": self.title,
            "events": sorted(self.events),
            "ignored_events": sorted(self.ignored),
            "auth": self.auth.description,
            "setup": self.setup,
        }


_SCHEMAS: dict[type, Schema] = {}


def _schema_instance(schema: type[Schema]) -> Schema:
    # Schema instances are stateless for validate(); building one per request costs more than
    # validating a typical payload.
    inst = _SCHEMAS.get(schema)
    if inst is None:
        inst = _SCHEMAS[schema] = schema()
    return inst
