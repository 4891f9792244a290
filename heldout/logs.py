"""Log lines for ``heldout serve`` and ``heldout worker``: text for people, or one JSON object per line.

``HELDOUT_LOG_FORMAT`` picks the format (``json`` by default in production,
``text`` otherwise); ``configure_logging`` installs it on the root logger, so
Heldout's own loggers, RQ's and werkzeug's all come out the same way.

What a line is about travels beside it: ``log_context(submission_id=...,
job_id=...)`` binds fields for everything logged inside the block on this
thread (a contextvar, so concurrent requests and threads never mix them up),
and a filter on the handler stamps them on each record. A JSON line carries
them as keys; a text line ends with them in brackets. Any ``extra={...}``
given to one call becomes keys of that JSON line too.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from datetime import datetime, timezone
from typing import IO

from heldout.config import LOG_FORMATS

# The fields a text line shows, in this order; a JSON line shows every bound field.
CONTEXT_FIELDS = ("worker", "job_id", "submission_id", "challenge_id")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_context: ContextVar[dict] = ContextVar("heldout_log_context", default={})  # noqa: B039 - replaced, never mutated
# Attributes every LogRecord has: anything else on a record was bound or passed as ``extra``.
_RECORD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


@contextmanager
def log_context(**fields) -> Iterator[None]:
    """Stamp ``fields`` (those not None) on every record logged inside the block on this thread."""
    token = _context.set({**_context.get(), **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _context.reset(token)


def bind(**fields) -> Token:
    """Like ``log_context`` for the rest of this thread (or until ``unbind``): e.g. a worker's name."""
    return _context.set({**_context.get(), **{k: v for k, v in fields.items() if v is not None}})


def unbind(token: Token) -> None:
    _context.reset(token)


def bound_fields() -> dict:
    return dict(_context.get())


class ContextFilter(logging.Filter):
    """Copies the bound fields onto each record; runs on the thread that logged it."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in _context.get().items():
            if not hasattr(record, name):
                setattr(record, name, value)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: timestamp (UTC, ISO 8601), level, logger, message, then the record's fields."""

    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "timestamp": datetime.fromtimestamp(record.created, timezone.utc)
            .isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name, value in record.__dict__.items():
            if name not in _RECORD_ATTRIBUTES and not name.startswith("_") and name not in payload:
                payload[name] = value
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            payload["stack"] = self.formatStack(record.stack_info)
        return json.dumps(payload, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """The classic line, with the bound context at its end: ``... [job_id=… submission_id=12]``."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        context = " ".join(f"{name}={getattr(record, name)}" for name in CONTEXT_FIELDS
                           if getattr(record, name, None) is not None)
        if not context:
            return line
        first, newline, rest = line.partition("\n")  # keep a traceback below the bracketed context
        return f"{first} [{context}]{newline}{rest}"


def make_formatter(log_format: str) -> logging.Formatter:
    if log_format not in LOG_FORMATS:
        raise ValueError(f"unknown log format {log_format!r}")
    return JsonFormatter() if log_format == "json" else TextFormatter()


def make_handler(log_format: str, stream: IO[str] | None = None) -> logging.Handler:
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(make_formatter(log_format))
    handler.addFilter(ContextFilter())
    handler._heldout = True  # type: ignore[attr-defined]  # so a second call replaces it
    return handler


def configure_logging(log_format: str, *, level: int = logging.INFO, stream: IO[str] | None = None) -> logging.Handler:
    """Send every log record to ``stream`` (stderr) in ``log_format``; calling it again replaces the handler."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_heldout", False):
            root.removeHandler(handler)
    handler = make_handler(log_format, stream)
    root.addHandler(handler)
    root.setLevel(level)
    return handler
