"""Button clicks: "Share in channel" and "Helpful" / "Not helpful".

Each click is acknowledged at once; the follow-up (a post to the interaction's
`response_url`) runs as a Bolt lazy listener after the acknowledgement has gone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.blocks import (
    ACTION_HELPFUL,
    ACTION_NOT_HELPFUL,
    ACTION_SHARE,
    answer_blocks,
    answer_text,
    notice_blocks,
    parse_share_value,
)
from bot.listeners import Services, ask, checked, reported

if TYPE_CHECKING:
    from slack_bolt import Ack, App, Respond

THANKS = {
    True: "Thanks! Noted that this answer helped.",
    False: "Thanks! Noted that this answer did not help.",
}


def register(app: App, services: Services) -> None:
    """Listen for the answer buttons."""

    def acknowledge(ack: Ack) -> None:
        ack()

    def share(body: dict, action: dict, respond: Respond) -> None:
        # The ephemeral answer is gone from Slack's side, so answer the same question again;
        # the engine is pure, so this is the same answer.
        question, query_id = parse_share_value(action.get("value", ""))
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
        if services.querylog is not None and query_id:
            services.querylog.record_feedback(
                query_id,
                helpful=helpful,
                user=_id(body, "user"),
                team=_id(body, "team"),
                channel=_id(body, "channel"),
            )
        checked(respond(response_type="ephemeral", replace_original=False,
                        text=THANKS[helpful], blocks=notice_blocks(THANKS[helpful])))

    app.action(ACTION_SHARE)(ack=acknowledge, lazy=[reported(share)])
    app.action(ACTION_HELPFUL)(ack=acknowledge, lazy=[reported(feedback)])
    app.action(ACTION_NOT_HELPFUL)(ack=acknowledge, lazy=[reported(feedback)])


def _id(body: dict, key: str) -> str | None:
    """`body[key]["id"]` of a block_actions payload, or None where Slack left it out."""
    value = body.get(key)
    return value.get("id") if isinstance(value, dict) else None
