"""Block Kit rendering: an `Answer` as Slack blocks plus a plain-text fallback.

Every piece of dynamic text is escaped (`&`, `<`, `>`), so text a user typed, such
as `<!channel>` or `<@U123>`, is shown and never pings anyone; the only markup is our
own: links to documentation, and the user who shared or picked something. Every block
stays inside Slack's documented limits; a long answer is trimmed with a visible note
instead of being rejected by Slack.

    >>> from rules import answer
    >>> blocks = answer_blocks(answer("upgrade 6.5.4"), query_id="q1", shareable=True)
    >>> blocks[0]["type"], blocks[0]["text"]["text"]
    ('header', 'Backup and restore required')

An answer reads at a glance: the verdict is the header, documentation links in its text
are links, and warnings longer than `WARNINGS_FOLD_CHARS` fold into one line with a
"Show warnings" button. A clarifying answer's choices, and a "Did you mean" suggestion,
are buttons; an answer with steps can carry "Start checklist". Every button carries what
it needs in its value (`button_value`), never in pambot's memory.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rules import Answer, RuleSet

# Slack's limits (Block Kit reference): text in a section, blocks in a message,
# elements in a context block, button label and value lengths, a header's text,
# elements in an actions block.
SECTION_TEXT_LIMIT = 3000
MAX_BLOCKS = 50
CONTEXT_ELEMENTS_LIMIT = 10
BUTTON_TEXT_LIMIT = 75
BUTTON_VALUE_LIMIT = 2000
HEADER_TEXT_LIMIT = 150
ACTIONS_ELEMENTS_LIMIT = 25
# Our own, tighter budgets: a context line or a fallback notification is read at a glance.
CONTEXT_TEXT_LIMIT = 300
QUESTION_ECHO_LIMIT = 200
FALLBACK_TEXT_LIMIT = 3000
# All the text of one answer: 50 full sections would be legal, and unreadable.
MESSAGE_TEXT_BUDGET = 12_000

# Warnings longer than this, all told, fold into one line and a "Show warnings" button.
WARNINGS_FOLD_CHARS = 400
FOLDED_WARNING_CHARS = 80

ACTION_SHARE = "pam_share"
ACTION_HELPFUL = "pam_helpful"
ACTION_NOT_HELPFUL = "pam_not_helpful"
# One per choice (`pam_choice_0`, `pam_choice_1`, ...): action ids are unique within a block.
ACTION_CHOICE = "pam_choice"
ACTION_SUGGESTION = "pam_did_you_mean"
ACTION_CHECKLIST = "pam_checklist"
ACTION_WARNINGS = "pam_warnings"
# The version of the JSON in our buttons' values; a value without it is from an older pambot.
BUTTON_VALUE_VERSION = 1

TRIMMED = "… (trimmed to fit in Slack)"
_ELLIPSIS = "…"
# Stands in for a backtick inside code, where a real one would end it (or a ``` block).
_GRAVE = "ˋ"
_PRIVATE_OUTCOMES = frozenset({"help", "unknown"})
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,30}")
_SAFE_URL = re.compile(r"https?://[^\s<>|]+")
# A URL inside escaped text, up to (not including) closing punctuation.
_URL_IN_TEXT = re.compile(r"https?://[^\s<>|\"]+?(?=[).,;:!?]*(?:\s|$))")
_DOC_VERSION = re.compile(r"\d+(?:\.\d+)+")


class StaleButton(ValueError):
    """A button value pambot did not make, or that an older pambot made; says which."""


@dataclass(frozen=True)
class ButtonValue:
    """What one of our buttons carries: the question it asks, which of that question's
    answers it is about (0: the main one, n: the n-th further one) and the query it came
    from."""

    question: str
    item: int = 0
    parent: str | None = None


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
                  shared_by: str | None = None, command: str | None = None,
                  checklist: bool = False, typed: str | None = None,
                  picked_by: str | None = None) -> list[dict]:
    """The answer as Block Kit: verdict, summary, steps, warnings, choices, support, source,
    buttons.

    `query_id` adds the Helpful / Not helpful buttons (their value is the id) and is what
    choice buttons link back to; `shareable` adds "Share in channel"; `shared_by` (a user ID)
    notes who shared it; `command` (e.g. "/pam") adds a usage line to help answers;
    `checklist` adds "Start checklist" to answers with steps (in a thread or DM). `typed` is
    what the person said when the answer is to a reading of it (a reply read in the thread's
    context, a picked choice), and `picked_by` the user who clicked the choice.
    """
    tail = [_source_context(answer, shared_by)]
    buttons = [*_item_buttons(answer, answer.query, 0, query_id, checklist=checklist),
               *_buttons(answer, query_id=query_id, shareable=shareable)]
    if buttons:
        tail.append({"type": "actions", "block_id": "pam_actions",
                     "elements": buttons[:ACTIONS_ELEMENTS_LIMIT]})

    body = _headline(answer)
    lead = _lead(answer, typed, picked_by)
    if lead:
        body.append(context([lead]))
    body += _body(answer, command, query_id, question=answer.query, item=0)
    for item, other in enumerate(answer.also, 1):  # further questions, incidents first
        asked = fit(" ".join(other.query.split()), QUESTION_ECHO_LIMIT)
        short = ([section(fit(other.short_answer, SECTION_TEXT_LIMIT))]
                 if _present(other.short_answer) else [])
        body += [{"type": "divider"}, context([f"Also, for: {asked}"]), *short,
                 section(f"*{fit(other.verdict.strip() or 'No answer', SECTION_TEXT_LIMIT - 2)}*"),
                 *_body(other, None, query_id, question=answer.query, item=item),
                 context([_source_line(other)])]
        extra = _item_buttons(other, answer.query, item, query_id, checklist=checklist)
        if extra:
            body.append({"type": "actions", "block_id": f"pam_item_{item}", "elements": extra})
    return _within_budget(body, room=MAX_BLOCKS - len(tail)) + tail


def _headline(answer: Answer) -> list[dict]:
    """The first thing a reader sees: the verdict; or, for a question about a consequence,
    its short answer (yes or no first), then the verdict in bold."""
    verdict = answer.verdict if _present(answer.verdict) else "No answer"
    if not _present(answer.short_answer):
        return [header(verdict)]
    blocks = [header(answer.short_answer)]
    if len(" ".join(answer.short_answer.split())) > HEADER_TEXT_LIMIT:  # cut in the header
        blocks.append(section(fit(answer.short_answer, SECTION_TEXT_LIMIT)))
    return [*blocks, section(f"*{fit(verdict, SECTION_TEXT_LIMIT - 2)}*")]


def _body(answer: Answer, command: str | None, query_id: str | None, *, question: str,
          item: int) -> list[dict]:
    """One answer's blocks under its verdict: suggestion, summary, steps, warnings,
    choices, support. `question` and `item` are what its buttons carry."""
    body = []
    if _present(answer.suggestion):
        body.append(_suggestion(answer.suggestion, query_id, item))
    if _present(answer.summary):
        body.append(section(rich(answer.summary, SECTION_TEXT_LIMIT, note=TRIMMED)))
    if _present(answer.reason):
        body.append(section(rich(f"Why: {answer.reason}", SECTION_TEXT_LIMIT, note=TRIMMED)))
    if answer.steps and answer.outcome in _PRIVATE_OUTCOMES:
        # The summary already leads into the examples ("Try:").
        body += _list_sections(None, [f"• {example}" for example in answer.steps])
    elif answer.steps:
        body += _list_sections("*Steps*", [f"{n}. {s}" for n, s in enumerate(answer.steps, 1)])
    if answer.warnings and folds(answer, question, item):
        body.append(context([_folded_warnings(answer.warnings)]))
    elif answer.warnings:
        body += warning_sections(answer.warnings)
    if answer.choices:
        body.append(_choice_buttons(answer, query_id, item))
    if answer.support_checklist:
        body += _list_sections("*Have this ready for support*",
                               [f"• {item}" for item in answer.support_checklist])
    if command and answer.outcome in _PRIVATE_OUTCOMES:
        body.append(context([f"Type `{fit(command, 40)} QUESTION`, mention me in a channel, "
                             "or send me a direct message."]))
    return body


def folds(answer: Answer, question: str, item: int = 0) -> bool:
    """Whether the answer's warnings are long enough to fold behind "Show warnings" (and
    the button can carry `question`)."""
    return (sum(len(w) for w in answer.warnings) > WARNINGS_FOLD_CHARS
            and button_value(question, item=item) is not None)


def warning_sections(warnings: Sequence[str]) -> list[dict]:
    """Every warning in full, links clickable."""
    return _list_sections("*Warnings*", [f":warning: {w}" for w in warnings])


def pick(answer: Answer, item: int) -> Answer | None:
    """The answer a button's `item` means: 0 the main one, n the n-th further one."""
    if item == 0:
        return answer
    return answer.also[item - 1] if 0 < item <= len(answer.also) else None


