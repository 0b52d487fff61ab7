"""Events API: @mentions answered in a thread, direct messages answered in the DM.

Each message is answered once: mentions arrive only as `app_mention` (a channel `message`
event for the same text is ignored), DMs only as `message` with `channel_type` "im" (Slack
sends no `app_mention` for DMs), and a redelivered event is answered only if no earlier
delivery was (dedupe by `event_id`). The post happens before Slack gets its HTTP answer, so
a failed post answers Slack with an error and Slack's own redelivery retries it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from bot.blocks import answer_blocks, answer_text
from bot.listeners import Services, ask, log_query, question_text
from bot.logs import log_context

if TYPE_CHECKING:
    from slack_bolt import App, BoltContext
    from slack_sdk import WebClient

log = logging.getLogger("pambot.slack")

# Subtypes a person's own new message can have; everything else (bot_message, message_changed,
# message_deleted, channel_join, ...) is not a question.
PERSON_SUBTYPES = frozenset({None, "file_share", "thread_broadcast"})


def from_a_person(event: Mapping[str, Any]) -> bool:
    """True for a new message a person wrote: no bot, no edit or deletion, no other subtype."""
    return (
        event.get("subtype") in PERSON_SUBTYPES
        and not event.get("bot_id")
        and not event.get("bot_profile")
        and isinstance(event.get("user"), str)
        and isinstance(event.get("channel"), str)
        and isinstance(event.get("ts"), str)
    )


def register(app: App, services: Services) -> None:
    """Listen for `app_mention` and direct-message `message` events."""

    @app.event("app_mention")
    def on_mention(body: dict, event: dict, client: WebClient, context: BoltContext) -> None:
        if from_a_person(event):
            # In a thread: answer there. At the top level: start a thread under the mention.
            thread_ts = event.get("thread_ts") or event["ts"]
            reply(services, client, body, event, context, source="mention", thread_ts=thread_ts)

    @app.event("message")
    def on_message(body: dict, event: dict, client: WebClient, context: BoltContext) -> None:
        # Channel messages that mention the bot are answered through app_mention.
        if event.get("channel_type") == "im" and from_a_person(event):
            reply(services, client, body, event, context, source="dm",
                  thread_ts=event.get("thread_ts"))


def reply(services: Services, client: WebClient, body: Mapping[str, Any],
          event: Mapping[str, Any], context: BoltContext, *, source: str,
          thread_ts: str | None) -> None:
    """Answer `event` once: claim its event id, post the answer, keep or release the claim."""
    event_id = body.get("event_id") if isinstance(body.get("event_id"), str) else None
    if event_id and not services.claims.claim_event(event_id):
        log.info("event %s was already answered (or is being answered); not answering again",
                 event_id, extra=log_context(event_id=event_id, team=body.get("team_id"),
                                         channel=event.get("channel")))
        return
    answered = False
    try:
        asked = ask(services, question_text(event.get("text"), context.bot_user_id))
        client.chat_postMessage(
            channel=event["channel"],
            thread_ts=thread_ts,
            text=answer_text(asked.answer),
            blocks=answer_blocks(asked.answer, query_id=asked.query_id),
            unfurl_links=False,
            unfurl_media=False,
        )
        answered = True
    finally:
        # A failed post releases the claim, so Slack's redelivery of this event is answered.
        if event_id:
            services.claims.finish_event(event_id, answered=answered)
    log_query(services, asked, source=source, team=body.get("team_id"),
              channel=event["channel"], user=event.get("user"), thread_ts=thread_ts,
              event_id=event_id)
