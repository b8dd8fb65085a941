"""The worker process (`python -m workers`, the Procfile's `worker`).

One process runs two things that share a Redis connection pool and the loaded routes:
- an RQ worker (no fork per job: a forking worker re-imports the app for every job) that formats
  queued webhooks into the outboxes, with RQ's scheduler for job retries;
- delivery threads that post from the outboxes to Copera within the shared rate limit.

SIGTERM (sent by every PaaS on deploy) stops taking new jobs, lets the running job and in-flight
posts finish, then exits. If Redis goes away, both parts wait and reconnect on their own.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time

import redis
from rq import SimpleWorker
from rq.serializers import JSONSerializer

from bot import logs, require_redis_version
from bot.config import ConfigError
from bot.enqueue import QUEUE_NAME
from bot.settings import Settings, SettingsError
from workers import runtime as runtime_module
from workers.jobs import record_job_failure

log = logging.getLogger("relay.worker")


# Formatting a webhook takes milliseconds. A short heartbeat lets a surviving worker notice a job
# whose worker was killed mid-way, and re-run it, within about half a minute instead of RQ's
# default of several minutes (re-running is safe: pushing to the outbox is idempotent per delivery).
JOB_HEARTBEAT_TTL = 20


class RelayWorker(SimpleWorker):
    """SimpleWorker that also tells the delivery threads to stop on SIGTERM/SIGINT, and puts a
    webhook whose job failed for the last time on the relay's failed list."""

    on_stop = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.push_exc_handler(record_job_failure)

    def get_heartbeat_ttl(self, job, working_time: float = 0.0) -> int:
        return JOB_HEARTBEAT_TTL

    def request_stop(self, signum, frame):
        if self.on_stop:
            self.on_stop()
        super().request_stop(signum, frame)


def main() -> int:
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"copera-relay worker: {exc}", file=sys.stderr)
        return 2
    logs.configure(settings.log_format)
    try:
        rt = runtime_module.install(runtime_module.Runtime(settings))
    except ConfigError as exc:
        log.critical("invalid routes file: %s", exc)
        print(f"copera-relay worker: invalid routes file: {exc}", file=sys.stderr)
        return 3
    require_redis_version(settings, "copera-relay worker")
    if settings.dry_run:
        log.warning("DRY RUN: COPERA_API_TOKEN is not set; messages are rendered and logged, not sent")
    stopping = {"flag": False}

    def stop():
        stopping["flag"] = True
        rt.dispatcher.stop_event.set()

    signal.signal(signal.SIGHUP, lambda *_: rt.routes.reload())
    rt.dispatcher.start(settings.delivery_threads)
    rt.job_recovery.start_heartbeat()
    rt.escalator.start()
    log.info("worker started", extra={"delivery_threads": settings.delivery_threads,
                                      "rate_limit_per_minute": settings.rate_limit_per_minute, "pid": os.getpid()})
    failures = 0
    while not stopping["flag"]:
        started = time.monotonic()
        worker = RelayWorker([QUEUE_NAME], connection=rt.redis, serializer=JSONSerializer,
                             maintenance_interval=settings.rq_maintenance_seconds)
        worker.on_stop = stop
        rt.job_recovery.worker_name = worker.name
        try:
            rt.job_recovery.beat()
            worker.work(with_scheduler=settings.rq_scheduler, logging_level="WARNING")
        except redis.RedisError as exc:
            log.warning("redis unavailable", extra={"error": str(exc)})
        # RQ leaves its own handlers behind; between runs a signal must only stop us.
        signal.signal(signal.SIGTERM, lambda *_: stop())
        signal.signal(signal.SIGINT, lambda *_: stop())
        if stopping["flag"]:
            break
        failures = 1 if time.monotonic() - started > 60 else failures + 1
        wait = min(30, 2**failures)
        log.warning("job loop ended (Redis lost?); restarting", extra={"retry_in": wait})
        rt.dispatcher.stop_event.wait(wait)
    rt.dispatcher.stop()
    rt.escalator.stop()
    rt.job_recovery.stop()
    log.info("worker stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
