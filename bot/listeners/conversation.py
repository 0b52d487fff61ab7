"""A Slack conversation: a thread (or a DM) pambot answers in, and what it has established.

    place = Place("C0INC", "1700000000.000100", team="T1")
    said = listen(services, place, "leader")          # how "leader" reads in this thread
    asked = ask(services, said.reading.question)      # ...answered like any question
    remember(services, place, said, asked)            # ...and the thread moves on

The thread's memory is in the database (`bot.querylog.Threads`), shared by every worker;
reading a message in it is the rules engine's (`rules.context`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.blocks import answer_blocks, answer_text
from bot.listeners.common import Asked, Services
from rules.context import Context, Reading, read

if TYPE_CHECKING:
    from slack_sdk import WebClient


@dataclass(frozen=True)
class Place:
    """Where a conversation happens: a channel and a thread (None: a DM outside threads)."""

    channel: str
    thread_ts: str | None
    team: str | None = None


@dataclass(frozen=True)
class Said:
    """A message read in its conversation: how it reads, the context it was read in, and the
    query whose answer left the thread's question open."""

    reading: Reading
    context: Context
    asked_in: str | None


def recall(services: Services, place: Place) -> tuple[Context, str | None]:
    """The context of the conversation at `place`, and the query pambot answered last there."""
    if services.threads is None:
        return Context(), None
    thread = services.threads.recall(place.channel, place.thread_ts)
    if thread is None:
        return Context(), None
    return Context.from_dict(thread.context), thread.query_id


def listen(services: Services, place: Place, text: str, *,
           only_answers: bool = False) -> Said | None:
    """How `text` reads at `place`; with `only_answers`, None unless it answers pambot's open
    question there (a thread reply that did not mention pambot)."""
    context, asked_in = recall(services, place)
    if only_answers and context.asking is None:
        return None
    reading = read(text, context, services.ruleset, only_answers=only_answers)
    return None if reading is None else Said(reading, context, asked_in)


def remember(services: Services, place: Place, said: Said | None, asked: Asked) -> None:
    """The conversation at `place` once `asked` has been answered there; links an answer to
    the open question it closed."""
    if services.threads is None:
        return
    context = said.context if said is not None else recall(services, place)[0]
    services.threads.remember(place.channel, place.thread_ts,
                              context.after(asked.answer).to_dict(),
                              query_id=asked.query_id, team=place.team)
    if said is not None and said.reading.answers_open_question:
        services.threads.link(asked.query_id, said.asked_in, "reply")


def typed(said: Said) -> str | None:
    """What the person typed, when the question answered was read from it."""
    return said.reading.typed if said.reading.how != "typed" else None


def post_answer(client: WebClient, place: Place, asked: Asked, **blocks: Any) -> dict:
    """Post `asked`'s answer at `place` (in its thread), with "Start checklist" where it has
    steps; `blocks` go to `answer_blocks`. The Web API's response."""
    return client.chat_postMessage(
        channel=place.channel,
        thread_ts=place.thread_ts,
        text=answer_text(asked.answer),
        blocks=answer_blocks(asked.answer, query_id=asked.query_id, checklist=True, **blocks),
        unfurl_links=False,
        unfurl_media=False,
    )
