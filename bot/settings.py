"""Process settings, read once from the environment (12-factor).

The names in the table of the README are a contract with PaaS set-ups and the conformance
checker; keep them exactly.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

DEFAULT_API_URL = "https://api.copera.ai/public/v1"
# Written by scripts/run while it runs (REDIS_URL of its private Redis, …), so that `flask --app bot`
# in another terminal of the same directory reaches the same relay. Never holds secrets.
RUN_ENV_FILE = os.path.join(".run", "env")


class SettingsError(ValueError):
    """An environment variable holds a value the relay cannot use."""


def _int(environ, name: str, default: int, minimum: int = 1) -> int:
    raw = environ.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, got {value}")
    return value


def _flag(environ, name: str, default: bool) -> bool:
    raw = (environ.get(name) or "").strip().lower()
    if raw == "":
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be 1 or 0, got {raw!r}")


@dataclass(frozen=True)
class Settings:
    copera_token: str | None
    copera_url: str
    redis_url: str
    config_path: str
    rate_limit_per_minute: int
    max_body_bytes: int
    max_delivery_age: int
    lease_seconds: int
    delivery_threads: int
    log_format: str
    admin_token: str | None
    metrics_token: str | None
    history_size: int
    rq_scheduler: bool
    rq_maintenance_seconds: int
    redis_tls_verify: bool
    secret_key: str | None = None
    public_url: str | None = None
    env_file: str | None = None

    @property
    def dry_run(self) -> bool:
        """Without a token, messages are rendered and logged instead of sent."""
        return not self.copera_token

    @classmethod
    def from_env(cls, environ=None) -> Settings:
        """From `environ`, or from the process environment over scripts/run's RUN_ENV_FILE when it
        exists (a variable set in the environment wins)."""
        env, env_file = environ, None
        if environ is None:
            from_file = read_env_file(RUN_ENV_FILE)
            env = {**from_file, **os.environ}
            env_file = RUN_ENV_FILE if set(from_file) - set(os.environ) else None
        return cls(
            env_file=env_file,
            copera_token=(env.get("COPERA_API_TOKEN") or "").strip() or None,
            copera_url=(env.get("COPERA_API_URL") or DEFAULT_API_URL).rstrip("/"),
            redis_url=env.get("REDIS_URL") or "redis://localhost:6379/0",
            config_path=env.get("RELAY_CONFIG") or os.path.join(os.getcwd(), "relay.yml"),
            rate_limit_per_minute=_int(env, "COPERA_RATE_LIMIT_PER_MINUTE", 100),
            max_body_bytes=_int(env, "RELAY_MAX_BODY_BYTES", 1024 * 1024),
            max_delivery_age=_int(env, "RELAY_MAX_DELIVERY_AGE", 24 * 3600),
            lease_seconds=_int(env, "RELAY_LEASE_SECONDS", 60, minimum=2),
            delivery_threads=_int(env, "RELAY_DELIVERY_THREADS", 4),
            log_format=(env.get("LOG_FORMAT") or "").strip().lower(),
            admin_token=(env.get("RELAY_ADMIN_TOKEN") or "").strip() or None,
            metrics_token=(env.get("METRICS_TOKEN") or "").strip() or None,
            history_size=_int(env, "RELAY_HISTORY_SIZE", 100),
            rq_scheduler=_flag(env, "RELAY_RQ_SCHEDULER", True),
            rq_maintenance_seconds=_int(env, "RELAY_RQ_MAINTENANCE_SECONDS", 15),
            redis_tls_verify=_flag(env, "REDIS_TLS_VERIFY", False),
            secret_key=(env.get("RELAY_SECRET_KEY") or "").strip() or None,
            public_url=(env.get("PUBLIC_URL") or "").strip().rstrip("/") or None,
        )


def read_env_file(path: str) -> dict[str, str]:
    """`NAME=value` lines (blank lines and `#` comments skipped); {} when there is no such file."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        return {}
    pairs = (line.split("=", 1) for line in lines if "=" in line and not line.lstrip().startswith("#"))
    return {name.strip(): value.strip() for name, value in pairs}
