"""Gunicorn's own log lines (its error log and access log) in Heldout's log format.

``heldout serve`` installs this logger class; when running gunicorn yourself,
pass ``--logger-class heldout.platform.gunicorn_logs.GunicornLogger``. In the
JSON format an access line also carries ``remote_addr``, ``method``, ``path``,
``status`` and ``duration_s`` as keys.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from gunicorn.glogging import Logger

from heldout.logs import ContextFilter, configure_logging, make_formatter


class AccessFields(logging.Filter):
    """Lifts gunicorn's access-log atoms into record fields."""

    ATOMS = {"h": "remote_addr", "m": "method", "U": "path", "s": "status", "L": "duration_s"}

    def filter(self, record: logging.LogRecord) -> bool:
        atoms = record.args if isinstance(record.args, Mapping) else None
        if atoms is not None:
            for atom, name in self.ATOMS.items():
                value = atoms.get(atom)
                if value not in (None, "-"):
                    setattr(record, name, _number(value) if atom in ("s", "L") else value)
        return True


class GunicornLogger(Logger):
    # Set by ``heldout serve``; None reads HELDOUT_LOG_FORMAT through the settings.
    log_format: str | None = None

    def setup(self, cfg) -> None:  # noqa: ANN001
        super().setup(cfg)
        log_format = self.log_format
        if log_format is None:
            from heldout.config import Settings

            log_format = Settings.from_env().log_format
        configure_logging(log_format)
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(make_formatter(log_format))
                handler.addFilter(ContextFilter())
                if log is self.access_log:
                    handler.addFilter(AccessFields())


def logger_class(log_format: str) -> type[GunicornLogger]:
    return type("HeldoutGunicornLogger", (GunicornLogger,), {"log_format": log_format})


def _number(value):  # noqa: ANN001, ANN202
    try:
        return float(value) if "." in str(value) else int(value)
    except ValueError:
        return value
