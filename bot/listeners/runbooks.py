"""Runbook checklists: "Start checklist" on an answer, and the ticks on its steps.

"Start checklist" posts the answer's steps as a checklist message in the answer's thread
(one per answer, however often it is clicked). A tick or untick is a row in the database
(`bot.querylog.Runbooks`), then the message is redrawn for everyone with `chat.update`.
Two ticks at once are both kept: each worker redraws until the message shows the newest
tick it knows of, so the last redraw shows them all. Everything a tick needs is in the
checkbox and the database, so it works on any worker and after any restart.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from slack_sdk.errors import SlackApiError

from bot.blocks import (
    ACTION_CHECKLIST,
    StaleButton,
    has_checklist,
    parse_button_value,
    pick,
)
from bot.checklist import ACTION_TICK, checklist_blocks, checklist_text, parse_tick
from bot.listeners.common import Services, ask, reported, tell, user_id
from bot.querylog import Runbook, StateUnavailable

if TYPE_CHECKING:
    from slack_bolt import Ack, App, Respond
    from slack_sdk import WebClient

log = logging.getLogger("pambot.slack")

# A worker redraws at most this often after one tick; more would mean a storm of ticks,
# and the workers that made them redraw too.
MAX_REDRAWS = 5
# Slack's errors for a message that cannot be updated any more.
GONE = frozenset({"message_not_found", "channel_not_found", "cant_update_message",
                  "is_archived", "not_in_channel"})
NO_DATABASE = ("Sorry, pambot cannot write to its database right now, so {what}. "
               "Please try again in a minute.")
GONE_CHECKLIST = ("That checklist no longer exists: it was deleted, or is older than pambot "
                  "keeps checklists. Start a new one from the answer's Start checklist button.")


def register(app: App, services: Services) -> None:
    """Listen for "Start checklist" and for ticks on checklist steps."""

    def start(body: dict, action: dict, respond: Respond, client: WebClient) -> None:
        try:
            value = parse_button_value(action.get("value"))
        except StaleButton as stale:
            tell(body, respond, client, f"That button no longer works ({stale}). Ask the "
                 "question again for an answer with a working Start checklist button.")
            return
        container = body.get("container") if isinstance(body.get("container"), dict) else {}
        channel, answer_ts = container.get("channel_id"), container.get("message_ts")
        result = pick(ask(services, value.question).answer, value.item)
        if services.runbooks is None or not channel or not answer_ts \
                or container.get("is_ephemeral"):
            tell(body, respond, client, "Checklists run in a thread: mention me in the "
                 "incident thread, or message me, and start one from that answer.")
            return
        if result is None or not has_checklist(result):
            tell(body, respond, client, "That answer has no steps to tick off any more: the "
                 "rules have changed since it was given. Ask the question again.")
            return
        message = body.get("message") if isinstance(body.get("message"), dict) else {}
        thread_ts = message.get("thread_ts") or container.get("thread_ts") or answer_ts
        try:
            book = services.runbooks.start(
                channel=channel, thread_ts=thread_ts, answer_ts=answer_ts, item=value.item,
                question=result.query, steps=result.steps, rule=result.rule,
                title=result.verdict, source=result.source, source_url=result.source_url,
                started_by=user_id(body), team=_team(body))
        except StateUnavailable:
            tell(body, respond, client, NO_DATABASE.format(what="the checklist cannot start"))
            return
        if book is None:
            tell(body, respond, client, "A checklist for this answer is already in this "
                 "thread: tick its steps there.")
            return
        try:
            posted = client.chat_postMessage(channel=channel, thread_ts=thread_ts,
                                             text=checklist_text(book),
                                             blocks=checklist_blocks(book))
            services.runbooks.posted(book.id, posted["ts"])
        except BaseException:
            # Nobody can tick a checklist that is not there: let the next click start it.
            services.runbooks.discard(book.id)
            raise

    def tick(body: dict, action: dict, respond: Respond, client: WebClient) -> None:
        try:
            runbook_id, step, ticked = parse_tick(action)
        except StaleButton as stale:
            tell(body, respond, client, f"That checkbox does not work ({stale}).")
            return
        container = body.get("container") if isinstance(body.get("container"), dict) else {}
        try:
            book = services.runbooks.tick(
                runbook_id, step, user=user_id(body), ticked=ticked,
                channel=container.get("channel_id") or _channel(body),
            ) if services.runbooks is not None else None
        except StateUnavailable:
            tell(body, respond, client, NO_DATABASE.format(what="your tick was not saved"))
            return
        if book is None:
            tell(body, respond, client, GONE_CHECKLIST)
            return
        redraw(services, client, book, fallback_ts=container.get("message_ts"),
               on_gone=lambda: tell(body, respond, client, "Your tick is saved, but the "
                                    "checklist message is gone from Slack, so nobody can see "
                                    "it. Start a new checklist from the answer."))

    app.action(ACTION_CHECKLIST)(ack=_acknowledge, lazy=[reported(start)])
    app.action(ACTION_TICK)(ack=_acknowledge, lazy=[reported(tick)])


def redraw(services: Services, client: WebClient, book: Runbook, *, fallback_ts: str | None,
           on_gone) -> None:
    """Update the checklist message until it shows the newest tick (see the module doc)."""
    for _ in range(MAX_REDRAWS):
        try:
            client.chat_update(channel=book.channel, ts=book.message_ts or fallback_ts,
                               text=checklist_text(book), blocks=checklist_blocks(book))
        except SlackApiError as exc:
            if exc.response.get("error") in GONE:
                on_gone()
                return
            raise
        try:
            if services.runbooks.version(book.id) == book.version:
                return
            book = services.runbooks.get(book.id) or book
        except StateUnavailable:
            return  # the message shows this tick; the next tick redraws the rest
    log.info("checklist %s: still changing after %d redraws; the next tick redraws it",
             book.id, MAX_REDRAWS)


def _acknowledge(ack: Ack) -> None:
    ack()


def _channel(body: dict) -> str | None:
    channel = body.get("channel")
    return channel.get("id") if isinstance(channel, dict) else None


def _team(body: dict) -> str | None:
    team = body.get("team")
    return team.get("id") if isinstance(team, dict) else None
