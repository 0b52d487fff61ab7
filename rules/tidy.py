"""Step 1 of reading a message: tidy it into lower-cased plain text. Slack markup,
mentions, entities, quotes, terminal colours, pasted log lines and look-alike characters
go; line breaks stay, since they end a sentence.

    >>> normalize("*Upgrade* <@U123> PAM6.5.4 &gt; seven point two pls")
    'upgrade pam 6.5.4 -> 7.2'
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
_ANOTHER_QUESTION = re.compile(r"(?i)\b(?:while\s+i\s+have\s+you|on\s+another\s+note|"
                               r"one\s+more\s+thing|another\s+question|separate\s+question)\b")


# Pleasantries carry no meaning: they go before anything is read, so that "while pls I have
# you" still starts another question.
_NOISE = re.compile(r"(?<![\w'])(?:pls|plz|please|asap|thanks|thank you|thank|thx|ty|tia|"
                    r"cheers|urgent|urgently|fyi|kindly|ta|lol|ugh|hmm+|um+|uh+|erm)(?![\w'])",
                    re.IGNORECASE)
# A file name ("pam-backup-20240601.bak", "export.tar.gz"): not words of the question.
_FILE_NAME = re.compile(r"\S+\.(?:bak|tar|gz|tgz|zip|7z|log|txt|json|ya?ml|iso|ova|vmdk|vhdx|"
                        r"qcow2|img|csv|pdf|sql|dump)\b", re.IGNORECASE)
# The markers of a list, "1)" or "(b)": not versions.
_LIST_MARKER = re.compile(r"(?<!\S)\(?(?:\d{1,2}|[a-h])\)(?=\s)")
# A version glued to the product ("PAM7.1"), and a host name glued to a node word
# ("pamldr01", "pamfol3").
_GLUED_VERSION = re.compile(r"\b(pam|osirium|version|ver|release)(?=\d+(?:\.\d+)*(?![\w-]|\.\w))",
                            re.IGNORECASE)  # "PAM7.1", "pam8"; not the host "pam7-ldr-01"
_GLUED_NODE = re.compile(r"\b(pam)(?=(?:ldr|leader|fol|foll|flw|fllwr|follower)\d*\b)",
                         re.IGNORECASE)
# Versions said aloud, as speech-to-text writes them: "six point five point four".
_NUMBER_WORDS = {word: str(n) for n, word in enumerate((
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve"))} | {"oh": "0"}
_SPOKEN_NUMBER = "(?:" + "|".join(_NUMBER_WORDS) + r"|\d+)"
# Cheap first looks, before the patterns they guard: a dot before a letter (a file name, not
# a version), a product name or "version" right before a digit.
_DOT_LETTER = re.compile(r"\.[A-Za-z]")
_GLUED_HINT = re.compile(r"(?:pam|osirium|ver|release)\d")
_SPOKEN_MAJOR = re.compile(r"(?:version|release|pam|to) (?:five|six|seven|eight|nine)\b",
                           re.IGNORECASE)
# Pleasantries, dropped by the tokenizer: they carry no meaning.
NOISE_WORDS = frozenset({"pls", "plz", "please", "asap", "thanks", "thank", "thx", "ty",
                         "tia", "cheers", "urgent", "urgently", "fyi", "kindly", "ta", "lol",
                         "ugh", "hmm", "hmmm", "um", "umm", "uh", "erm"})
_FILE_EXTENSION = re.compile(r"\.(?:bak|tar|gz|tgz|zip|7z|log|txt|json|ya?ml|iso|ova|vmdk|vhdx|"
                             r"qcow2|img|csv|pdf|sql|dump)\b", re.IGNORECASE)
_SPOKEN_VERSION = re.compile(
    rf"\b{_SPOKEN_NUMBER}(?:\s+(?:point|dot)\s+(?:{_SPOKEN_NUMBER}|x))+\b"
    # "PAM eight", "version seven": a major alone, only where it can be one ("the pam one").
    rf"|(?<=version |release )(?:five|six|seven|eight|nine)\b"
    rf"|(?:(?<=pam )|(?<=to ))(?:five|six|seven|eight|nine)\b",
    re.IGNORECASE)


def _spoken(match: re.Match) -> str:
    words = re.split(r"\s+(?:point|dot)\s+", match.group().lower())
    return ".".join(_NUMBER_WORDS.get(word, word) for word in words)


def tidy(text: str) -> tuple[str, str]:
    """(`normalize(text)`, the same text as the person cased it), so that what they asked
    can be quoted back as they wrote it; both are the same length, character for
    character."""
    cased = _tidied(text)
    clean = cased.lower()
    if len(clean) != len(cased):  # a letter whose lower case is longer ("İ"): quote it lower
        cased = clean
    return clean, cased


def normalize(text: str) -> str:
    """Lower-cased plain text: Slack markup, mentions, entities, quotes, marks and arrows
    tidied. Line breaks are kept: they end a sentence."""
    return _tidied(text).lower()


def _tidied(text: str) -> str:
    """`normalize` before lower-casing."""
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
    if not ascii_only:  # an emoji or another symbol between words is no word of its own
        text = "".join(" " if unicodedata.category(c) == "So" else c for c in text)
    text = _MARKS.sub(" ", text)
    if ":" in text:
        text = _EMOJI.sub(" ", text)
    lowered = text.lower()
    another = any(word in lowered for word in ("while", "another", "more thing", "separate"))
    spoken = "point" in lowered or "dot" in lowered or any(
        word in lowered for word in ("five", "six", "seven", "eight", "nine")) and bool(
        _SPOKEN_MAJOR.search(text))
    if another or spoken:
        # "while pls I have you", "six pls point five": the tokenizer drops a pleasantry,
        # but these are read before it, across words.
        text = re.sub(r"[ \t]+", " ", _NOISE.sub(" ", text))
    if "." in text and _DOT_LETTER.search(text) and _FILE_EXTENSION.search(text):
        text = _FILE_NAME.sub(" ", text)
    if ")" in text:
        text = _LIST_MARKER.sub(" ", text)
    if another:
        text = _ANOTHER_QUESTION.sub(" also ", text)
    if _GLUED_HINT.search(lowered):
        text = _GLUED_VERSION.sub(r"\1 ", text)
    if "pam" in lowered:
        text = _GLUED_NODE.sub(r"\1 ", text)
    if spoken:
        text = _SPOKEN_VERSION.sub(_spoken, text)
    return "\n".join(" ".join(line.split()) for line in text.split("\n")).strip()


def _without_log_lines(text: str) -> str:
    """The message without the lines pasted from a log (they start with a time stamp or a
    level: "2026-11-25 22:01:13 etcd: lost peer", "ERROR ..."), unless nothing else is left."""
    kept = [line for line in text.split("\n") if not _LOG_LINE.match(line)]
    return "\n".join(kept) if any(line.strip() for line in kept) else text

