"""Block Kit rendering: an `Answer` as Slack blocks plus a plain-text fallback.

Every piece of dynamic text is escaped (`&`, `<`, `>`), so text a user typed, such
as `<!channel>` or `<@U123>`, is shown and never pings anyone. Every block stays
inside Slack's documented limits; a long answer is trimmed with a visible note
instead of being rejected by Slack.

    >>> blocks = answer_blocks(answer("upgrade 6.5.4"), query_id="q1", shareable=True)
    >>> blocks[0]["text"]["text"]
    '*Backup and restore required*'
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence

from rules import Answer

# Slack's limits (Block Kit reference): text in a section, blocks in a message,
# elements in a context block, button label and value lengths.
SECTION_TEXT_LIMIT = 3000
MAX_BLOCKS = 50
CONTEXT_ELEMENTS_LIMIT = 10
BUTTON_TEXT_LIMIT = 75
BUTTON_VALUE_LIMIT = 2000
# Our own, tighter budgets: a context line or a fallback notification is read at a glance.
CONTEXT_TEXT_LIMIT = 300
QUESTION_ECHO_LIMIT = 200
FALLBACK_TEXT_LIMIT = 3000
# All the text of one answer: 50 full sections would be legal, and unreadable.
MESSAGE_TEXT_BUDGET = 12_000

ACTION_SHARE = "pam_share"
ACTION_HELPFUL = "pam_helpful"
ACTION_NOT_HELPFUL = "pam_not_helpful"

TRIMMED = "… (trimmed to fit in Slack)"
_ELLIPSIS = "…"
# Stands in for a backtick inside code, where a real one would end it (or a ``` block).
_GRAVE = "ˋ"
_PRIVATE_OUTCOMES = frozenset({"help", "unknown"})
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,30}")
_SAFE_URL = re.compile(r"https?://[^\s<>|]+")


def escape(text: str) -> str:
    """Slack's control characters as entities: `<!here>` -> `&lt;!here&gt;`."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    """The inverse of `escape`, for text Slack sends us (it arrives escaped)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def literal(text: str, limit: int) -> str:
    """Text a user typed, shown as typed: escaped, in inline code so that `*bold*`, `_x_` or
    `~x~` stay characters, and with its own backticks (which would end the code) made ˋ.

    >>> literal("upgrade *6.5.4* `now`", 100)
    '`upgrade *6.5.4* ˋnowˋ`'
    """
    return "`" + fit(text.replace("`", _GRAVE), limit - 2) + "`"


def fit(text: str, limit: int, *, note: str = _ELLIPSIS) -> str:
    """`text` escaped, cut so the result (with `note` when cut) is at most `limit` characters.

    Cuts the raw text, never an entity in half.
    """
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped
    budget = limit - len(note)
    used = 0
    kept: list[str] = []
    for char in text:
        piece = escape(char)
        if used + len(piece) > budget:
            break
        kept.append(piece)
        used += len(piece)
    return "".join(kept).rstrip() + note


def answer_blocks(answer: Answer, *, query_id: str | None = None, shareable: bool = False,
                  shared_by: str | None = None, command: str | None = None) -> list[dict]:
    """The answer as Block Kit: verdict, summary, steps, warnings, support, source, buttons.

    `query_id` adds the Helpful / Not helpful buttons (their value is the id);
    `shareable` adds "Share in channel"; `shared_by` (a user ID) notes who shared it;
    `command` (e.g. "/pam") adds a usage line to help answers.
    """
    tail = [_source_context(answer, shared_by)]
    buttons = _buttons(answer, query_id=query_id, shareable=shareable)
    if buttons:
        tail.append({"type": "actions", "block_id": "pam_actions", "elements": buttons})

    body = _body(answer, command)
    for other in answer.also:  # further questions in the same message, incidents first
        asked = fit(" ".join(other.query.split()), QUESTION_ECHO_LIMIT)
        body += [{"type": "divider"}, _context([f"Also, for: {asked}"]), *_body(other, None),
                 _context([_source_line(other)])]
    return _within_budget(body, room=MAX_BLOCKS - len(tail)) + tail


def _body(answer: Answer, command: str | None) -> list[dict]:
    """One answer's own blocks: verdict, summary, steps, warnings, choices, support."""
    verdict = answer.verdict if _present(answer.verdict) else "No answer"
    body = [_section(f"*{fit(verdict.strip(), SECTION_TEXT_LIMIT - 2)}*")]
    if _present(answer.suggestion):
        body.append(_context([f"Did you mean {literal(answer.suggestion, 200)}?"]))
    if _present(answer.summary):
        body.append(_section(fit(answer.summary, SECTION_TEXT_LIMIT, note=TRIMMED)))
    if _present(answer.reason):
        body.append(_section(fit(f"Why: {answer.reason}", SECTION_TEXT_LIMIT, note=TRIMMED)))
    if answer.steps and answer.outcome in _PRIVATE_OUTCOMES:
        # The summary already leads into the examples ("Try:").
        body += _list_sections(None, [f"• {example}" for example in answer.steps])
    elif answer.steps:
        body += _list_sections("*Steps*", [f"{n}. {s}" for n, s in enumerate(answer.steps, 1)])
    if answer.warnings:
        body += _list_sections("*Warnings*", [f":warning: {w}" for w in answer.warnings])
    if answer.choices:
        body += _list_sections("*Pick one and ask it*",
                               [f"• {c.label}: {c.question}" for c in answer.choices])
    if answer.support_checklist:
        body += _list_sections("*Have this ready for support*",
                               [f"• {item}" for item in answer.support_checklist])
    if command and answer.outcome in _PRIVATE_OUTCOMES:
        body.append(_context([f"Type `{fit(command, 40)} QUESTION`, mention me in a channel, "
                              "or send me a direct message."]))
    return body