def has_checklist(answer: Answer) -> bool:
    """Whether an answer's steps make a checklist: a path or documented steps to follow
    (a restore, the checks before a cluster upgrade), not usage examples, nor the overview
    under a question back, which is answered by picking first."""
    return answer.outcome in ("path", "fact") and bool(answer.steps)


def answer_text(answer: Answer) -> str:
    """The plain `text` fallback Slack shows in notifications and reads to screen readers."""
    text = next((t for t in (answer.text, answer.verdict) if _present(t)), "No answer")
    return fit(text, FALLBACK_TEXT_LIMIT, note=TRIMMED)


def notice_blocks(text: str) -> list[dict]:
    """A one-section message for `text` (escaped), e.g. a refusal or a thank-you."""
    return [section(fit(text, SECTION_TEXT_LIMIT, note=TRIMMED))]


def code_blocks(text: str) -> list[dict]:
    """`text` (escaped, its backticks made ˋ so none ends the block) in a code block, e.g. the
    `/pam stats` summary."""
    fence = "```"
    inside = fit(text.replace("`", _GRAVE), SECTION_TEXT_LIMIT - 2 * len(fence), note="\n…")
    return [section(fence + inside + fence)]



def paths_blocks(ruleset: RuleSet) -> list[dict]:
    """The upgrade paths diagram (`rules.paths`), generated from `ruleset`, in a code block."""
    from rules.paths import render_paths

    diagram = render_paths(ruleset).partition("\n\n")[2]  # the title is the header here
    return [header("Upgrade paths: where each version leads"), *code_blocks(diagram),
            context([fit(f"Generated from the rule data ({ruleset.origin}), the same rules "
                         "every answer comes from.", CONTEXT_TEXT_LIMIT)])]


