"""Step 1 of reading a message: tidy it into lower-cased plain text. Slack markup,
mentions, entities, quotes, terminal colours, pasted log lines and look-alike characters
go; line breaks stay, since they end a sentence.

    >>> normalize("*Upgrade* <@U123> 6.5.4 &gt; 7.2")
    'upgrade 6.5.4 -> 7.2'
"""

from __future__ import annotations

import re
import unicodedata

# Only the start and the end of a long message are read: questions are short, and this
# keeps the cost of a 50 kB paste bounded.
MAX_PARSE_CHARS = 2000
_SLACK_LINK = re.compile(r"<((?:https?|mailto):[^>|]*)(?:\|([^>]*))?>")
_SLACK_REFERENCE = re.compile(r"<[@#!][^>]*>")
_EMOJI = re.compile(r":[a-z0-9_+'-]+:")
_TERMINAL_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# A line pasted from a log: a date and time, a time, a syslog stamp or a level first.
_LOG_LINE = re.compile(r"[ \t]*(?:\[?\d{4}-\d\d-\d\d[T ]\d|\[?\d\d:\d\d:\d\d"
                       r"|[A-Z][a-z]{2} +\d{1,2} \d\d:\d\d|(?:ERROR|WARN(?:ING)?|INFO|DEBUG"
                       r"|FATAL|CRITICAL|TRACE)\b)")
_QUOTE = re.compile(r"^[ \t]*(?:>|&gt;)+", re.MULTILINE)  # a Slack quote, not an arrow
_MARKS = re.compile(r"[*_~`]+")
_INVISIBLE = re.compile(r"[\u200b-\u200f\u2028-\u202f\u2060-\u206f\ufeff]")
_CONTROL = dict.fromkeys([*range(0, 10), *range(11, 32), *range(127, 160)], " ")
_QUOTES = str.maketrans("\u2018\u2019\u201b\u2032", "''''")
_ARROW = re.compile(
    r"-+>|=+>|>|[\u2190-\u21ff\u27f0-\u27ff\u2900-\u297f\u2b00-\u2b2f\u279c-\u27bf»]"
)
# Phrases that start another question, read as "also": "leader's down - and while I have
# you, are session recordings in the backup?".
_ANOTHER_QUESTION = re.compile(r"\b(?:while i have you|on another note|one more thing|"
                               r"another question|separate question)\b")


def normalize(text: str) -> str:
    """Lower-cased plain text: Slack markup, mentions, entities, quotes, marks and arrows
    tidied. Line breaks are kept: they end a sentence."""
    if len(text) > MAX_PARSE_CHARS:
        # The start and the end: a question comes before or after what was pasted. Cut at
        # spaces, so that a cut never makes "6.5" of a "6.5.4"; a line break between them.
        half = MAX_PARSE_CHARS // 2
        head, tail = text[:half].rsplit(None, 1)[0], text[-half:].split(None, 1)[-1]
        text = f"{head}\n{tail}"
    if "\n" in text:
        text = _without_log_lines(text)
    if "<" in text:
        text = _SLACK_LINK.sub(" ", text)  # a link's address and label are not the question
        text = _SLACK_REFERENCE.sub(" ", text)
    if ">" in text:
        text = _QUOTE.sub(" ", text)
    if "&" in text:
        text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    ascii_only = text.isascii()
    if not ascii_only:
        # Compatibility forms and accents folded: "ＵＰＧＲＡＤＥ", "ÜPGRADE" read "upgrade".
        folded = unicodedata.normalize("NFKD", text)
        text = "".join(c for c in folded if not unicodedata.combining(c))
        text = _INVISIBLE.sub("", text).translate(_QUOTES)
    if not text.isprintable():
        text = _TERMINAL_ESCAPE.sub(" ", text)  # a paste from a coloured terminal
        text = text.replace("\r\n", "\n").translate(_CONTROL)
    if ">" in text or not ascii_only:
        text = _ARROW.sub(" -> ", text)
    text = _MARKS.sub(" ", text)
    if ":" in text:
        text = _EMOJI.sub(" ", text)
    text = _ANOTHER_QUESTION.sub(" also ", text.casefold())
    return "\n".join(" ".join(line.split()) for line in text.split("\n")).strip()


def _without_log_lines(text: str) -> str:
    """The message without the lines pasted from a log (they start with a time stamp or a
    level: "2026-11-25 22:01:13 etcd: lost peer", "ERROR ..."), unless nothing else is left."""
    kept = [line for line in text.split("\n") if not _LOG_LINE.match(line)]
    return "\n".join(kept) if any(line.strip() for line in kept) else text

