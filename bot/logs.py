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

import logging
import sys
from typing import Any

from bot.config import Config

SERVER_COMMANDS = frozenset({"serve", "socket"})
# The keys a record about one Slack request carries, in JSON logs.
CONTEXT_KEYS = ("event_id", "query_id", "team", "channel")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_applied: tuple[str, str] | None = None


def log_context(**values: str | None) -> dict[str, str]:
    """`extra=` for a log call: those of `values` (CONTEXT_KEYS) that are set."""
    unknown = set(values) - set(CONTEXT_KEYS)
    if unknown:
        raise TypeError(f"not log context keys: {sorted(unknown)}")
    return {key: value for key, value in values.items() if isinstance(value, str) and value}


class StderrHandler(logging.StreamHandler):
    """A StreamHandler on whatever `sys.stderr` is when a record is written, not when the
    handler was made (so a redirected stderr, or a test runner's, gets the lines)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def formatter(log_format: str) -> logging.Formatter:
    """The formatter for PAMBOT_LOG_FORMAT: python-json-logger's for `json`, else text."""
    if log_format == "json":
        from pythonjsonlogger.json import JsonFormatter

        return JsonFormatter(["levelname", "name", "message"], timestamp="time",
                             rename_fields={"levelname": "level", "name": "logger"})
    return logging.Formatter(TEXT_FORMAT)


def setup_logging(config: Config, command: str) -> None:
    """Log to stderr for `command`, as PAMBOT_LOG_FORMAT and PAMBOT_LOG_LEVEL say.

    Replaces the handler an earlier call added, and no other.
    """
    global _applied
    level = config.log_level or ("INFO" if command in SERVER_COMMANDS else "WARNING")
    _applied = (config.log_format, level)
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, StderrHandler)]:
        root.removeHandler(old)
    handler = StderrHandler()
    handler.setFormatter(formatter(config.log_format))
    root.addHandler(handler)
    root.setLevel(level)


def gunicorn_logconfig() -> dict[str, Any]:
    """The same set-up as a `logging.config.dictConfig` dict, for gunicorn's `logconfig_dict`.

    gunicorn sets up its own loggers when it starts; given this, it sets up pambot's
    instead, so its lines come out in the same format.
    """
    log_format, level = _applied or ("text", "INFO")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"pambot": {"()": f"{__name__}.formatter", "log_format": log_format}},
        "handlers": {"stderr": {"()": f"{__name__}.StderrHandler", "formatter": "pambot"}},
        "root": {"level": level, "handlers": ["stderr"]},
        "loggers": {name: {"level": level, "handlers": [], "propagate": True}
                    for name in ("gunicorn.error", "gunicorn.access")},
    }