BLOCK_KIT_BUILDER = "https://app.slack.com/block-kit-builder/#"


def builder_link(payload: dict) -> str:
    """A link that opens `payload` (a message's {"blocks": [...]}) in Slack's Block Kit
    Builder, the whole payload URL-encoded after the #."""
    from urllib.parse import quote

    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return BLOCK_KIT_BUILDER + quote(text, safe="")


def button_value(question: str, *, item: int = 0, parent: str | None = None) -> str | None:
    """The value of one of our buttons, or None if it would be longer than Slack allows."""
    data: dict = {"v": BUTTON_VALUE_VERSION, "q": question}
    if item:
        data["i"] = item
    if parent:
        data["p"] = parent
    value = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return value if len(value) <= BUTTON_VALUE_LIMIT else None


def parse_button_value(value: object) -> ButtonValue:
    """What `button_value` put in a button; StaleButton for anything else."""
    try:
        data = json.loads(value) if isinstance(value, str) else None
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise StaleButton("it is not a button pambot made")
    if data.get("v") != BUTTON_VALUE_VERSION:
        raise StaleButton("it was made by another version of pambot")
    question, item, parent = data.get("q"), data.get("i", 0), data.get("p")
    if not isinstance(question, str) or not isinstance(item, int) or item < 0 \
            or not (parent is None or isinstance(parent, str)):
        raise StaleButton("its value is malformed")
    return ButtonValue(question, item, parent)


def linkify(escaped: str) -> str:
    """Bare documentation URLs in escaped text as Slack links with a short title.

    >>> linkify("see (https://osirium.com/documentation/pam/pam-clustering-guide/).")
    'see (<https://osirium.com/documentation/pam/pam-clustering-guide/|PAM clustering guide>).'
    """
    return _URL_IN_TEXT.sub(lambda m: f"<{m.group(0)}|{short_title(m.group(0))}>", escaped)


def short_title(url: str) -> str:
    """A few words for a documentation link, from its address.

    >>> short_title("https://osirium.com/documentation/pam/7.5.3/pam-guide/recovery/restoring/")
    'Restoring (7.5.3 docs)'
    """
    path = url.split("://", 1)[-1].split("?", 1)[0].split("#", 1)[0]
    host, _, rest = path.partition("/")
    parts = [p for p in rest.split("/") if p]
    version = next((p for p in parts if _DOC_VERSION.fullmatch(p)), None)
    last = parts[-1] if parts else ""
    if not parts or last.lower() in ("pam", "documentation", "docs") or last == version:
        words = "PAM documentation" if parts else re.sub(r"[^\w.-]", "", host) or "link"
    else:
        words = " ".join("PAM" if w.lower() == "pam" else w
                         for w in re.split(r"[-_]+", re.sub(r"\.\w+$", "", last)) if w)
        words = re.sub(r"[^\w .]", "", words)[:60] or "link"
        words = words[0].upper() + words[1:]
    return f"{words} ({version} docs)" if version else words


