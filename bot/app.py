"""Build the Bolt app: one Web API client, one error handler, every listener.

    >>> app = build_app(config, ruleset=default_ruleset(), querylog=QueryLog(config.db_path))

The app processes each request before answering Slack's HTTP request
(`process_before_response`): a slash command's answer *is* its acknowledgement, and an
event's answer is posted before Slack hears back, so a failed post answers Slack with an
error and Slack redelivers the event (`X-Slack-Retry-Num`). Redeliveries of an event that
was answered are acknowledged and dropped by `event_id`; Bolt itself drops no retries.
Button follow-ups run as lazy listeners, after their acknowledgement.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from concurrent.futures import Executor
from typing import TYPE_CHECKING
from urllib.error import URLError

from slack_bolt import App, BoltResponse
from slack_bolt.error import BoltUnhandledRequestError
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)

from bot.blocks import escape
from bot.config import Config, ConfigError
from bot.listeners import register_listeners
from bot.listeners.common import Services, describe, report_error, where
from bot.querylog import Clicks, Runbooks, StateStore, StateUnavailable, Threads
from bot.querylog.claims import EventClaimBusy, EventDeferred, EventInProgress
from bot.querylog.learned import LearnedPhrases
from bot.reload import LiveRules

if TYPE_CHECKING:
    from bot.querylog import QueryLog
    from rules import RuleSet

log = logging.getLogger("pambot.slack")

# Seconds a Web API call may take; a thread waiting longer helps nobody.
WEB_API_TIMEOUT = 10
# Retries on HTTP 429 (after Retry-After) and on connection errors, per call.
WEB_API_RETRIES = 2
SORRY = "Sorry, something went wrong while answering. Please try again in a minute."


def build_client(config: Config, *, logger: logging.Logger | None = None) -> WebClient:
    """A Web API client for `SLACK_API_URL` that waits out rate limits and retries resets;
    `logger`: where slack_sdk logs (default: its own logger)."""
    return WebClient(
        token=config.slack_bot_token,
        base_url=config.slack_api_url,
        timeout=WEB_API_TIMEOUT,
        logger=logger,
        retry_handlers=[
            RateLimitErrorRetryHandler(max_retry_count=WEB_API_RETRIES),
            ConnectionErrorRetryHandler(max_retry_count=WEB_API_RETRIES),
        ],
    )


def check_bot_token(config: Config) -> None:
    """ConfigError naming SLACK_BOT_TOKEN or SLACK_API_URL unless `auth.test` accepts the token.

    For start-up: the one sentence is the whole report (slack_sdk's own lines about each
    failed attempt and retry are not shown).
    """
    try:
        build_client(config, logger=_QUIET).auth_test()
    except SlackApiError as exc:
        raise ConfigError(
            f"SLACK_BOT_TOKEN was refused by the Slack Web API at {config.slack_api_url} "
            f"({exc.response.get('error', 'no reason given')})."
        ) from None
    except (URLError, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise ConfigError(
            f"SLACK_API_URL ({config.slack_api_url}) cannot be reached to check "
            f"SLACK_BOT_TOKEN ({reason})."
        ) from None


def check_database(config: Config) -> None:
    """ConfigError naming PAMBOT_DB unless its PostgreSQL database can be reached and its
    schema brought up to date (a SQLite file needs no check: it is created when first
    written, and a file that cannot be is a warning, not a stop).

    For start-up: before any worker starts, within seconds (`store.CONNECT_TIMEOUT_S`).
    """
    from bot.querylog import is_postgres, shown
    from bot.querylog.schema import connect
    from bot.querylog.state import StateStore
    from bot.querylog.store import errors, reason

    if not is_postgres(config.db_path):
        return
    try:
        connect(config.db_path).close()
        state = StateStore(config.db_path)
        try:
            with state.reading():
                pass  # creates the state tables
        finally:
            state.close()
    except (*errors(), StateUnavailable) as exc:
        cause = exc.__cause__ if isinstance(exc, StateUnavailable) else exc
        raise ConfigError(f"PAMBOT_DB names a PostgreSQL database, {shown(config.db_path)}, "
                          f"that cannot be used: {reason(cause or exc)}") from None


# slack_sdk logs each failed request and each retry; a start-up check says it in one sentence.
_QUIET = logging.getLogger("pambot.startup.slack_sdk")
_QUIET.propagate = False
_QUIET.addHandler(logging.NullHandler())


def build_app(config: Config, *, ruleset: RuleSet | LiveRules, querylog: QueryLog | None,
              socket_mode: bool = False, listener_executor: Executor | None = None) -> App:
    """The pambot Bolt app; `querylog` None turns logging off (event dedupe stays, in memory).

    `ruleset`: the rules, or a `LiveRules` whose reloads the app follows. `listener_executor`
    runs the button follow-ups (Bolt's lazy listeners): shut it down, waiting, before closing
    `querylog`, so that a click in progress when pambot stops is finished and logged.

    Needs SLACK_BOT_TOKEN, and SLACK_SIGNING_SECRET for HTTP (`socket_mode` False) or
    SLACK_APP_TOKEN for Socket Mode; calls `auth.test` to learn the bot's own user ID.
    """
    config.require("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN" if socket_mode else "SLACK_SIGNING_SECRET")
    # Bolt reads SLACK_BOT_TOKEN itself and warns that it "will be unused" as a client is
    # given: the client carries that very token (and SLACK_API_URL and the retry handlers).
    logging.getLogger("slack_bolt.App").addFilter(_CLIENT_CARRIES_THE_TOKEN)  # once
    app = App(
        name="pambot",
        client=build_client(config),
        # Socket Mode requests are not signed; over HTTP every request is verified once, at the
        # edge (bot.server), before Bolt sees it.
        request_verification_enabled=False,
        process_before_response=True,
        # Unhandled requests go to `on_error`, which says so in one line.
        raise_error_for_unhandled_request=True,
        listener_executor=listener_executor,
    )
    app.error(on_error)
    # Threads and checklists live in the log's file, whether or not queries are logged.
    state = StateStore(config.db_path, retention_days=config.log_retention_days)
    rules = ruleset if isinstance(ruleset, LiveRules) else LiveRules(ruleset)
    rules.watch(LearnedPhrases(state))  # phrases taught anywhere, read here within seconds
    register_listeners(app, Services(
        rules=rules,
        claims=querylog if querylog is not None else MemoryClaims(),
        querylog=querylog,
        admins=config.admins,
        db_path=config.db_path,
        threads=Threads(state, hours=config.thread_hours),
        runbooks=Runbooks(state),
        clicks=Clicks(state),
    ))
    return app


class _ClientCarriesTheToken(logging.Filter):
    """Drops Bolt's "`token` will be unused" warning, which would read as a misconfiguration."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != warning_client_prioritized_and_token_skipped()


_CLIENT_CARRIES_THE_TOKEN = _ClientCarriesTheToken()


def on_error(error: Exception, body: dict) -> BoltResponse | None:
    """Bolt's global error handler: log with the traceback, then answer Slack sensibly.

    A slash command gets an apology the user can see; anything else keeps Bolt's 500, so
    Slack redelivers an event whose answer could not be posted; an event whose claim store
    is locked gets 503, and is redelivered too. A request no listener takes (pambot opens no
    modals, so a `view_submission` is one) gets 404 and one line, instead of Bolt's warning
    with sample code.
    """
    if isinstance(error, BoltUnhandledRequestError):
        log.warning("pambot does not handle %s; answered 404", describe(body),
                    extra=where(body))
        return BoltResponse(status=404, body={"ok": False, "error": "unhandled request"})
    if isinstance(error, EventDeferred):
        if not isinstance(error, EventClaimBusy):  # that one is logged with its policy
            log.info("event %s is still being answered (an earlier delivery); answered 503 "
                     "so that Slack delivers it again", error, extra=where(body))
        # Slack redelivers an event that gets an error.
        return BoltResponse(status=503, body="")
    report_error(error, body)
    if isinstance(body, dict) and body.get("command"):
        return BoltResponse(
            status=200,
            body={"response_type": "ephemeral", "text": escape(SORRY)},
        )
    return None


class MemoryClaims:
    """Slack event dedupe within this process, for when there is no query log.

    Same interface as `QueryLog.claim_event` / `finish_event`; remembers the newest
    `max_events` event ids.
    """

    def __init__(self, max_events: int = 10_000) -> None:
        self.max_events = max_events
        self._lock = threading.Lock()
        self._events: OrderedDict[str, str] = OrderedDict()

    def claim_event(self, event_id: str) -> bool:
        """True if `event_id` was never claimed, or was released (it is now claimed); False
        if it was answered; EventInProgress while it is being answered."""
        with self._lock:
            state = self._events.get(event_id)
            if state == "claimed":
                raise EventInProgress(event_id)
            if state == "answered":
                return False
            self._events[event_id] = "claimed"
            while len(self._events) > self.max_events:
                self._events.popitem(last=False)
            return True

    def finish_event(self, event_id: str, *, answered: bool) -> None:
        """Keep an answered event; forget a failed one so its redelivery is answered."""
        with self._lock:
            if answered:
                self._events[event_id] = "answered"
            else:
                self._events.pop(event_id, None)

