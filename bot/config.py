"""The routes file: which sender posts where, validated once at start-up.

```yaml
notices_channel: 64b7f0c2e4b0a1a2b3c4d5e7      # optional: where misconfiguration notices go
routes:
  github-main:                                # served at POST /hooks/github-main
    source: github
    channel: 64b7f0c2e4b0a1a2b3c4d5e6
    secret: ${GITHUB_WEBHOOK_SECRET}
```

`${VAR}` anywhere expands from the environment. Every error names the route and the field, so
a bad deploy fails loudly at boot instead of at 3 a.m.
"""

from __future__ import annotations

import fnmatch
import logging
import os
import re
import time
from dataclasses import dataclass, field

import yaml
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from bot import logs
from bot.auth import SecretError, Unauthenticated
from bot.message import SEVERITIES, Message, rank, render
from bot.sources import SOURCES
from bot.sources.base import Source
from bot.templates import Template, TemplateError

log = logging.getLogger("relay.config")
CHANNEL_ID = re.compile(r"^[0-9a-fA-F]{24}$")
ROUTE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class ConfigError(ValueError):
    """The routes file cannot be used; the message says where and why."""


class _Strict(Schema):
    class Meta:
        unknown = RAISE


def _channel_id(**kw):
    return fields.Str(validate=validate.Regexp(CHANNEL_ID, error="must be 24 hex characters"),
                      error_messages={"invalid": "must be a string of 24 hex characters (quote it in YAML)"}, **kw)


class WhenSchema(_Strict):
    severity = fields.List(fields.Str(validate=validate.OneOf(SEVERITIES)))
    status = fields.List(fields.Str(validate=validate.OneOf(["firing", "resolved"])))
    branch = fields.List(fields.Str())
    repo = fields.List(fields.Str())
    labels = fields.Dict(keys=fields.Str(), values=fields.Str())


class ChannelRuleSchema(_Strict):
    channel = _channel_id(required=True)
    when = fields.Nested(WhenSchema)


_DURATION = re.compile(r"^(\d+)\s*(s|m|h)$")
_UNIT = {"s": 1, "m": 60, "h": 3600}


def parse_duration(value) -> float:
    """Seconds from "30s", "10m" or "1h"; raises ValueError otherwise."""
    m = _DURATION.match(str(value).strip())
    if not m or int(m.group(1)) <= 0:
        raise ValueError(f"{value!r} is not a duration like 30s, 10m or 1h")
    return float(int(m.group(1)) * _UNIT[m.group(2)])


