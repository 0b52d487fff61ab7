"""The Slack side of teaching pambot a word: the admin App Home's "Words to teach" (the top
review groups, each with a "Teach" button), the modal the button opens, and what the modal
shows once a phrase is taught. Laid out here; `bot.listeners.teach` wires them.

    >>> blocks = teach_blocks([{"question": "pdc died", "asked": 3, "why": ["not understood"],
    ...     "questions": [], "unknown_words": [{"word": "pdc", "meanings": ["node:leader"],
    ...     "why": "stands where a node is named"}]}])
    >>> blocks[1]["accessory"]["action_id"], parse_teach_value(blocks[1]["accessory"]["value"])
    ('pam_teach', 'pdc died')
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from bot.blocks import (
    BUTTON_VALUE_LIMIT,
    button,
    context,
    fit,
    literal,
    plain,
    section,
)
from rules.learning import UnknownWord

ACTION_TEACH = "pam_teach"
TEACH_MODAL = "pam_teach"
# The modal's inputs (block ids; each input's element is "value").
PHRASE_BLOCK, MEANING_BLOCK = "phrase", "meaning"
# How many groups the App Home shows, and Slack's limits for what the modal holds.
GROUPS_SHOWN = 3
PHRASE_MAX = 100
OPTION_TEXT_LIMIT = 75
METADATA_LIMIT = 3000
QUESTION_SHOWN = 150


def teach_blocks(groups: Sequence[dict]) -> list[dict]:
    """The App Home's "Words to teach": the most asked of `groups` (see
    `bot.teaching.review_groups`), each with its unknown words and a "Teach" button."""
    blocks = [section("*Words to teach* (what pambot could not read, most asked first)")]
    if not groups:
        return [*blocks, context(["Nothing to teach: pambot read every question."])]
    for g in groups[:GROUPS_SHOWN]:
        words = ", ".join(f"*{fit(w['word'], 40)}* ({fit(w['why'], 80)})"
                          for w in g["unknown_words"][:3]) or "none it can name"
        text = (f"{_shown(g['question'])} asked "
                f"{g['asked']:,}x ({fit(', '.join(g['why']), 100)})\nUnknown words: {words}")
        block = section(text)
        value = teach_value(g["question"])
        if value is not None:
            block["accessory"] = button("Teach", ACTION_TEACH, value)
        blocks.append(block)
    if len(groups) > GROUPS_SHOWN:
        blocks.append(context([f"{len(groups) - GROUPS_SHOWN} more: `pambot log review`"]))
    return blocks


def teach_value(question: str) -> str | None:
    """A "Teach" button's value: the question it is for (None if it does not fit)."""
    value = json.dumps({"v": 1, "q": question}, ensure_ascii=False)
    return value if len(value) <= BUTTON_VALUE_LIMIT else None


def parse_teach_value(value: object) -> str | None:
    """The question a "Teach" button is for; None for a value pambot did not make."""
    try:
        data = json.loads(value) if isinstance(value, str) else None
    except ValueError:
        return None
    question = data.get("q") if isinstance(data, dict) and data.get("v") == 1 else None
    return question if isinstance(question, str) else None


def teach_modal(question: str, words: Sequence[UnknownWord], meanings: Sequence[str]) -> dict:
    """The modal for teaching a word of `question`: the phrase (the first unknown word, to
    change at will) and its meaning, the word's suggested meanings first."""
    suggested = [m for m in dict.fromkeys(m for w in words for m in w.meanings)]
    others = [m for m in meanings if m not in suggested and not m.startswith("spelling:")]
    groups = [("Suggested", suggested), ("Every meaning", others)]
    option_groups = [{"label": plain(label), "options": [_option(m) for m in names[:100]]}
                     for label, names in groups if names]
    phrase = {"type": "plain_text_input", "action_id": "value", "max_length": PHRASE_MAX}
    if words:
        phrase["initial_value"] = words[0].word[:PHRASE_MAX]
    meaning = {"type": "static_select", "action_id": "value", "option_groups": option_groups,
               "placeholder": plain("Pick a meaning")}
    if suggested:
        meaning["initial_option"] = _option(suggested[0])
    known = "; ".join(f"*{fit(w.word, 40)}*: {fit(w.why, 100)}" for w in words[:5])
    return {
        "type": "modal",
        "callback_id": TEACH_MODAL,
        "private_metadata": question[:METADATA_LIMIT],
        "title": plain("Teach pambot a word"),
        "submit": plain("Teach"),
        "close": plain("Cancel"),
        "blocks": [
            section(f"Asked: {_shown(question)}"),
            context([f"Words pambot did not know: {known}" if known else
                     "pambot cannot name the word it did not know: type it below."]),
            {"type": "input", "block_id": PHRASE_BLOCK, "label": plain("Phrase"),
             "element": phrase,
             "hint": plain("A word or a few, as people type them (host names, nicknames)")},
            {"type": "input", "block_id": MEANING_BLOCK, "label": plain("It means"),
             "element": meaning},
            context(["Learning changes how words are read, never a rule or a verdict. Every "
                     "pambot reads it within seconds; `pambot learn --forget PHRASE` undoes "
                     "it."]),
        ],
    }


def taught_view(phrase: str, meaning: str, question: str, verdict: str) -> dict:
    """What the modal shows once `phrase` is taught: the question and how it reads now."""
    return {
        "type": "modal",
        "callback_id": TEACH_MODAL,
        "title": plain("Taught"),
        "close": plain("Done"),
        "blocks": [
            section(f"Learned: {literal(phrase, 120)} means *{fit(meaning, 60)}*. Every "
                    "pambot reads it within seconds."),
            context([f"{_shown(question)} now reads: "
                     f"*{fit(verdict, 150)}*"]),
        ],
    }


def submitted(view: dict) -> tuple[str, str]:
    """The phrase and the meaning of a submitted teach modal ("" for what is missing)."""
    values = _dict(_dict(view.get("state")).get("values"))
    phrase = _dict(_dict(values.get(PHRASE_BLOCK)).get("value")).get("value")
    chosen = _dict(_dict(values.get(MEANING_BLOCK)).get("value")).get("selected_option")
    meaning = _dict(chosen).get("value")
    return (phrase if isinstance(phrase, str) else "",
            meaning if isinstance(meaning, str) else "")


def _dict(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def _option(name: str) -> dict:
    return {"text": plain(name[:OPTION_TEXT_LIMIT]), "value": name}


def _shown(question: str) -> str:
    """A question as typed, on one line, its formatting shown rather than applied."""
    return literal(" ".join(question.split()), QUESTION_SHOWN)
