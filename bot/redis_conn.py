"""Redis connections from REDIS_URL, including Heroku-style `rediss://` with self-signed certificates."""

from __future__ import annotations

import re

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry


def connect(url: str, socket_timeout: float | None = 5.0, single_connection: bool = False,
            tls_verify: bool = False) -> redis.Redis:
    """A client for `url`. Timeouts are short so that intake answers 503 quickly when Redis is gone.

    Heroku Redis and several other PaaS add-ons serve TLS with self-signed certificates, so
    certificate verification is off for `rediss://` unless `tls_verify` (REDIS_TLS_VERIFY=1); the
    traffic stays encrypted either way.

    `single_connection` gives a client that keeps one connection instead of a pool: for a client
    used by one thread only, it halves the client-side cost of every command.
    """
    # One quick retry on a dropped connection: after a Redis restart the first command on a kept-open
    # connection fails even though the server is back.
    kwargs = {"socket_connect_timeout": 2.0, "socket_timeout": socket_timeout, "health_check_interval": 30,
              "retry": Retry(ExponentialBackoff(cap=0.2, base=0.01), 2),
              "retry_on_error": [redis.ConnectionError, redis.TimeoutError]}
    if url.startswith("rediss://") and not tls_verify:
        kwargs["ssl_cert_reqs"] = None
    return redis.Redis.from_url(url, single_connection_client=single_connection, **kwargs)


# Intake's deduplication and the relay's Lua scripts rely on Redis 7 semantics (`SET … GET`, script
# behaviour); Valkey reports a compatible `redis_version`.
MIN_VERSION = (7, 0)
EXIT_REDIS_TOO_OLD = 4


class RedisTooOld(RuntimeError):
    """The Redis server at REDIS_URL predates what the relay relies on."""


def check_version(client: redis.Redis) -> str:
    """The server's version; raises RedisTooOld below MIN_VERSION (and RedisError when unreachable)."""
    version = str(client.info("server").get("redis_version", "0"))
    numbers = tuple(int(n) for n in re.findall(r"\d+", version)[:2])
    if numbers < MIN_VERSION:
        raise RedisTooOld(f"the Redis server at REDIS_URL is version {version}; the relay needs Redis "
                          f"{'.'.join(map(str, MIN_VERSION))} or newer (deduplication and its Lua scripts "
                          f"rely on Redis 7 semantics)")
    return version
