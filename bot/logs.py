"""Logging for every pambot command: plain text, or one JSON object per line, on stderr.

    setup_logging(config, command)     # once, from the command line

`PAMBOT_LOG_FORMAT=json` writes each record as one JSON object (python-json-logger):
`time` (ISO 8601, UTC), `level`, `logger`, `message`, and `event_id`, `query_id`, `team` and
`channel` when the record is about one Slack request (pass them with `extra=log_context(...)`).
A traceback goes in `exc_info`, inside the same object.

`PAMBOT_LOG_LEVEL` sets the level; without it, the servers (`serve`, `socket`) log at INFO
and the command-line tools at WARNING, so they speak only when something is wrong.
Nothing at INFO or above may carry a token, a signing secret or a question's text: the
query log holds the questions.
"""

from __future__ import annotations

import logging.config
from typing import Any

from bot.config import Config

SERVER_COMMANDS = frozenset({"serve", "socket"})
# The keys a record about one Slack request carries, in JSON logs.
CONTEXT_KEYS = ("event_id", "query_id", "team", "channel")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_applied: dict[str, Any] | None = None


def log_context(**values: str | None) -> dict[str, str]:
    """`extra=` for a log call: those of `values` (CONTEXT_KEYS) that are set."""
    unknown = set(values) - set(CONTEXT_KEYS)
    if unknown:
        raise TypeError(f"not log context keys: {sorted(unknown)}")
    return {key: value for key, value in values.items() if isinstance(value, str) and value}


def logging_config(log_format: str, level: str) -> dict[str, Any]:
    """A `logging.config.dictConfig` dict: one stderr handler on the root logger."""
    if log_format == "json":
        formatter: dict[str, Any] = {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": ["levelname", "name", "message"],
            "rename_fields": {"levelname": "level", "name": "logger"},
            "timestamp": "time",
        }
    else:
        formatter = {"format": TEXT_FORMAT}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"pambot": formatter},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "pambot",
                                "stream": "ext://sys.stderr"}},
        "root": {"level": level, "handlers": ["stderr"]},
        # gunicorn's own loggers go through the same handler, so its lines match ours.
        "loggers": {name: {"level": level, "handlers": [], "propagate": True}
                    for name in ("gunicorn.error", "gunicorn.access")},
    }


def setup_logging(config: Config, command: str) -> None:
    """Configure the root logger for `command` from PAMBOT_LOG_FORMAT and PAMBOT_LOG_LEVEL."""
    global _applied
    level = config.log_level or ("INFO" if command in SERVER_COMMANDS else "WARNING")
    _applied = logging_config(config.log_format, level)
    logging.config.dictConfig(_applied)


def gunicorn_logconfig() -> dict[str, Any]:
    """The configuration `setup_logging` applied, for gunicorn's `logconfig_dict`.

    gunicorn sets up its own loggers when it starts; given this, it sets up ours again
    instead, in the same format.
    """
    return _applied or logging_config("text", "INFO")
