"""The slash command (`/pam` by default, a rules setting): the answer is the ack itself.

    /pam upgrade 6.5.4     the answer, only the asker sees it, with "Share in channel"
    /pam  or  /pam help    usage with examples
    /pam stats [SINCE]     query-log summary, for user IDs in PAMBOT_ADMINS only
    /pam paths             every upgrade path of the rules, as a diagram

The engine is pure, so an answer is asked, rendered and turned into Slack's JSON once per
question and rule set (`reply`), and each command gets that body with its own query id:
rendering was most of what a command cost (bench/bench_serve.py).
"""

from __future__ import annotations

import functools
import json
import secrets
import time
from typing import TYPE_CHECKING

from bot.blocks import (
    answer_blocks,
    answer_text,
    code_blocks,
    escape,
    notice_blocks,
    paths_blocks,
)
from bot.listeners.common import Asked, Services, log_query, question_text
from bot.querylog import DurationError, new_id, stats_text
from rules import answer
from rules.paths import is_paths_request

if TYPE_CHECKING:
    from slack_bolt import Ack, App

    from rules import Answer, RuleSet

STATS_WORD = "stats"
DEFAULT_STATS_SINCE = "7d"
# Stands in for the query id in a rendered reply (`reply`): random, so that no question or
# rule text contains it, and as long as the longest id, so that a button value that fits
# with it fits with any id.
QUERY_ID_SLOT = secrets.token_hex(10)[:19]


def register(app: App, services: Services) -> None:
    """Listen for the slash command named in the rules settings."""

    @app.command(services.command)
    def on_command(ack: Ack, command: dict) -> None:
        text = question_text(command.get("text"))
        words = text.split()
        if words and words[0].lower() == STATS_WORD:
            ack(response_type="ephemeral", **stats_message(services, command.get("user_id"),
                                                         words[1:]))
            return
        if is_paths_request(text):
            ack(response_type="ephemeral", text="Upgrade paths",
                blocks=paths_blocks(services.ruleset))
            return
        started = time.perf_counter()
        ruleset = services.ruleset
        logged = services.querylog is not None
        result, body = reply(ruleset, text, services.command, with_id=logged)
        query_id = str(new_id()) if logged else None
        # `ack` with a lone string answers with exactly that body (which Bolt, seeing "{",
        # sends as JSON).
        ack(body.replace(QUERY_ID_SLOT, query_id) if query_id else body)
        log_query(services, Asked(result, query_id, started, ruleset.version), source="slash",
                  team=command.get("team_id"), channel=command.get("channel_id"),
                  user=command.get("user_id"))


@functools.lru_cache(maxsize=1024)
def reply(ruleset: RuleSet, text: str, command: str, *, with_id: bool) -> tuple[Answer, str]:
    """The answer to `text` and the command's reply as Slack's JSON, with QUERY_ID_SLOT
    for the query id where `with_id` (Helpful / Not helpful, Share and the choices carry
    it). Cached: people ask the same things, and rule sets are hashed by identity, so a
    reloaded set gets replies of its own."""
    result = answer(text, ruleset)
    query_id = QUERY_ID_SLOT if with_id else None
    return result, json.dumps({
        "response_type": "ephemeral",
        "text": answer_text(result),
        "blocks": answer_blocks(result, query_id=query_id, shareable=True, command=command),
    })


def stats_message(services: Services, user_id: str | None, args: list[str]) -> dict:
    """The `/pam stats` reply: the summary in a code block for admins, a refusal for others."""
    if user_id not in services.admins:
        refusal = (f"Sorry, `{services.command} stats` is only for pambot's admins. "
                   "Ask whoever runs pambot for the numbers.")
        return {"text": escape(refusal), "blocks": notice_blocks(refusal)}
    since = args[0] if args else DEFAULT_STATS_SINCE
    try:
        summary = stats_text(services.db_path, since=since)
    except DurationError as exc:
        usage = f"{exc} Try `{services.command} stats 24h`, `30m`, `7d`, `4w` or an ISO date."
        return {"text": escape(usage), "blocks": notice_blocks(usage)}
    return {"text": "pambot stats", "blocks": code_blocks(summary)}
