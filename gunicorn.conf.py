"""gunicorn settings for the `web` process; every value can be overridden from the environment."""

import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Intake work is short and CPU-bound with one Redis round trip; threads keep a worker answering
# while another request waits on Redis.
worker_class = "gthread"
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
