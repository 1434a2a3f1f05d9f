"""Logging: one JSON line per event, with time, level, logger and the request id.

Configured once, by `tada` (and handed to uvicorn, so its own lines and each worker process's
come out the same way). Library chatter is held at WARNING: Alembic's per-connection notices,
SQLAlchemy, uvicorn's access log (ours, `tada.access`, replaces it).
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from typing import Any

# Set by the request middleware for the duration of a request.
request_id_var: ContextVar[str | None] = ContextVar("tada_request_id", default=None)


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record made while a request is being handled."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.__dict__.pop("color_message", None)  # uvicorn's terminal-colour copy
        request_id = request_id_var.get()
        if request_id is not None and not hasattr(record, "request_id"):
            record.request_id = request_id
        return True


def log_config(level: str) -> dict[str, Any]:
    """A `logging.config.dictConfig` dict (also uvicorn's `log_config`)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "api.logs.RequestIdFilter"}},
        "formatters": {
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "fmt": "%(levelname)s %(name)s %(message)s",
                "rename_fields": {"levelname": "level", "name": "logger"},
                "timestamp": "time",
            }
        },
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "json",
                "filters": ["request_id"],
            }
        },
        "root": {"handlers": ["stderr"], "level": "WARNING"},
        "loggers": {
            "tada": {"level": level.upper()},
            "uvicorn": {"level": "INFO"},
            "uvicorn.error": {"level": "INFO"},
            "uvicorn.access": {"level": "WARNING", "propagate": False, "handlers": []},
            "alembic": {"level": "WARNING"},
            "sqlalchemy": {"level": "WARNING"},
        },
    }


def configure_logging(level: str) -> None:
    import logging.config

    logging.config.dictConfig(log_config(level))
