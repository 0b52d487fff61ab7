"""A runbook checklist as a Slack message: one checkbox per step, who ticked it and when.

    header   Checklist: Backup and restore required
    context  Started by @alice at 10:04 UTC · 1 of 4 steps done · Question: `upgrade 6.5.4`
    section  *1.* Take a PAM Server generated backup ...           [x] Done
    context  ✓ @bob, 10:05 UTC · Source: <the table row>
    ...
    section  ✅ All 4 steps done in 12 min.

Each step's checkbox carries the checklist's id and the step number (`tick_value`); the
ticks themselves are in the database, so any worker can redraw the message after a tick.
"""

from __future__ import annotations

from datetime import datetime

from bot.blocks import (
    CONTEXT_TEXT_LIMIT,
    HEADER_TEXT_LIMIT,
    MAX_BLOCKS,
    QUESTION_ECHO_LIMIT,
    SECTION_TEXT_LIMIT,
    TRIMMED,
    StaleButton,
    context,
    fit,
    header,
    literal,
    mention,
    rich,
    section,
    source_link,
)
from bot.querylog import Runbook
from bot.querylog.runbooks import took

ACTION_TICK = "pam_tick"
# header, the line under it and the completion line, then two blocks per step.
MAX_STEPS = (MAX_BLOCKS - 3) // 2


def tick_value(runbook_id: str, step: int) -> str:
    """What a step's checkbox carries: the checklist and the step (from 1)."""
    return f"{runbook_id}:{step}"


def parse_tick(action: dict) -> tuple[str, int, bool]:
    """(checklist id, step, ticked) from a checkbox action; StaleButton if it is not ours."""
    block_id = action.get("block_id")
    selected = action.get("selected_options")
    if not isinstance(block_id, str) or not isinstance(selected, list):
        raise StaleButton("it is not a checklist step pambot made")
    runbook_id, _, step = block_id.removeprefix("pam_step:").rpartition(":")
    if not block_id.startswith("pam_step:") or not runbook_id or not step.isdigit():
        raise StaleButton("it is not a checklist step pambot made")
    return runbook_id, int(step), bool(selected)


def checklist_blocks(book: Runbook) -> list[dict]:
    """The checklist message for `book` as it stands."""
    shown = book.steps[:MAX_STEPS]
    blocks = [header(f"Checklist: {book.title or 'steps'}"),
              context([_progress(book)])]
    source = _source(book)
    for number, step in enumerate(shown, 1):
        tick = book.ticks.get(number)
        option = {"text": {"type": "mrkdwn", "text": "Done"},
                  "value": tick_value(book.id, number)}
        checkbox = {"type": "checkboxes", "action_id": ACTION_TICK, "options": [option]}
        if tick is not None and tick.ticked:
            checkbox["initial_options"] = [option]
        blocks.append({
            "type": "section", "block_id": f"pam_step:{book.id}:{number}",
            "text": {"type": "mrkdwn", "verbatim": True,
                     "text": f"*{number}.* " + rich(step, SECTION_TEXT_LIMIT - 10, note=TRIMMED)},
            "accessory": checkbox,
        })
        blocks.append(context([_who(tick), source]))
    if len(book.steps) > len(shown):
        blocks.append(context([f"{TRIMMED} {len(book.steps) - len(shown)} more steps are in "
                               "the answer above."]))
    elif book.complete:
        blocks.append(section(f":white_check_mark: *All {len(book.steps)} steps done* in "
                              f"{took(book.took() or 0)}."))
    return blocks


def checklist_text(book: Runbook) -> str:
    """The notification text of the checklist message."""
    state = "all done" if book.complete else f"{book.done} of {len(book.steps)} steps done"
    return fit(f"Checklist: {book.title or 'steps'} ({state})", HEADER_TEXT_LIMIT * 2)


def clock(iso: str | None) -> str:
    """The time of a stored UTC timestamp, "10:04 UTC"."""
    try:
        return datetime.fromisoformat((iso or "").replace("Z", "+00:00")).strftime("%H:%M UTC")
    except ValueError:
        return "?"


def _progress(book: Runbook) -> str:
    by = mention(book.started_by)
    parts = [f"Started by {by} at {clock(book.started)}" if by
             else f"Started at {clock(book.started)}"]
    parts.append(f"{book.done} of {len(book.steps)} steps done")
    # What someone typed, shown as typed: its *bold* or _italic_ is not applied.
    parts.append(f"Question: {literal(' '.join(book.question.split()), QUESTION_ECHO_LIMIT)}")
    return " · ".join(parts)


def _who(tick) -> str:
    if tick is None:
        return "Not done yet"
    by = mention(tick.user) or "someone"
    if tick.ticked:
        return f":white_check_mark: {by}, {clock(tick.ts)}"
    return f"Not done (unticked by {by}, {clock(tick.ts)})"


def _source(book: Runbook) -> str:
    return "Source: " + source_link(book.source or "pambot rules", book.source_url,
                                    CONTEXT_TEXT_LIMIT - 40)

