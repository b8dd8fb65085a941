"""The WSGI entry point gunicorn serves (`bot.wsgi:app`). Loading the routes here, not lazily,
makes an invalid routes file stop the web process at boot with the route and field named."""

import logging
import sys

from bot import create_app
from bot.config import ConfigError

app = create_app()
_relay = app.extensions["relay"]
try:
    _routes = _relay.config.routes
except ConfigError as exc:
    logging.getLogger("relay").critical("invalid routes file: %s", exc)
    print(f"copera-relay: invalid routes file: {exc}", file=sys.stderr)
    raise SystemExit(3) from None

if _relay.settings.dry_run:
    logging.getLogger("relay").warning(
        "DRY RUN: COPERA_API_TOKEN is not set; webhooks are accepted and rendered but nothing is sent to Copera"
    )
logging.getLogger("relay").info("web ready", extra={"routes": len(_routes)})
