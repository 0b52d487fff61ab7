"""Every environment variable pambot reads, in one typed object.

Nothing else in the project reads `os.environ`. A malformed value stops
start-up with a `ConfigError` whose message is one sentence naming the variable.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_PORT = 3000
DEFAULT_DB = "pambot.db"
DEFAULT_RETENTION_DAYS = 90
DEFAULT_EVENT_LEASE_SECONDS = 30
LOG_FORMATS = ("text", "json")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
DEFAULT_THREAD_HOURS = 24


class ConfigError(Exception):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class Config:
    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    port: int = DEFAULT_PORT
    slack_api_url: str = DEFAULT_SLACK_API_URL
    # PAMBOT_DB: a SQLite file's path, or a PostgreSQL URL (postgresql:// or postgres://).
    db_path: str = DEFAULT_DB
    rules_path: str | None = None
    log_retention_days: int = DEFAULT_RETENTION_DAYS
    admins: frozenset[str] = field(default_factory=frozenset)
    event_lease_seconds: int = DEFAULT_EVENT_LEASE_SECONDS
    log_format: str = "text"
    # None: INFO for `pambot serve` and `pambot socket`, WARNING for the command-line tools.
    log_level: str | None = None
    # `pambot socket`'s health endpoint port when --health-port is not given (None: off).
    health_port: int | None = None
    # How long pambot remembers a thread it answered in (its versions, node, open question).
    thread_hours: int = DEFAULT_THREAD_HOURS

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Config:
        env = os.environ if env is None else env

        def text(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        bot_token = text("SLACK_BOT_TOKEN")
        if bot_token is not None and not bot_token.startswith("xoxb-"):
            raise ConfigError("SLACK_BOT_TOKEN must be a bot token starting with 'xoxb-'.")
        app_token = text("SLACK_APP_TOKEN")
        if app_token is not None and not app_token.startswith("xapp-"):
            raise ConfigError("SLACK_APP_TOKEN must be an app-level token starting with 'xapp-'.")
        secret = text("SLACK_SIGNING_SECRET")
        if secret is not None and not re.fullmatch(r"[0-9A-Za-z]{16,128}", secret):
            raise ConfigError(
                "SLACK_SIGNING_SECRET must be the app's signing secret "
                "(16 to 128 letters and digits, as shown under Basic Information)."
            )
        api_url = text("SLACK_API_URL") or DEFAULT_SLACK_API_URL
        if not re.match(r"https?://[^\s/]+", api_url):
            raise ConfigError("SLACK_API_URL must be an http(s) URL such as https://slack.com/api/.")
        if not api_url.endswith("/"):
            api_url += "/"
        log_format = (text("PAMBOT_LOG_FORMAT") or "text").lower()
        if log_format not in LOG_FORMATS:
            raise ConfigError("PAMBOT_LOG_FORMAT must be text or json, "
                              f"not {log_format[:40]!r}.")
        log_level = text("PAMBOT_LOG_LEVEL")
        if log_level is not None:
            log_level = log_level.upper()
            if log_level not in LOG_LEVELS:
                raise ConfigError("PAMBOT_LOG_LEVEL must be one of "
                                  f"{', '.join(LOG_LEVELS)}, not {log_level[:40]!r}.")
        return cls(
            slack_bot_token=bot_token,
            slack_signing_secret=secret,
            slack_app_token=app_token,
            port=_int(env, "PORT", DEFAULT_PORT, 1, 65535),
            slack_api_url=api_url,
            db_path=_log_file(text("PAMBOT_DB") or DEFAULT_DB),
            rules_path=text("PAMBOT_RULES"),
            log_retention_days=_int(
                env, "PAMBOT_LOG_RETENTION_DAYS", DEFAULT_RETENTION_DAYS, 1, 36500
            ),
            admins=frozenset(re.split(r"[\s,]+", text("PAMBOT_ADMINS") or "")) - {""},
            event_lease_seconds=_int(
                env, "PAMBOT_EVENT_LEASE_SECONDS", DEFAULT_EVENT_LEASE_SECONDS, 1, 86_400
            ),
            log_format=log_format,
            log_level=log_level,
            health_port=_int(env, "PAMBOT_HEALTH_PORT", None, 1, 65535),
            thread_hours=_int(env, "PAMBOT_THREAD_HOURS", DEFAULT_THREAD_HOURS, 1, 24 * 90),
        )

    def require(self, *names: str) -> None:
        """Stop with a sentence naming the first of `names` (variable names) that is unset."""
        values = {
            "SLACK_BOT_TOKEN": self.slack_bot_token,
            "SLACK_SIGNING_SECRET": self.slack_signing_secret,
            "SLACK_APP_TOKEN": self.slack_app_token,
        }
        for name in names:
            if not values[name]:
                raise ConfigError(f"{name} is not set; it is needed for this mode.")


# What a path names when it is not a file, for the message saying so.
_NOT_FILES = ((stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
              (stat.S_ISFIFO, "a named pipe"), (stat.S_ISSOCK, "a socket"))


def _log_file(path: str) -> str:
    """`path` (PAMBOT_DB) if it is a PostgreSQL URL, or names a file or nothing yet; a
    ConfigError if it names a directory or a device, which SQLite reports only as "disk I/O
    error" (or, for /dev/null, as an empty log)."""
    if path.lower().startswith(("postgresql://", "postgres://")):
        return path  # checked by connecting (bot.querylog.store)
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return path  # nothing there yet (created when first written), or unreachable: the log says
    if stat.S_ISDIR(mode):
        raise ConfigError(f"PAMBOT_DB names a directory, {path}: it must name the query log's "
                          f"file, for example {os.path.join(path, DEFAULT_DB)}.")
    kind = next((name for test, name in _NOT_FILES if test(mode)), None)
    if kind is not None:
        raise ConfigError(f"PAMBOT_DB names {path}, {kind}, not a file: it must name the "
                          f"query log's file, for example {DEFAULT_DB}.")
    return path


def _int(env: Mapping[str, str], name: str, default: int | None, low: int,
         high: int) -> int | None:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw[:40]!r}.") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, not {value}.")
    return value