def answer_text(answer: Answer) -> str:
    """The plain `text` fallback Slack shows in notifications and reads to screen readers."""
    text = next((t for t in (answer.text, answer.verdict) if _present(t)), "No answer")
    return fit(text, FALLBACK_TEXT_LIMIT, note=TRIMMED)


def notice_blocks(text: str) -> list[dict]:
    """A one-section message for `text` (escaped), e.g. a refusal or a thank-you."""
    return [_section(fit(text, SECTION_TEXT_LIMIT, note=TRIMMED))]


def code_blocks(text: str) -> list[dict]:
    """`text` (escaped, its backticks made ˋ so none ends the block) in a code block, e.g. the
    `/pam stats` summary."""
    fence = "```"
    inside = fit(text.replace("`", _GRAVE), SECTION_TEXT_LIMIT - 2 * len(fence), note="\n…")
    return [_section(fence + inside + fence)]


def share_value(answer: Answer, query_id: str | None) -> str | None:
    """The "Share in channel" button value: the question and its query id, or None if too long."""
    value = json.dumps({"q": answer.query, "id": query_id}, ensure_ascii=False)
    return value if len(value) <= BUTTON_VALUE_LIMIT else None


def parse_share_value(value: str) -> tuple[str, str | None]:
    """The (question, query id) carried by a "Share in channel" button; ValueError if malformed."""
    data = json.loads(value)
    if not isinstance(data, dict) or not isinstance(data.get("q"), str):
        raise ValueError("not a share button value")
    query_id = data.get("id")
    return data["q"], query_id if isinstance(query_id, str) else None


def _present(text: str | None) -> bool:
    return bool(text and text.strip())


def _within_budget(body: list[dict], *, room: int) -> list[dict]:
    """`body` cut to `room` blocks and MESSAGE_TEXT_BUDGET characters, with a note if cut."""
    kept: list[dict] = []
    used = 0
    for index, block in enumerate(body):
        size = sum(len(t) for t in _texts(block))
        if (len(body) > room and index >= room - 1) or used + size > MESSAGE_TEXT_BUDGET:
            return kept + [_context([f"{TRIMMED} See the source below for the full answer."])]
        kept.append(block)
        used += size
    return kept


def _texts(block: dict) -> list[str]:
    if block["type"] == "section":
        return [block["text"]["text"]]
    if block["type"] == "divider":
        return []
    return [element.get("text", "") for element in block.get("elements", [])]


def _section(text: str) -> dict:
    # verbatim: Slack must not auto-link names or turn a bare "@here" into a mention.
    return {"type": "section", "text": {"type": "mrkdwn", "text": text, "verbatim": True}}


def _context(texts: Iterable[str]) -> dict:
    elements = [{"type": "mrkdwn", "text": text, "verbatim": True} for text in texts]
    return {"type": "context", "elements": elements[:CONTEXT_ELEMENTS_LIMIT]}


def _list_sections(title: str | None, lines: Sequence[str]) -> list[dict]:
    """`lines` (raw) packed into as few sections as fit, `title` (markup) on the first."""
    sections: list[dict] = []
    current = title or ""
    for line in lines:
        piece = fit(line, SECTION_TEXT_LIMIT - 1, note=TRIMMED)
        if current and len(current) + 1 + len(piece) > SECTION_TEXT_LIMIT:
            sections.append(_section(current))
            current = piece
        else:
            current = f"{current}\n{piece}" if current else piece
    sections.append(_section(current))
    return sections


def _source_line(answer: Answer) -> str:
    source = fit(answer.source or "pambot rules", CONTEXT_TEXT_LIMIT - 40)
    url = answer.source_url or ""
    if _SAFE_URL.fullmatch(url) and len(url) <= CONTEXT_TEXT_LIMIT:
        source = f"<{escape(url)}|{source}>"
    return f"Rule `{fit(answer.rule or 'none', 100)}` · Source: {source}"


def _source_context(answer: Answer, shared_by: str | None) -> dict:
    texts = [_source_line(answer)]
    if answer.query.strip():
        texts.append(f"Question: {literal(' '.join(answer.query.split()), QUESTION_ECHO_LIMIT)}")
    if shared_by and _USER_ID.fullmatch(shared_by):
        texts.append(f"Shared by <@{shared_by}>")
    return _context(texts)


def _buttons(answer: Answer, *, query_id: str | None, shareable: bool) -> list[dict]:
    buttons = []
    # Usage and "did not understand" are for the asker alone.
    shareable = shareable and answer.outcome not in _PRIVATE_OUTCOMES
    value = share_value(answer, query_id) if shareable else None
    if value is not None:
        buttons.append(_button("Share in channel", ACTION_SHARE, value, style="primary"))
    if query_id is not None and len(query_id) <= BUTTON_VALUE_LIMIT:
        buttons.append(_button("Helpful", ACTION_HELPFUL, query_id))
        buttons.append(_button("Not helpful", ACTION_NOT_HELPFUL, query_id))
    return buttons


def _button(label: str, action_id: str, value: str, *, style: str | None = None) -> dict:
    button = {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": label[:BUTTON_TEXT_LIMIT], "emoji": True},
        "value": value,
    }
    if style:
        button["style"] = style
    return button
