"""Events API: @mentions answered in a thread, direct messages in the DM, and replies in a
thread that answer pambot's own open question.

Each message is answered once: mentions arrive only as `app_mention` (the channel `message`
event for the same text is ignored), DMs only as `message` with `channel_type` "im" (Slack
sends no `app_mention` for DMs), and a redelivered event is answered only if no earlier
delivery was (dedupe by `event_id`). The post happens before Slack gets its HTTP answer, so
a failed post answers Slack with an error and Slack's own redelivery retries it; a
redelivery that arrives while an earlier delivery is still posting gets an error too (503),
so Slack keeps trying until one of them has answered.

In a channel, pambot reads the thread replies it is sent (`message.channels`,
`message.groups`) only to find the answer to a question it asked there ("which node
failed?" -> "leader"); anything else said in a thread is ignored without a word. A mention
or DM is read in its conversation's context: "and the followers?" after an answer about
6.5.4 is about 6.5.4.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from bot import metrics
from bot.blocks import paths_blocks
from bot.listeners.common import Services, ask, log_query, question_text
from bot.listeners.conversation import Place, listen, post_answer, remember, typed
from bot.logs import log_context
from rules.paths import is_paths_request

if TYPE_CHECKING:
    from slack_bolt import App, BoltContext
    from slack_sdk import WebClient

log = logging.getLogger("pambot.slack")

# Subtypes a person's own new message can have; everything else (bot_message, message_changed,
# message_deleted, channel_join, ...) is not a question.
PERSON_SUBTYPES = frozenset({None, "file_share", "thread_broadcast"})
# Channels whose thread replies pambot reads: public (message.channels), private
# (message.groups).
THREAD_CHANNEL_TYPES = frozenset({"channel", "group"})


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
    """Listen for `app_mention` and `message` events (DMs, and replies in channel threads)."""

    @app.event("app_mention")
    def on_mention(body: dict, event: dict, client: WebClient, context: BoltContext) -> None:
        if from_a_person(event):
            # In a thread: answer there. At the top level: start a thread under the mention.
            thread_ts = _text(event.get("thread_ts")) or event["ts"]
            reply(services, client, body, event, context, source="mention",
                  place=Place(event["channel"], thread_ts, _text(body.get("team_id"))))

    @app.event("message")
    def on_message(body: dict, event: dict, client: WebClient, context: BoltContext) -> None:
        if not from_a_person(event):
            return
        channel_type = event.get("channel_type")
        team = _text(body.get("team_id"))
        if channel_type == "im":
            reply(services, client, body, event, context, source="dm",
                  place=Place(event["channel"], _text(event.get("thread_ts")), team))
        elif channel_type in THREAD_CHANNEL_TYPES and _in_a_thread(event) \
                and not _mentions(event, context.bot_user_id):
            # Mentions are answered through app_mention; this is a plain reply in a thread.
            reply(services, client, body, event, context, source="thread",
                  place=Place(event["channel"], event["thread_ts"], team), only_answers=True)


def reply(services: Services, client: WebClient, body: Mapping[str, Any],
          event: Mapping[str, Any], context: BoltContext, *, source: str, place: Place,
          only_answers: bool = False) -> None:
    """Answer `event` at `place`, once: claim its event id, post, keep or release the claim.

    With `only_answers`, say nothing unless the message answers pambot's open question there.
    """
    text = question_text(event.get("text"), context.bot_user_id)
    if is_paths_request(text) and not only_answers:
        said = None
    else:
        said = listen(services, place, text, only_answers=only_answers)
        if said is None:
            return  # thread chatter: not for pambot
    event_id = body.get("event_id") if isinstance(body.get("event_id"), str) else None
    # While another delivery is answering it, EventInProgress: Slack is not told "done".
    if event_id and not services.claims.claim_event(event_id):
        metrics.event_deduplicated()
        log.info("event %s was already answered; not answering again",
                 event_id, extra=log_context(event_id=event_id, team=place.team,
                                             channel=place.channel))
        return
    answered = False
    try:
        if said is None:
            client.chat_postMessage(channel=place.channel, thread_ts=place.thread_ts,
                                    text="Upgrade paths", blocks=paths_blocks(services.ruleset),
                                    unfurl_links=False, unfurl_media=False)
            answered = True
            return
        asked = ask(services, said.reading.question)
        # Before the post: a reply to it may arrive (on another worker) as soon as it shows.
        remember(services, place, said, asked)
        post_answer(client, place, asked, typed=typed(said))
        answered = True
    finally:
        # A failed post releases the claim, so Slack's redelivery of this event is answered.
        if event_id:
            services.claims.finish_event(event_id, answered=answered)
    log_query(services, asked, source=source, typed=typed(said), team=place.team,
              channel=place.channel, user=event.get("user"), thread_ts=place.thread_ts,
              event_id=event_id)


def _in_a_thread(event: Mapping[str, Any]) -> bool:
    thread_ts = event.get("thread_ts")
    return isinstance(thread_ts, str) and thread_ts != event.get("ts")


def _mentions(event: Mapping[str, Any], bot_user_id: str | None) -> bool:
    text = event.get("text")
    return bool(bot_user_id) and isinstance(text, str) and re.search(
        rf"<@{re.escape(bot_user_id)}(?:\|[^>]*)?>", text) is not None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
