"""gunicorn settings for the `web` process; every value can be overridden from the environment."""

import glob
import os
import tempfile

from gunicorn import glogging

from bot.logs import gunicorn_logconfig

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Measured with bench/intake.py on 2 cores (docs/performance.md): gthread 2x4 ~2,100 req/s and
# sync x3 ~1,940 req/s were equal within noise; gthread 3x2 and sync x2/x4 were slower. gthread is
# kept because a slow client then occupies a thread, not a whole process. Intake is CPU-bound with
# one Redis round trip per webhook, during which the other threads run.
worker_class = os.environ.get("WEB_WORKER_CLASS", "gthread")
threads = int(os.environ.get("WEB_THREADS", "4"))
# Load the app (and validate the routes file) once in the master: a bad file stops the process
# at boot with the route and field named, instead of every worker crashing in a loop.
preload_app = True
timeout = 30
graceful_timeout = 25
keepalive = 5
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
logconfig_dict = gunicorn_logconfig(os.environ.get("LOG_FORMAT", "").strip().lower(), loglevel)


class Logger(glogging.Logger):
    """gunicorn's logger, with access lines only when an access log is asked for
    (`GUNICORN_CMD_ARGS="--access-logfile -"`): gunicorn turns them on whenever a logging config is
    given, and the one above (which makes its own lines JSON) would double every webhook's log
    line and cost intake about 7 % of its throughput (docs/performance.md)."""

    def access(self, resp, req, environ, request_time):
        if self.cfg.accesslog:
            super().access(resp, req, environ, request_time)


logger_class = Logger

# /metrics aggregates all gunicorn workers through prometheus_client's multiprocess mode, which
# needs a directory of its own, set before the app (and prometheus_client) is imported.
_metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or tempfile.mkdtemp(prefix="relay-metrics-")
os.environ["PROMETHEUS_MULTIPROC_DIR"] = _metrics_dir
for _stale in glob.glob(os.path.join(_metrics_dir, "*.db")):
    os.remove(_stale)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
