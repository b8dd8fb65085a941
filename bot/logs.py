"""Logging: one JSON object per line on a PaaS, readable lines in a terminal, secrets redacted.

`LOG_FORMAT=json` or `LOG_FORMAT=text` forces a format; unset, a terminal gets text and
anything else (a PaaS log drain) gets JSON.
"""

from __future__ import annotations

import json
import logging
import sys
import time

_RESERVED = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
_SECRETS: set[str] = set()


def register_secret(value: str | None) -> None:
    """Makes sure `value` never appears in a log line, whatever code logs it."""
    if value and len(value) >= 4:
        _SECRETS.add(value)


def redact(text: str) -> str:
    for secret in _SECRETS:
        if secret in text:
            text = text.replace(secret, "[redacted]")
    return text


def _extras(record) -> dict:
    return {k: v for k, v in record.__dict__.items() if k not in _RESERVED and not k.startswith("_")}


class JsonFormatter(logging.Formatter):
    def format(self, record):
        entry = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            **_extras(record),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return redact(json.dumps(entry, default=str, ensure_ascii=False))


class TextFormatter(logging.Formatter):
    def format(self, record):
        extras = " ".join(f"{k}={v}" for k, v in _extras(record).items())
        line = f"{self.formatTime(record, '%H:%M:%S')} {record.levelname:<7} {record.name}: {record.getMessage()}"
        if extras:
            line += f"  [{extras}]"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return redact(line)


def _formatter(log_format: str) -> logging.Formatter:
    use_json = log_format == "json" or (log_format != "text" and not sys.stderr.isatty())
    return JsonFormatter() if use_json else TextFormatter()


def gunicorn_logconfig(log_format: str, level: str = "info") -> dict:
    """A `logconfig_dict` for gunicorn, so that its own lines (boot, worker exits, signals) come
    out in the same format as the relay's instead of gunicorn's plain text."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"relay": {"()": lambda: _formatter(log_format)}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "relay", "stream": "ext://sys.stderr"}},
        "loggers": {name: {"handlers": ["stderr"], "level": level.upper(), "propagate": False}
                    for name in ("gunicorn.error", "gunicorn.access")},
        "root": {"level": "INFO"},
    }


def configure(log_format: str = "", level: str = "INFO") -> None:
    """Installs the relay's handler on the root logger (idempotent)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_formatter(log_format))
    handler._relay = True
    root = logging.getLogger()
    root.handlers = [h for h in root.handlers if not getattr(h, "_relay", False)] + [handler]
    root.setLevel(level)
