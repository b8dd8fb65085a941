"""Copera Relay's web process: the Flask app factory."""

from __future__ import annotations

import logging
import sys
import threading

import redis
from flask import Flask

from bot import logs
from bot.config import RelayConfig, Routes
from bot.redis_conn import EXIT_REDIS_TOO_OLD, RedisTooOld, check_version, connect
from bot.settings import Settings
from bot.store import keys

log = logging.getLogger("relay")

# A sender whose secret is wrong keeps failing; say so once, not per request.
AUTH_FAILURES_BEFORE_NOTICE = 10
AUTH_FAILURE_WINDOW = 600


class Relay:
    """What views and CLI commands share: settings, the routes (loaded on first use, so commands
    like `sources` work without a routes file), and the Redis connection."""

    def __init__(self, settings: Settings, config: RelayConfig | None = None):
        self.settings = settings
        self.routes = Routes(settings.config_path, config)
        self._local = threading.local()

    @property
    def config(self) -> RelayConfig:
        """The routes in force; the file is re-read when it changes."""
        return self.routes.get()

    @property
    def redis(self):
        """This thread's Redis client (one connection per request thread: no pool to contend on)."""
        client = getattr(self._local, "redis", None)
        if client is None:
            client = self._local.redis = connect(self.settings.redis_url, single_connection=True,
                                                   tls_verify=self.settings.redis_tls_verify)
        return client

    def note_auth_failure(self, route) -> None:
        """Counts failed authentications per route; the tenth in ten minutes raises a notice."""
        from bot.notices import Notices

        key = keys.auth_failures(route.name)
        try:
            pipe = self.redis.pipeline()
            pipe.incr(key)
            pipe.expire(key, AUTH_FAILURE_WINDOW, nx=True)
            count = pipe.execute()[0]
            if count == AUTH_FAILURES_BEFORE_NOTICE:
                Notices(self.redis, self.config.notices_channel).report(
                    "auth-failures", route.name, None,
                    f"route {route.name}: {count} requests in 10 minutes failed authentication. Check that the "
                    f"sender uses the route's secret ({route.auth.description}).")
        except redis.RedisError:
            pass

    @property
    def enqueuer(self):
        enqueuer = getattr(self._local, "enqueuer", None)
        if enqueuer is None:
            from bot.enqueue import Enqueuer

            enqueuer = self._local.enqueuer = Enqueuer(self.redis)
        return enqueuer


def require_redis_version(settings: Settings, program: str) -> None:
    """Stops the process (exit status 4) when the Redis at REDIS_URL is older than 7.0. An
    unreachable Redis is not a reason to stop: intake answers 503 until it is back."""
    client = connect(settings.redis_url, tls_verify=settings.redis_tls_verify)
    try:
        check_version(client)
    except RedisTooOld as exc:
        log.critical("%s", exc)
        print(f"{program}: {exc}", file=sys.stderr)
        raise SystemExit(EXIT_REDIS_TOO_OLD) from None
    except redis.RedisError:
        log.warning("Redis is not reachable at start-up; its version (7.0 or newer is needed) was not checked")
    finally:
        client.close()


def create_app(settings: Settings | None = None, config: RelayConfig | None = None) -> Flask:
    settings = settings or Settings.from_env()
    logs.configure(settings.log_format)
    logs.register_secret(settings.copera_token)
    require_redis_version(settings, "copera-relay")
    # The console's blueprint serves its own assets; the app serves none (nothing at /static).
    app = Flask(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json.sort_keys = False
    app.extensions["relay"] = Relay(settings, config)

    from bot import cli, errors, health, intake, metrics, openapi

    errors.init_app(app)
    app.register_blueprint(intake.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(metrics.bp)
    openapi.init_app(app)
    from bot import admin

    if settings.admin_token:
        from bot import console

        app.register_blueprint(admin.bp)
        console.init_app(app)
    else:
        app.register_blueprint(admin.off_bp)
    cli.init_app(app)
    return app
