"""Teaching pambot a word from Slack: the admin App Home's "Teach" button opens a modal
(`views.open`), its submission teaches the phrase the way `pambot learn` does.

Admins only (PAMBOT_ADMINS), on the button and on the submission: a forged click or
submission from anyone else teaches nothing and says why. The phrase is checked as the rule
files are (`bot.teaching.plan`); a refusal shows on the modal's field, in one line. A phrase
taught is stored with who taught it ("slack:U..."), logged, read at once by this process and
within seconds by every other; the modal then shows how the question reads now, and the
admin's Home is published again.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.listeners.common import Services, reported, tell, user_id
from bot.listeners.home import publish_home
from bot.querylog.state import StateUnavailable
from bot.teaching import Refused, plan
from bot.teachview import (
    ACTION_TEACH,
    MEANING_BLOCK,
    PHRASE_BLOCK,
    TEACH_MODAL,
    parse_teach_value,
    submitted,
    taught_view,
    teach_modal,
)
from rules import answer
from rules.learning import unknown_words
from rules.vocabulary import meanings

if TYPE_CHECKING:
    from slack_bolt import Ack, App, Respond
    from slack_sdk import WebClient

log = logging.getLogger("pambot.slack")

ADMINS_ONLY = "Only pambot's admins (PAMBOT_ADMINS) can teach it words."
# Slack shows an input's error under it; a longer one is cut.
ERROR_LIMIT = 300


def register(app: App, services: Services) -> None:
    """Listen for the "Teach" button and the teach modal's submission."""

    def open_modal(body: dict, action: dict, respond: Respond, client: WebClient) -> None:
        user = user_id(body)
        if user not in services.admins:
            log.warning("a Teach click from %s, who is no admin: nothing opened", user)
            tell(body, respond, client, ADMINS_ONLY)
            return
        question = parse_teach_value(action.get("value"))
        trigger = body.get("trigger_id")
        if question is None or not trigger:
            tell(body, respond, client, "That Teach button no longer works: open the Home "
                 "tab again, or use `pambot log review` and `pambot learn`.")
            return
        vocabulary = services.ruleset.vocabulary
        client.views_open(trigger_id=trigger, view=teach_modal(
            question, unknown_words(question, vocabulary), meanings(vocabulary)))

    def on_submit(ack: Ack, body: dict, view: dict) -> None:
        user = user_id(body)
        phrase, meaning = submitted(view)
        if user not in services.admins:
            log.warning("a teach submission from %s, who is no admin: %r not taught", user,
                        phrase[:100])
            ack(response_action="errors", errors={PHRASE_BLOCK: ADMINS_ONLY})
            return
        learned = services.rules.learned
        try:
            if learned is None:
                raise Refused("this pambot keeps no state to teach it in")
            change = plan(services.rules.base, {p.phrase: p for p in learned.all()},
                          phrase, meaning)
            if change is not None and not learned.add(change.phrase, change.meaning,
                                                      who=f"slack:{user}"):
                raise Refused(f"someone taught {change.phrase!r} meanwhile: open the Home "
                              "tab again")
        except Refused as exc:
            block = MEANING_BLOCK if exc.about == "meaning" else PHRASE_BLOCK
            ack(response_action="errors", errors={block: str(exc)[:ERROR_LIMIT]})
            return
        except StateUnavailable as exc:
            ack(response_action="errors", errors={
                PHRASE_BLOCK: f"Cannot save it now ({exc}); try again in a moment."[:ERROR_LIMIT]})
            return
        if change is not None:
            log.info("%s taught %r as %s (App Home)", user, change.phrase, change.meaning)
            services.rules.refresh()
        question = view.get("private_metadata")
        question = question if isinstance(question, str) else ""
        verdict = answer(question, services.ruleset).verdict if question.strip() else ""
        shown = change.phrase if change is not None else phrase
        ack(response_action="update",
            view=taught_view(shown, meaning, question, verdict or "-"))

    def republish(body: dict, client: WebClient) -> None:
        user = user_id(body)
        if user in services.admins:
            publish_home(services, client, user)

    app.action(ACTION_TEACH)(ack=_acknowledge, lazy=[reported(open_modal)])
    app.view(TEACH_MODAL)(ack=on_submit, lazy=[reported(republish)])


def _acknowledge(ack: Ack) -> None:
    ack()
