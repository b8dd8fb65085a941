"""What a worker process builds once and reuses for every job: settings, routes, Redis, the
Copera client and the delivery machinery. Jobs never re-import or re-connect."""

from __future__ import annotations

import functools

import requests

from bot import logs
from bot.config import Routes
from bot.copera_client import CoperaClient
from bot.enqueue import QUEUE_NAME
from bot.notices import Notices
from bot.redis_conn import connect
from bot.settings import Settings
from bot.store.alerts import AlertStore
from bot.store.history import History
from bot.store.outbox import Outbox
from workers.dispatcher import Dispatcher
from workers.escalation import Escalator
from workers.job_recovery import JobRecovery


class Runtime:
    def __init__(self, settings: Settings, config=None, connection=None):
        self.settings = settings
        self.routes = Routes(settings.config_path, config)
        self.routes.listeners.append(self._loaded)
        logs.register_secret(settings.copera_token)
        # Blocking reads in the delivery loop wait up to a second; leave room above that.
        self.redis = connection or connect(settings.redis_url, socket_timeout=30.0,
                                                 tls_verify=settings.redis_tls_verify)
        self.outbox = Outbox(self.redis)
        self.notices = Notices(self.redis, self.config.notices_channel)
        client = None if settings.dry_run else CoperaClient(settings.copera_url, settings.copera_token)
        self.http = requests.Session()
        self.job_recovery = JobRecovery(self.redis, QUEUE_NAME)
        self.history = History(self.redis, settings.history_size)
        self.dispatcher = Dispatcher(self.redis, settings, client, notices=self.notices, history=self.history,
                                     recovery=self.job_recovery)
        self.failed = self.dispatcher.failed
        self.alerts = AlertStore(self.redis)
        self.escalator = Escalator(self.redis, self.alerts)

    @property
    def config(self):
        """The routes in force; the file is re-read when it changes (or on SIGHUP)."""
        return self.routes.get()

    def _loaded(self, config) -> None:
        if getattr(self, "notices", None):
            self.notices.channel = config.notices_channel

    def http_get(self, url: str) -> None:
        """GETs a URL a sender asked the relay to visit (already validated by the source). Redirects
        are not followed: the validation holds for this URL only, and a redirect could lead anywhere."""
        response = self.http.get(url, timeout=10, allow_redirects=False)
        if not 200 <= response.status_code < 300:
            raise requests.HTTPError(f"HTTP {response.status_code}", response=response)


_current: Runtime | None = None


def install(runtime: Runtime) -> Runtime:
    """Makes `runtime` the one jobs in this process use (the worker's main, and tests)."""
    global _current
    _current = runtime
    return runtime


@functools.cache
def _default() -> Runtime:
    return Runtime(Settings.from_env())


def get() -> Runtime:
    return _current or _default()
