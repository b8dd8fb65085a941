# Copera Relay: one image for both Procfile processes.
#   docker build -t copera-relay .
#   web (default):  docker run -p 8000:8000 -e REDIS_URL=redis://… -v "$PWD/relay.yml:/app/relay.yml:ro" copera-relay
#   worker:         docker run -e REDIS_URL=redis://… -v "$PWD/relay.yml:/app/relay.yml:ro" copera-relay python -m workers
# The routes file is read from /app/relay.yml (or $RELAY_CONFIG); the image ships only relay.example.yml.
# See docs/deploy.md for Compose, Heroku, Render, Fly.io and Kubernetes.
FROM python:3.11-slim

ENV PORT=8000 \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# A fixed numeric uid, so Kubernetes' runAsNonRoot can verify it without a passwd lookup.
RUN groupadd --system --gid 10001 relay \
    && useradd --system --uid 10001 --gid relay --home-dir /app --no-create-home --shell /usr/sbin/nologin relay

# Dependencies first: this layer is rebuilt only when requirements.txt changes.
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt

# Only what the two processes run. Files stay owned by root: the app never writes to /app.
COPY gunicorn.conf.py Procfile relay.example.yml ./
COPY bot/ ./bot/
COPY workers/ ./workers/
RUN python -m compileall -q bot workers

USER 10001:10001
EXPOSE 8000

# Liveness of the web process (no curl in slim images). The worker serves no HTTP: orchestrators
# should disable this check for it (docker-compose.yml does).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=4)"]

# SIGTERM (Docker's default stop signal) makes gunicorn and the worker finish in-flight work;
# give them 30 s (`docker stop -t 30`, compose stop_grace_period, k8s terminationGracePeriodSeconds).
STOPSIGNAL SIGTERM

# = the Procfile's web command; override with `python -m workers` for the worker.
CMD ["gunicorn", "--config", "gunicorn.conf.py", "bot.wsgi:app"]
