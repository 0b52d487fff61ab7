"""Answer buttons: "Share in channel", "Helpful" / "Not helpful", a clarifying answer's
choices, "Did you mean ...?", the App Home's examples and "Show warnings".

Each click is acknowledged at once; the follow-up runs as a Bolt lazy listener after the
acknowledgement has gone. A button carries what it needs in its value (the question it
asks, the query it came from), so a click works on any worker, after any restart.

A choice, a suggestion or an example is answered in the same place as the answer it was
on: in its thread for a mention, replacing the private answer for the slash command, in
the DM for a DM, and in the DM for the App Home. The click is logged as a query
(source "button") linked to the question it answers.

Each of these buttons, and "Share in channel", answers once, whoever clicks first: a double
click, or two people clicking at once (on any worker), gets one answer (`once`). An App Home
example asked again a while later is answered again.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from bot.blocks import (
    ACTION_CHOICE,
    ACTION_HELPFUL,
    ACTION_NOT_HELPFUL,
    ACTION_SHARE,
    ACTION_SUGGESTION,
    ACTION_WARNINGS,
    StaleButton,
    answer_blocks,
    answer_text,
    context,
    escape,
    fit,
    mention,
    notice_blocks,
    parse_button_value,
    parse_share_value,
    pick,
    warning_sections,
)
from bot.home import ACTION_EXAMPLE
from bot.listeners.common import Services, ask, checked, log_query, reported, tell, user_id
from bot.listeners.conversation import Place, post_answer, remember

if TYPE_CHECKING:
    from slack_bolt import Ack, App, Respond
    from slack_sdk import WebClient

log = logging.getLogger("pambot.slack")

THANKS = {
    True: "Thanks! Noted that this answer helped.",
    False: "Thanks! Noted that this answer did not help.",
}
STALE = ("That button no longer works ({reason}). Ask your question again, "
         "for example `{command} restore leader`.")
# How each kind of asking button is linked to the question it answers in the log.
HOW = {ACTION_CHOICE: "choice", ACTION_SUGGESTION: "suggestion", ACTION_EXAMPLE: "example"}
# An App Home example clicked again after this long is asked again on purpose.
HOME_REPEAT_S = 30.0
_ASKING = re.compile(rf"^(?:{ACTION_CHOICE}_\d+|{ACTION_SUGGESTION}|{ACTION_EXAMPLE}_\d+)$")


def register(app: App, services: Services) -> None:
    """Listen for the answer buttons."""

    def share(body: dict, action: dict, respond: Respond) -> None:
        # The ephemeral answer is gone from Slack's side, so answer the same question again;
        # the engine is pure, so this is the same answer.
        try:
            question, query_id = parse_share_value(action.get("value", ""))
        except (ValueError, TypeError):
            tell(body, respond, None, STALE.format(reason="it was not made by pambot",
                                                   command=services.command))
            return
        with once(services, body, action) as first:
            if first:
                share_answer(body, question, query_id, respond)

    def share_answer(body: dict, question: str, query_id: str | None,
                     respond: Respond) -> None:
        asked = ask(services, question)
        checked(respond(
            response_type="in_channel",
            replace_original=False,
            text=answer_text(asked.answer),
            blocks=answer_blocks(asked.answer, query_id=query_id,
                                 shared_by=_id(body, "user")),
            unfurl_links=False,
            unfurl_media=False,
        ))
        # The private copy with its Share button has served its purpose.
        checked(respond(delete_original=True))

    def feedback(body: dict, action: dict, respond: Respond) -> None:
        helpful = action.get("action_id") == ACTION_HELPFUL
        query_id = action.get("value")
        if services.querylog is not None and isinstance(query_id, str) and query_id:
            services.querylog.record_feedback(
                query_id,
                helpful=helpful,
                user=_id(body, "user"),
                team=_id(body, "team"),
                channel=_id(body, "channel"),
            )
        checked(respond(response_type="ephemeral", replace_original=False,
                        text=THANKS[helpful], blocks=notice_blocks(THANKS[helpful])))

    def button_value(body: dict, action: dict, respond: Respond, client: WebClient):
        """What a button pambot made stands for; None (the clicker told why) for any other."""
        try:
            return parse_button_value(action.get("value"))
        except StaleButton as stale:
            tell(body, respond, client, STALE.format(reason=stale, command=services.command))
            return None

    def asking(body: dict, action: dict, respond: Respond, client: WebClient) -> None:
        """A choice, a suggestion or an example: ask the question it stands for."""
        value = button_value(body, action, respond, client)
        if value is None:
            return
        with once(services, body, action) as first:
            if first:
                answer_click(body, action, value, respond, client)

    def answer_click(body: dict, action: dict, value: Any, respond: Respond,
                     client: WebClient) -> None:
        kind = HOW[str(action.get("action_id")).rstrip("0123456789").rstrip("_")]
        label = _label(action) or value.question
        clicker = user_id(body)
        asked = ask(services, value.question)
        container = body.get("container") if isinstance(body.get("container"), dict) else {}
        place = None
        if container.get("type") == "view" or not body.get("response_url"):
            # The App Home: answer in the clicker's DM with pambot.
            response = client.chat_postMessage(
                channel=clicker, text=answer_text(asked.answer),
                blocks=answer_blocks(asked.answer, query_id=asked.query_id, checklist=True),
                unfurl_links=False, unfurl_media=False)
            channel = response.get("channel") or clicker
            place = Place(channel, None, _id(body, "team"))
        elif container.get("is_ephemeral"):
            # The slash command's private answer: replaced by the answer to the choice.
            checked(respond(
                response_type="ephemeral", replace_original=True,
                text=answer_text(asked.answer),
                blocks=answer_blocks(asked.answer, query_id=asked.query_id, shareable=True,
                                     command=services.command, typed=label,
                                     picked_by=clicker),
            ))
        else:
            place = _place_of(body, container)
            # Before the post: a reply to it may arrive (on another worker) as soon as it shows.
            remember(services, place, None, asked)
            post_answer(client, place, asked, typed=label, picked_by=clicker)
            _mark_picked(body, respond, clicker, label)
        if place is not None and container.get("type") == "view":
            remember(services, place, None, asked)
        if services.threads is not None:
            services.threads.link(asked.query_id, value.parent, kind)
        log_query(services, asked, source="button",
                  typed=label if kind != "example" else None, team=_id(body, "team"),
                  channel=place.channel if place else _id(body, "channel"), user=clicker,
                  thread_ts=place.thread_ts if place else None)

    def warnings(body: dict, action: dict, respond: Respond, client: WebClient) -> None:
        """"Show warnings": the answer's warnings in full, to the clicker."""
        value = button_value(body, action, respond, client)
        if value is None:
            return
        result = pick(ask(services, value.question).answer, value.item)
        if result is None or not result.warnings:
            tell(body, respond, client, "That answer has no warnings any more: the rules have "
                 "changed since it was given. Ask the question again for the current answer.")
            return
        question = fit(" ".join(result.query.split()), 200)
        checked(respond(response_type="ephemeral", replace_original=False,
                        text=escape(f"Warnings for: {result.query}"[:3000]),
                        blocks=[context([f"Warnings for: *{question}*"]),
                                *warning_sections(result.warnings)]))

    app.action(ACTION_SHARE)(ack=_acknowledge, lazy=[reported(share)])
    app.action(ACTION_HELPFUL)(ack=_acknowledge, lazy=[reported(feedback)])
    app.action(ACTION_NOT_HELPFUL)(ack=_acknowledge, lazy=[reported(feedback)])
    app.action(_ASKING)(ack=_acknowledge, lazy=[reported(asking)])
    app.action(ACTION_WARNINGS)(ack=_acknowledge, lazy=[reported(warnings)])


