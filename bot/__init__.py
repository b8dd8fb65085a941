"""Copera Relay's web process: the Flask app factory."""

from __future__ import annotations

import logging

from flask import Flask

from bot import logs
from bot.config import RelayConfig, load_config
from bot.redis_conn import connect
from bot.settings import Settings

log = logging.getLogger("relay")


class Relay:
    """What views and CLI commands share: settings, the routes (loaded on first use, so commands
    like `sources` work without a routes file), and the Redis connection."""

    def __init__(self, settings: Settings, config: RelayConfig | None = None):
        self.settings = settings
        self._config = config
        self._redis = None
        self._queue = None

    @property
    def config(self) -> RelayConfig:
        if self._config is None:
            self._config = load_config(self.settings.config_path)
            for route in self._config.routes.values():
                logs.register_secret(route.secret)
        return self._config

    @property
    def redis(self):
        if self._redis is None:
            self._redis = connect(self.settings.redis_url)
        return self._redis

    @property
    def queue(self):
        if self._queue is None:
            from bot.enqueue import queue_for

            self._queue = queue_for(self.redis)
        return self._queue


def create_app(settings: Settings | None = None, config: RelayConfig | None = None) -> Flask:
    settings = settings or Settings.from_env()
    logs.configure(settings.log_format)
    logs.register_secret(settings.copera_token)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json.sort_keys = False
    app.extensions["relay"] = Relay(settings, config)

    from bot import cli, errors, health, intake

    errors.init_app(app)
    app.register_blueprint(intake.bp)
    app.register_blueprint(health.bp)
    cli.init_app(app)
    return app