class Duration(fields.Field):
    """A length of time written as "30s", "10m" or "1h", loaded as seconds."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, str):
            raise ValidationError("must be a duration like 30s, 10m or 1h (quote it in YAML)")
        try:
            return parse_duration(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


class EscalateSchema(_Strict):
    after = Duration(required=True, validate=validate.Range(max=7 * 24 * 3600, error="must be at most 7 days"))
    # Escalation is for alerts that need a person: "info" and "success" would page for news.
    min_severity = fields.Str(load_default="critical", validate=validate.OneOf(["critical", "error", "warning"]))
    users = fields.List(_channel_id(), required=True, validate=validate.Length(min=1, max=20))


class FlappingSchema(_Strict):
    changes = fields.Int(load_default=4, validate=validate.Range(min=2, max=100))
    within = Duration(load_default=1800.0)


def _patterns(**kw):
    return fields.List(fields.Str(validate=validate.Length(min=1)), **kw)


class RouteSchema(_Strict):
    source = fields.Str(required=True, validate=validate.OneOf(sorted(SOURCES), error="unknown source {input!r}"))
    channel = _channel_id()
    channels = fields.List(fields.Nested(ChannelRuleSchema), validate=validate.Length(min=1))
    secret = fields.Str()
    allow_unauthenticated = fields.Bool(load_default=False)
    sender_name = fields.Str(validate=validate.Length(min=1, max=80))
    events = _patterns()
    exclude_events = _patterns()
    branches = _patterns()
    min_severity = fields.Str(validate=validate.OneOf(SEVERITIES))
    template = fields.Str(validate=validate.Length(min=1, max=20_000))
    confirm_subscription = fields.Bool(load_default=False)
    max_requests_per_minute = fields.Int(validate=validate.Range(min=1))
    repeats = fields.Str(load_default="remind", validate=validate.OneOf(["full", "remind", "suppress"]))
    flapping = fields.Nested(FlappingSchema)
    escalate = fields.Nested(EscalateSchema)

    @validates_schema
    def _check(self, data, **kwargs):
        if "channel" in data and "channels" in data:
            raise ValidationError("use either channel or channels, not both", "channels")
        if "channel" not in data and "channels" not in data:
            raise ValidationError("a route needs a channel (or channels)", "channel")
        if "secret" not in data and not data.get("allow_unauthenticated"):
            raise ValidationError("missing secret (or set allow_unauthenticated: true)", "secret")


class FileSchema(_Strict):
    routes = fields.Dict(keys=fields.Str(), values=fields.Raw(), required=True)
    notices_channel = _channel_id()


def _match_any(value: str | None, patterns) -> bool:
    return value is not None and any(fnmatch.fnmatchcase(value, p) for p in patterns)


@dataclass(frozen=True)
class ChannelRule:
    channel: str
    when: dict = field(default_factory=dict)

    def matches(self, message: Message) -> bool:
        w = self.when
        if "severity" in w and message.severity not in w["severity"]:
            return False
        if "status" in w and (message.status or "firing") not in w["status"]:
            return False
        if "branch" in w and not _match_any(message.branch, w["branch"]):
            return False
        if "repo" in w and not _match_any(message.repo, w["repo"]):
            return False
        labels = {str(k): str(v) for k, v in (message.labels or {}).items()}
        return all(_match_any(labels.get(k), [v]) for k, v in w.get("labels", {}).items())


@dataclass(frozen=True)
class EscalationRule:
    """`escalate:` of a route: DM `users` when an alert at or above `min_severity` still fires
    `after` seconds after its first notification."""

    after: float
    min_severity: str
    users: tuple[str, ...]

    def applies(self, severity: str) -> bool:
        return rank(severity) <= rank(self.min_severity)


@dataclass(frozen=True)
class Route:
    name: str
    source: Source
    channels: tuple[ChannelRule, ...]
    secret: str | None = None
    allow_unauthenticated: bool = False
    sender_name: str | None = None
    events: tuple[str, ...] = ()
    exclude_events: tuple[str, ...] = ()
    branches: tuple[str, ...] = ()
    min_severity: str | None = None
    template: Template | None = None
    confirm_subscription: bool = False
    max_requests_per_minute: int | None = None
    repeats: str = "remind"
    flap_changes: int = 4
    flap_window: float = 1800.0
    escalate: EscalationRule | None = None

    @property
    def auth(self):
        return Unauthenticated() if self.secret is None else self.source.auth

    def authenticate(self, headers, args, body: bytes) -> None:
        """Raises `bot.auth.AuthError` unless the request proves knowledge of the secret."""
        if self.secret is not None:
            self.source.auth.verify(headers, args, body, self.secret)

    def event_filter_reason(self, event: str) -> str | None:
        """Why this route drops an event, or None."""
        if self.events and not _match_any(event, self.events):
            return f"event {event} is not in this route's events"
        if self.exclude_events and _match_any(event, self.exclude_events):
            return f"event {event} is excluded by this route"
        return None

    def branch_filter_reason(self, branch: str | None) -> str | None:
        if self.branches and branch is not None and not _match_any(branch, self.branches):
            return f"branch {branch} is not in this route's branches"
        return None

    def filter_reason(self, message: Message, judged_branch: str | None = None) -> str | None:
        """Why the filters that need the formatted message (severity, branch) drop it, or None.
        `judged_branch` is the branch intake already filtered on; a message about that branch is
        not filtered twice (messages of one push may name other branches, and those are)."""
        if self.min_severity and message.status != "resolved" and rank(message.severity) > rank(self.min_severity):
            return f"severity {message.severity} is below this route's min_severity {self.min_severity}"
        if message.branch is not None and message.branch == judged_branch:
            return None
        return self.branch_filter_reason(message.branch)

    def render_text(self, message: Message, envelope: dict) -> str:
        """The text posted for `message`: the route's template, or the built-in format (also when
        the template fails at run time, which is logged)."""
        if self.template is None:
            return render(message)
        context = {"payload": envelope["payload"], "event": envelope["event"], "source": envelope["source"],
                   "route": self.name, "message": {"title": message.title, "url": message.url,
                                                   "severity": message.severity, **message.routing_facts()}}
        try:
            return self.template.render(context)
        except TemplateError as exc:
            log.error("route template failed; using the default format", extra={"route": self.name, "error": str(exc)})
            return render(message)

    def summary(self) -> list[str]:
        """What `check-config` says about the route: source, channel(s), URL path, filters."""
        channels = ", ".join(rule.channel + "".join(f" when {k}={v}" for k, v in rule.when.items())
                             for rule in self.channels)
        filters = [f"{name} {', '.join(values)}" for name, values in (
            ("events", self.events), ("exclude_events", self.exclude_events), ("branches", self.branches)) if values]
        if self.min_severity:
            filters.append(f"min_severity {self.min_severity}")
        return [f"route {self.name}: source {self.source.name}, POST /hooks/{self.name}",
                f"  channel{'s' if len(self.channels) > 1 else ''}: {channels}",
                f"  filters: {'; '.join(filters) or 'none'}" + ("; template" if self.template else "")]

    def destinations(self, message: Message) -> list[str]:
        """The channel of the first rule that matches the message (a rule without `when` always does)."""
        for rule in self.channels:
            if rule.matches(message):
                return [rule.channel]
        return []


@dataclass(frozen=True)
class RelayConfig:
    routes: dict[str, Route]
    notices_channel: str | None = None
    path: str | None = None


def expand_env(value, environ, path: str = "", missing: list | None = None):
    """Expands `${VAR}` in every string of a parsed YAML document. A variable that is not set is
    left as written and noted in `missing` as (field path, name); without `missing`, an error."""
    if isinstance(value, dict):
        return {k: expand_env(v, environ, f"{path}.{k}" if path else str(k), missing) for k, v in value.items()}
    if isinstance(value, list):
        return [expand_env(v, environ, f"{path}[{i}]", missing) for i, v in enumerate(value)]
    if isinstance(value, str):

        def repl(m):
            if m.group(1) in environ:
                return environ[m.group(1)]
            if missing is None:
                raise ConfigError(f"{_where(path)}: environment variable {m.group(1)} is not set")
            missing.append((path, m.group(1)))
            return m.group(0)

        return _VAR.sub(repl, value)
    return value


def _where(path: str) -> str:
    parts = path.split(".")
    if len(parts) >= 3 and parts[0] == "routes":
        return f"route '{parts[1]}', field '{'.'.join(parts[2:])}'"
    if len(parts) == 2 and parts[0] == "routes":
        return f"route '{parts[1]}'"
    return f"field '{path}'"


def _field_errors(errors, prefix: str = ""):
    """(field path, message) pairs from marshmallow's nested error dict, in the notation of
    `expand_env`'s paths: `channels[0].channel`."""
    for key, value in errors.items():
        name = f"{prefix}[{key}]" if isinstance(key, int) else f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict):
            yield from _field_errors(value, name)
        else:
            yield name, "; ".join(str(v) for v in value)


