"""Log lines that carry the request id, as plain text or as JSON lines (ATELIER_LOG_FORMAT=json).

Imported by the settings, so it imports nothing of Django's that needs configured settings."""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

current_request_id: ContextVar[str] = ContextVar("request_id", default="-")


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id.get()
        return True


class JsonLinesFormatter(logging.Formatter):
    """One JSON object per line: what log collectors parse without a pattern."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        if status := getattr(record, "status_code", None):
            entry["status"] = status
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def logging_config(*, json_lines: bool, level: str, django_level: str) -> dict[str, Any]:
    """Everything to stderr: our loggers at `level`; Django's (a 500's traceback is logged by
    django.request at ERROR) at `django_level`, also when DEBUG is off (Django's own default
    would mail them to ADMINS and print nothing)."""
    plain = "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": {
            "plain": {"format": plain},
            "json": {"()": JsonLinesFormatter},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "json" if json_lines else "plain",
                "filters": ["request_id"],
            }
        },
        "loggers": {
            "gallery": {"handlers": ["console"], "level": level, "propagate": False},
            "django": {"handlers": ["console"], "level": django_level, "propagate": False},
            "axes": {"handlers": ["console"], "level": "WARNING", "propagate": False},
        },
    }