def rich(text: str, limit: int, *, note: str = _ELLIPSIS) -> str:
    """`text` escaped and cut to `limit` like `fit`, with its URLs as links where they fit."""
    plain = fit(text, limit, note=note)
    linked = linkify(plain)
    return linked if len(linked) <= limit else plain


def header(text: str) -> dict:
    """A header block: the line a reader sees first."""
    return {"type": "header", "text": plain(fit(" ".join(text.split()) or "-",
                                                HEADER_TEXT_LIMIT))}


def plain(text: str) -> dict:
    """A plain text object (a header's, a button's or a modal's title and labels)."""
    return {"type": "plain_text", "text": text, "emoji": True}


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
            return kept + [context([f"{TRIMMED} See the source below for the full answer."])]
        kept.append(block)
        used += size
    return kept


def _texts(block: dict) -> list[str]:
    if block["type"] in ("section", "header"):
        return [block["text"]["text"]]
    if block["type"] == "divider":
        return []
    texts = []
    for element in block.get("elements", []):
        text = element.get("text", "")
        texts.append(text["text"] if isinstance(text, dict) else text)
    return texts


def section(text: str) -> dict:
    """A mrkdwn section for `text` (already escaped, within the limit)."""
    # verbatim: Slack must not auto-link names or turn a bare "@here" into a mention. Our
    # own <url|title> links still work.
    return {"type": "section", "text": {"type": "mrkdwn", "text": text, "verbatim": True}}


def context(texts: Iterable[str]) -> dict:
    """A context block: small grey lines of mrkdwn (already escaped)."""
    elements = [{"type": "mrkdwn", "text": text, "verbatim": True} for text in texts]
    return {"type": "context", "elements": elements[:CONTEXT_ELEMENTS_LIMIT]}


def _list_sections(title: str | None, lines: Sequence[str]) -> list[dict]:
    """`lines` (raw) packed into as few sections as fit, `title` (markup) on the first."""
    sections: list[dict] = []
    current = title or ""
    for line in lines:
        piece = rich(line, SECTION_TEXT_LIMIT - 1, note=TRIMMED)
        if current and len(current) + 1 + len(piece) > SECTION_TEXT_LIMIT:
            sections.append(section(current))
            current = piece
        else:
            current = f"{current}\n{piece}" if current else piece
    sections.append(section(current))
    return sections


def _source_line(answer: Answer) -> str:
    source = source_link(answer.source or "pambot rules", answer.source_url,
                         CONTEXT_TEXT_LIMIT - 40)
    return f"Rule `{fit(answer.rule or 'none', 100)}` · Source: {source}"


def source_link(title: str, url: str | None, limit: int) -> str:
    """A source's title (escaped, cut to `limit`), linked to its page when it has a safe URL."""
    text = fit(title, limit)
    if url and _SAFE_URL.fullmatch(url) and len(url) <= CONTEXT_TEXT_LIMIT:
        return f"<{escape(url)}|{text}>"
    return text


def mention(user_id: str | None) -> str | None:
    """`<@U123>` for a real Slack user ID, None for anything else."""
    return f"<@{user_id}>" if user_id and _USER_ID.fullmatch(user_id) else None


def _source_context(answer: Answer, shared_by: str | None) -> dict:
    texts = [_source_line(answer)]
    if answer.query.strip():
        texts.append(f"Question: {literal(' '.join(answer.query.split()), QUESTION_ECHO_LIMIT)}")
    if mention(shared_by):
        texts.append(f"Shared by {mention(shared_by)}")
    return context(texts)


def _lead(answer: Answer, typed: str | None, picked_by: str | None) -> str | None:
    """How the question was asked, when not in so many words: a pick or a reading."""
    if not typed or " ".join(typed.split()) == " ".join(answer.query.split()):
        return None
    if mention(picked_by):  # a button's label: our own words
        said = fit(" ".join(typed.split()), 100)
        question = fit(" ".join(answer.query.split()), QUESTION_ECHO_LIMIT)
        return f"{mention(picked_by)} picked “{said}”: *{question}*"
    # What the person typed, and our reading of it, shown as typed (no live formatting).
    said = literal(" ".join(typed.split()), 100)
    question = literal(" ".join(answer.query.split()), QUESTION_ECHO_LIMIT)
    return f"Read {said} in this conversation as: {question}"