def parse_config(data, environ=None, path: str | None = None, secrets_needed: bool = True) -> RelayConfig:
    """Validates a parsed routes document; raises ConfigError naming the route and field, and every
    variable that is not set at once. Without `secrets_needed` (commands that only read what the
    relay did), a `secret` whose variable is not set is kept as written: such routes authenticate
    nothing and must never serve a request."""
    environ = os.environ if environ is None else environ
    if not isinstance(data, dict):
        raise ConfigError("the routes file must be a mapping with a 'routes:' key")
    missing: list[tuple[str, str]] = []
    data = expand_env(data, environ, missing=missing)
    missing = [(f, name) for f, name in missing if secrets_needed or not f.endswith(".secret")]
    if missing:
        raise ConfigError("; ".join(f"{_where(f)}: environment variable {name} is not set" for f, name in missing))
    try:
        top = FileSchema().load(data)
    except ValidationError as exc:
        raise ConfigError("; ".join(f"{_where(f)}: {m}" for f, m in _field_errors(exc.messages))) from None
    routes, errors = {}, []
    for name, raw in top["routes"].items():
        if not ROUTE_NAME.match(str(name)):
            errors.append(f"route '{name}': name must be letters, digits, '.', '_' or '-' (max 64)")
        elif not isinstance(raw, dict):
            errors.append(f"route '{name}': must be a mapping")
        else:
            try:
                routes[name] = _build_route(name, RouteSchema().load(raw))
            except ValidationError as exc:
                errors += [f"route '{name}', field '{f}': {m}" for f, m in _field_errors(exc.messages)]
            except ConfigError as exc:
                errors.append(str(exc))
    if errors:  # every route's problems at once, not one per run
        raise ConfigError("; ".join(errors))
    return RelayConfig(routes=routes, notices_channel=top.get("notices_channel"), path=path)


