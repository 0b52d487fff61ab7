"""The slash command (`/pam` by default, a rules setting): the answer is the ack itself.

    /pam upgrade 6.5.4     the answer, only the asker sees it, with "Share in channel"
    /pam  or  /pam help    usage with examples
    /pam stats [SINCE]     query-log summary, for user IDs in PAMBOT_ADMINS only
    /pam paths             every upgrade path of the rules, as a diagram
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.blocks import (
    answer_blocks,
    answer_text,
    code_blocks,
    escape,
    notice_blocks,
    paths_blocks,
)
from bot.listeners.common import Services, ask, log_query, question_text
from bot.querylog import DurationError, stats_text
from rules.paths import is_paths_request

if TYPE_CHECKING:
    from slack_bolt import Ack, App

STATS_WORD = "stats"
DEFAULT_STATS_SINCE = "7d"


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
        asked = ask(services, text)
        ack(
            response_type="ephemeral",
            text=answer_text(asked.answer),
            blocks=answer_blocks(asked.answer, query_id=asked.query_id, shareable=True,
                                 command=services.command),
        )
        log_query(services, asked, source="slash", team=command.get("team_id"),
                  channel=command.get("channel_id"), user=command.get("user_id"))


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