def register_fallback(app: App) -> None:
    """Any other button or menu: a forged action, or one an older pambot made."""

    def unknown(body: dict, respond: Respond, client: WebClient) -> None:
        log.warning("a click on an action pambot does not know: %r",
                    str((body.get("actions") or [{}])[0].get("action_id"))[:80])
        tell(body, respond, client, "That button is not one pambot knows (it may be from an "
             "older version). Ask your question again.")

    app.action(re.compile(".*"))(ack=_acknowledge, lazy=[reported(unknown)])


def _acknowledge(ack: Ack) -> None:
    ack()


@contextmanager
def once(services: Services, body: dict, action: dict) -> Iterator[bool]:
    """True inside if this is the first click of this button on this message (or App Home),
    else False (the repeat is logged, and answered by nobody). If the answer then fails, the
    click is forgotten, so the next one is answered."""
    if services.clicks is None:
        yield True
        return
    container = body.get("container") if isinstance(body.get("container"), dict) else {}
    clicker = user_id(body)
    if container.get("type") == "view":
        where, within = f"home:{container.get('view_id')}:{clicker}", HOME_REPEAT_S
    else:
        channel = container.get("channel_id") or _id(body, "channel")
        where, within = f"{channel}:{container.get('message_ts')}", None
    key = f"{where}|{action.get('action_id')}|{action.get('value')}"
    if not services.clicks.first(key, user=clicker, within=within):
        log.info("a repeated click on %s (a double click, or someone was quicker); answered "
                 "once", action.get("action_id"))
        yield False
        return
    try:
        yield True
    except BaseException:
        services.clicks.forget(key)
        raise


def _place_of(body: dict, container: dict) -> Place:
    """Where a clicked answer is: its thread in a channel (a new thread under a top-level
    message), or the DM (its thread, if any)."""
    message = body.get("message") if isinstance(body.get("message"), dict) else {}
    channel = container.get("channel_id") or _id(body, "channel")
    thread_ts = message.get("thread_ts") or container.get("thread_ts")
    if not thread_ts and not str(channel).startswith("D"):
        thread_ts = container.get("message_ts") or message.get("ts")
    return Place(channel, thread_ts, _id(body, "team"))


def _mark_picked(body: dict, respond: Respond, clicker: str | None, label: str) -> None:
    """Replace the clicked message's choices with who picked what, so nobody picks again."""
    message = body.get("message")
    actions = body.get("actions") or [{}]
    block_id = actions[0].get("block_id")
    if not isinstance(message, dict) or not isinstance(message.get("blocks"), list):
        return
    by = mention(clicker) or "Someone"
    picked = context([f":ballot_box_with_check: {by} picked “{fit(label, 100)}”; the answer is "
                      "below."])
    blocks = [picked if b.get("block_id") == block_id else b for b in message["blocks"]]
    try:
        checked(respond(replace_original=True, text=message.get("text") or "pambot",
                        blocks=blocks))
    except Exception:  # the answer is posted; an unmarked question is cosmetic
        log.warning("could not mark the picked choice on %s", message.get("ts"), exc_info=True)


def _label(action: dict) -> str | None:
    text = action.get("text")
    label = text.get("text") if isinstance(text, dict) else None
    return label if isinstance(label, str) and label.strip() else None


def _id(body: dict, key: str) -> Any:
    """`body[key]["id"]` of a block_actions payload, or None where Slack left it out."""
    value = body.get(key)
    return value.get("id") if isinstance(value, dict) else None
