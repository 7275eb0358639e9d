"""Structured logs: one JSON object a line, each carrying the request id of the request it belongs to.

``configure_logging`` installs the formatter on the root logger (``server.main`` calls it), so every
module's plain ``logging`` calls come out as JSON. Each line passes through ``redaction.scrub`` last:
whatever a message or a traceback holds, no ID number or token reaches the log.

Events of our own: ``onestop.access`` logs one line per GraphQL request (INFO) and ``onestop.upstream``
one per upstream attempt (DEBUG); their fields come as ``extra={"fields": {...}}``.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any, TextIO

import orjson

from observability.context import REQUEST_ID
from observability.redaction import scrub

access_log = logging.getLogger("onestop.access")
upstream_log = logging.getLogger("onestop.upstream")

FORMATS = ("json", "text")


class JsonFormatter(logging.Formatter):
    """``{"ts", "level", "logger", "message", "request_id", ...fields, "exception"}``, scrubbed."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": _timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or REQUEST_ID.get()
        if request_id:
            line["request_id"] = request_id
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update(fields)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return scrub(orjson.dumps(line, default=str).decode())


class TextFormatter(logging.Formatter):
    """The classic one-line text format for a developer's terminal, scrubbed the same way."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            text += " " + " ".join(f"{k}={v}" for k, v in fields.items())
        return scrub(text)


def _timestamp(created: float) -> str:
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created))
    return f"{seconds}.{int(created % 1 * 1000):03d}Z"


# database drivers that log each statement with its parameters at DEBUG (aiosqlite does): never below
# INFO, whatever the gateway's level, so a questionnaire's free text never reaches a log
SQL_DRIVERS = ("aiosqlite", "asyncpg")


class _OnestopHandler(logging.StreamHandler[TextIO]):
    """Marks the handler this module installed, so configuring twice replaces it."""


def configure_logging(level: str = "INFO", fmt: str = "json", stream: TextIO | None = None) -> None:
    """Every log record to ``stream`` (stderr) as JSON lines (or text), at ``level`` and above."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _OnestopHandler)]:
        root.removeHandler(handler)
    handler = _OnestopHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in SQL_DRIVERS:  # their DEBUG lines carry every SQL parameter: free texts, digests
        logging.getLogger(name).setLevel(max(logging.INFO, root.level))