def _build_route(name: str, r: dict) -> Route:
    source = SOURCES[r["source"]]
    if "channels" in r:
        rules = tuple(ChannelRule(c["channel"].lower(), c.get("when") or {}) for c in r["channels"])
    else:
        rules = (ChannelRule(r["channel"].lower()),)
    if "secret" in r:
        try:
            source.auth.key(r["secret"])
        except SecretError as exc:
            raise ConfigError(f"route '{name}', field 'secret': {exc}") from None
    template = None
    if r.get("template"):
        try:
            template = Template(r["template"])
        except TemplateError as exc:
            raise ConfigError(f"route '{name}', field 'template': {exc}") from None
    return Route(
        name=name,
        source=source,
        channels=rules,
        secret=r.get("secret"),
        allow_unauthenticated=r["allow_unauthenticated"],
        sender_name=r.get("sender_name"),
        events=tuple(r.get("events") or ()),
        exclude_events=tuple(r.get("exclude_events") or ()),
        branches=tuple(r.get("branches") or ()),
        min_severity=r.get("min_severity"),
        template=template,
        confirm_subscription=r["confirm_subscription"],
        max_requests_per_minute=r.get("max_requests_per_minute"),
        repeats=r["repeats"],
        flap_changes=(r.get("flapping") or {}).get("changes", 4),
        flap_window=(r.get("flapping") or {}).get("within", 1800.0),
        escalate=EscalationRule(e["after"], e["min_severity"], tuple(u.lower() for u in e["users"]))
        if (e := r.get("escalate")) else None,
    )


def load_config(path: str, environ=None, secrets_needed: bool = True) -> RelayConfig:
    """Reads and validates the routes file at `path` (see `parse_config` for `secrets_needed`)."""
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except FileNotFoundError:
        raise ConfigError(f"routes file {path} not found (set RELAY_CONFIG, or copy relay.example.yml)") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"routes file {path} is not valid YAML: {exc}") from None
    return parse_config(data, environ, path, secrets_needed)


class ConfigWatcher:
    """The current routes, reloaded when the file changes (checked at most every `interval` seconds,
    or at once with `check(force=True)` on SIGHUP). An invalid new file is logged and the previous
    routes stay in force, so a bad edit never takes the relay down."""

    def __init__(self, path: str, interval: float = 2.0, on_load=None):
        self.path = path
        self.interval = interval
        self.on_load = on_load
        self._mtime = self._stat()
        self.current = load_config(path)
        self._next_check = time.monotonic() + interval
        if on_load:
            on_load(self.current)

    def _stat(self) -> int | None:
        try:
            return os.stat(self.path).st_mtime_ns
        except OSError:
            return None

    def get(self) -> RelayConfig:
        now = time.monotonic()
        if now >= self._next_check:
            self._next_check = now + self.interval
            self.check()
        return self.current

    def check(self, force: bool = False) -> bool:
        """Reloads if the file changed (or `force`); returns whether new routes are in force."""
        mtime = self._stat()
        if mtime is None or (mtime == self._mtime and not force):
            return False
        self._mtime = mtime
        try:
            config = load_config(self.path)
        except ConfigError as exc:
            log.error("routes file changed but is invalid; keeping the previous routes", extra={"error": str(exc)})
            return False
        self.current = config
        if self.on_load:
            self.on_load(config)
        log.info("routes reloaded", extra={"routes": len(config.routes), "path": self.path})
        return True


class Routes:
    """The routes in force for one process, web or worker alike: a fixed document (tests, tools), or
    the routes file, loaded on first use and re-read when it changes (`reload()` forces it, on
    SIGHUP). Every load registers the routes' secrets with the log redactor, then tells `listeners`."""

    def __init__(self, path: str, fixed: RelayConfig | None = None):
        self.path = path
        self.fixed = fixed
        self.watcher: ConfigWatcher | None = None
        self.listeners: list = []
        if fixed is not None:
            _register_secrets(fixed)

    def get(self) -> RelayConfig:
        if self.fixed is not None:
            return self.fixed
        if self.watcher is None:
            self.watcher = ConfigWatcher(self.path, on_load=self._loaded)
        return self.watcher.get()

    def reload(self) -> None:
        if self.watcher is not None:
            self.watcher.check(force=True)

    def _loaded(self, config: RelayConfig) -> None:
        _register_secrets(config)
        for listener in self.listeners:
            listener(config)


def _register_secrets(config: RelayConfig) -> None:
    for route in config.routes.values():
        logs.register_secret(route.secret)