def _suggestion(suggestion: str, query_id: str | None, item: int) -> dict:
    """"Did you mean ...?" as a button that asks the corrected question."""
    value = button_value(suggestion, parent=query_id)
    label = f"Did you mean: {' '.join(suggestion.split())}?"
    if value is None or len(label) > BUTTON_TEXT_LIMIT:
        return context([f"Did you mean {literal(suggestion, 200)}?"])
    return {"type": "actions", "block_id": f"pam_suggestion_{item}",
            "elements": [button(label, ACTION_SUGGESTION, value)]}


def _choice_buttons(answer: Answer, query_id: str | None, item: int) -> dict:
    """A clarifying answer's choices: one button each, asking the question it stands for."""
    buttons = []
    for number, choice in enumerate(answer.choices[:ACTIONS_ELEMENTS_LIMIT]):
        value = button_value(choice.question, parent=query_id)
        if value is not None:
            buttons.append(button(choice.label, f"{ACTION_CHOICE}_{number}", value))
    if not buttons:  # only if every question is too long for a button: say them instead
        return section(fit("Ask again with one of: " + "; ".join(
            c.question for c in answer.choices), SECTION_TEXT_LIMIT, note=TRIMMED))
    return {"type": "actions", "block_id": f"pam_choices_{item}", "elements": buttons}


def _folded_warnings(warnings: Sequence[str]) -> str:
    """Long warnings as one line: each one's lead, then "Show warnings" has them all."""
    leads = []
    for warning in warnings:
        # "Restoring a standalone PAM Server (7.5.3 documentation): ..." reads well cut at its
        # colon; "Clustering: ..." does not.
        lead, colon, _ = warning.partition(": ")
        if not colon or not 25 <= len(lead) <= FOLDED_WARNING_CHARS:
            lead = warning if len(warning) <= FOLDED_WARNING_CHARS else \
                warning[:FOLDED_WARNING_CHARS].rsplit(" ", 1)[0] + "…"
        leads.append(fit(lead, FOLDED_WARNING_CHARS + 1))
    count = f"{len(warnings)} warning{'s' if len(warnings) != 1 else ''}"
    return fit_escaped(f":warning: *{count}* (Show warnings for the full text): "
                       + " · ".join(leads), CONTEXT_TEXT_LIMIT * 2)


def fit_escaped(text: str, limit: int) -> str:
    """Already-escaped `text` cut to `limit` characters, never inside an entity."""
    if len(text) <= limit:
        return text
    cut = text[:limit - 1]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut.rstrip() + _ELLIPSIS


def _item_buttons(answer: Answer, question: str, item: int, query_id: str | None, *,
                  checklist: bool) -> list[dict]:
    """The buttons about one answer of a message: "Start checklist", "Show warnings"."""
    buttons = []
    value = button_value(question, item=item, parent=query_id)
    if value is None:
        return buttons
    if checklist and has_checklist(answer):
        buttons.append(button("Start checklist", ACTION_CHECKLIST, value, style="primary"))
    if answer.warnings and folds(answer, question, item):
        buttons.append(button(f"Show warnings ({len(answer.warnings)})", ACTION_WARNINGS,
                              value))
    return buttons


def _buttons(answer: Answer, *, query_id: str | None, shareable: bool) -> list[dict]:
    buttons = []
    # Usage and "did not understand" are for the asker alone.
    shareable = shareable and answer.outcome not in _PRIVATE_OUTCOMES
    value = share_value(answer, query_id) if shareable else None
    if value is not None:
        buttons.append(button("Share in channel", ACTION_SHARE, value, style="primary"))
    if query_id is not None and len(query_id) <= BUTTON_VALUE_LIMIT:
        buttons.append(button("Helpful", ACTION_HELPFUL, query_id))
        buttons.append(button("Not helpful", ACTION_NOT_HELPFUL, query_id))
    return buttons


def button(label: str, action_id: str, value: str, *, style: str | None = None) -> dict:
    """A button; `label` is cut to Slack's limit, `value` must fit already."""
    element = {
        "type": "button",
        "action_id": action_id,
        "text": plain(label[:BUTTON_TEXT_LIMIT] or "-"),
        "value": value,
    }
    if style:
        element["style"] = style
    return element
