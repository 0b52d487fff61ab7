"""What every listener shares: the services it is given, asking the engine, logging the
question, replying privately, and reporting errors."""

from __future__ import annotations

import functools
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from bot import metrics
from bot.blocks import escape, notice_blocks, unescape
from bot.logs import log_context
from bot.querylog import new_id
from rules import Answer, RuleSet, answer

if TYPE_CHECKING:
    from slack_bolt import Respond
    from slack_sdk import WebClient

    from bot.querylog import Clicks, QueryLog, Runbooks, Threads
    from bot.reload import LiveRules

logger = logging.getLogger("pambot.slack")

_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")


class Claims(Protocol):
    """Slack event dedupe, as `QueryLog` provides it (or `bot.app.MemoryClaims`)."""

    def claim_event(self, event_id: str) -> bool:
        """True: answer it; False: it was answered; raises EventInProgress meanwhile."""

    def finish_event(self, event_id: str, *, answered: bool) -> None: ...


@dataclass(frozen=True)
class Services:
    """What the listeners need besides Bolt's own arguments."""

    rules: LiveRules
    claims: Claims
    querylog: QueryLog | None = None
    admins: frozenset[str] = field(default_factory=frozenset)
    db_path: str | None = None
    # Conversation state shared by every worker (None: pambot remembers no thread).
    threads: Threads | None = None
    runbooks: Runbooks | None = None
    # The first click of each answering button (None: every click is answered).
    clicks: Clicks | None = None

    @property
    def ruleset(self) -> RuleSet:
        """The rule set in force (a reload replaces it between questions)."""
        return self.rules.current

    @property
    def command(self) -> str:
        """The slash command, e.g. "/pam" (a rules setting)."""
        return self.ruleset.settings.command


@dataclass(frozen=True)
class Asked:
    """One question answered: the answer, the id the query log and buttons use, and when."""

    answer: Answer
    query_id: str | None
    started: float
    # The version of the rule set that answered.
    rules_version: str = ""

    def elapsed_ms(self) -> float:
        return (time.perf_counter() - self.started) * 1000


class ResponseUrlError(Exception):
    """Slack refused a post to an interaction's `response_url`."""


def question_text(text: str | None, bot_user_id: str | None = None) -> str:
    """What the person asked: Slack's text with the bot's own mention removed and `&lt;` decoded.

    >>> question_text("<@U0BOT> upgrade 6.5.4 &amp; then?", "U0BOT")
    'upgrade 6.5.4 & then?'
    """
    text = text or ""
    if bot_user_id:
        text = _MENTION.sub(lambda m: " " if m.group(1) == bot_user_id else m.group(0), text)
    return unescape(" ".join(text.split()))


def ask(services: Services, text: str) -> Asked:
    """Ask the engine; the query id is made here so buttons can carry it before logging."""
    started = time.perf_counter()
    ruleset = services.ruleset
    result = answer(text, ruleset)
    query_id = str(new_id()) if services.querylog is not None else None
    return Asked(result, query_id, started, ruleset.version)


def log_query(services: Services, asked: Asked, *, source: str, typed: str | None = None,
              **where: str | None) -> None:
    """Queue the query for the log (never blocks, never raises); `where`: team, channel, ...

    `typed` is what the person typed or clicked, when the question answered was read from it
    ("leader" answered as "restore leader"): the log keeps the question and what was said.
    Counted in the metrics, and at DEBUG one line in the process log, without the question's
    text (the query log has it): at INFO that line was a fifth of what a slash command cost a
    busy server (bench/bench_serve.py), for what the query log and the metrics already hold.
    """
    elapsed_ms = asked.elapsed_ms()
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug("answered a %s question: rule %s, outcome %s, %.0f ms", source,
                     asked.answer.rule, asked.answer.outcome, elapsed_ms,
                     extra=log_context(query_id=asked.query_id, event_id=where.get("event_id"),
                                       team=where.get("team"), channel=where.get("channel")))
    metrics.question(source, asked.answer.outcome, elapsed_ms / 1000)
    if services.querylog is not None:
        services.querylog.record_query(
            asked.answer, source=source, elapsed_ms=elapsed_ms, typed=typed,
            query_id=asked.query_id, rules_version=asked.rules_version, **where,
        )


def tell(body: Mapping[str, Any], respond: Respond | None, client: WebClient | None,
         text: str) -> None:
    """Tell the person who clicked something `text`, privately: through the interaction's
    response_url, or in their DM with pambot where there is none (the App Home)."""
    if respond is not None and body.get("response_url"):
        checked(respond(response_type="ephemeral", replace_original=False,
                        text=escape(text), blocks=notice_blocks(text)))
        return
    user = user_id(body)
    if client is not None and user:
        client.chat_postMessage(channel=user, text=escape(text), blocks=notice_blocks(text))


def user_id(body: Mapping[str, Any]) -> str | None:
    """The ID of the user who clicked, from a block_actions payload."""
    user = body.get("user")
    value = user.get("id") if isinstance(user, Mapping) else None
    return value if isinstance(value, str) else None


def checked(response: Any) -> Any:
    """`response` from a response_url post, or ResponseUrlError if Slack did not accept it."""
    if response.status_code != 200:
        raise ResponseUrlError(
            f"response_url post failed: HTTP {response.status_code} {str(response.body)[:200]}"
        )
    return response


def report_error(error: BaseException, body: Mapping[str, Any] | None) -> None:
    """The one place a failed listener is logged: what failed, for which request, traceback."""
    logger.exception("pambot could not handle %s: %s: %s", describe(body),
                     type(error).__name__, error, exc_info=error, extra=where(body))


def describe(body: Mapping[str, Any] | None) -> str:
    """A short, user-text-free name for a Slack request, for logs."""
    if not isinstance(body, Mapping):
        return "a request"
    if body.get("command"):
        return f"command {body['command']} (channel {body.get('channel_id')})"
    event = body.get("event")
    if isinstance(event, Mapping):
        return (f"event {event.get('type')} {body.get('event_id')} "
                f"(channel {event.get('channel')})")
    actions = body.get("actions")
    if isinstance(actions, list) and actions and isinstance(actions[0], Mapping):
        return f"action {actions[0].get('action_id')}"
    return f"a {body.get('type') or 'request'}"


def where(body: Mapping[str, Any] | None) -> dict[str, str]:
    """The event id, team and channel of a Slack request, as log context."""
    if not isinstance(body, Mapping):
        return {}
    event = body.get("event") if isinstance(body.get("event"), Mapping) else {}
    team = body.get("team_id") or _id(body.get("team"))
    channel = body.get("channel_id") or event.get("channel") or _id(body.get("channel"))
    return log_context(event_id=body.get("event_id"), team=team, channel=channel)


def _id(value: Any) -> str | None:
    return value.get("id") if isinstance(value, Mapping) else None


def reported(func: Callable[..., None]) -> Callable[..., None]:
    """`func`, a lazy listener, with its errors sent to `report_error`.

    Bolt logs a failing lazy listener with its message only; this keeps the traceback.
    """

    @functools.wraps(func)
    def wrapper(**kwargs: Any) -> None:
        try:
            func(**kwargs)
        except Exception as error:
            report_error(error, kwargs.get("body"))

    return wrapper
