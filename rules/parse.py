"""Turn what on-call engineers type (in Slack or a terminal) into a `Query`.

    >>> parse("<@U0LAN0Z89> *Upgrade* v6.5.4?")
    Query(text='<@U0LAN0Z89> *Upgrade* v6.5.4?', intent='upgrade', from_version='6.5.4', ...)

Never raises: any string gives a Query, with intent "unknown" when nothing is recognised.
"""

from __future__ import annotations

import difflib
import functools
import re
import unicodedata

from rules.model import Query

# Only the start of a long message is read: questions are short, and this keeps
# the cost of a 50 kB paste bounded.
MAX_PARSE_CHARS = 2000
# A version component longer than this is not a version anybody runs.
MAX_VERSION_DIGITS = 30

_SLACK_LINK = re.compile(r"<((?:https?|mailto):[^>|]*)(?:\|([^>]*))?>")
_SLACK_REFERENCE = re.compile(r"<[@#!][^>]*>")
_MARKS = re.compile(r"[*_~`]+")
_INVISIBLE = re.compile(r"[\u200b-\u200f\u2028-\u202f\u2060-\u206f\ufeff]")
_CONTROL = dict.fromkeys([*range(0, 32), *range(127, 160)], " ")
_ARROW = re.compile(
    r"-+>|=+>|>|[\u2190-\u21ff\u27f0-\u27ff\u2900-\u297f\u2b00-\u2b2f\u279c-\u27bf»]"
)
# A word, a version ("v6.5.4", "7.x") or an arrow, in the order they come.
_TOKEN = re.compile(
    r"(?<![\w.])(v?)(\d+(?:\.\d+){0,3})(\.[x*])?(?!\w)"  # tried first, so "v6.5.4" is one
    r"|([a-z]+(?:'[a-z]+)?)"
    r"|->"
)
_LABEL_WORDS = {
    "from": "from", "on": "from", "running": "from", "at": "from",
    "to": "to", "into": "to", "onto": "to", "target": "to",
}
# Words after which a bare number ("upgrade 7") is a version, not a count.
_NUMBER_CUES = {"upgrade", "upgrading", "update", "pam", "version", "release", "osirium"}

_UPGRADE_WORDS = {
    "upgrade", "upgrades", "upgrading", "upgraded", "update", "updating", "migrate",
    "migrating", "migration", "path",
}
_RESTORE_WORDS = {
    "restore", "restores", "restoring", "restored", "restoration", "reinstate", "reinstating",
    "recover", "recovering", "recovery", "rebuild", "rebuilding", "died", "dead", "down",
    "failed", "failure", "crashed", "crash", "lost", "broken", "corrupt", "corrupted",
}
_BACKUP_WORDS = {"backup", "backups", "snapshot", "snapshots"}
_HELP_WORDS = {"help", "usage", "commands", "hi", "hello", "hey"}
_NODE_WORDS = {
    "leader": "leader", "primary": "leader", "master": "leader",
    "follower": "follower", "followers": "follower", "secondary": "follower",
    "replica": "follower",
    "cluster": "cluster", "clusters": "cluster",
}
# Words a near miss is measured against: one per intent and node.
_COMMAND_WORDS = ("upgrade", "restore", "backup", "help", "leader", "follower", "cluster")
_KNOWN_WORDS = (
    _UPGRADE_WORDS | _RESTORE_WORDS | _BACKUP_WORDS | _HELP_WORDS | set(_NODE_WORDS)
    | {"from", "to", "pam", "server", "version", "node", "nodes", "need", "the", "what",
       "whats", "what's", "we're", "were", "how", "and", "with", "back"}
)
_TYPO_SCAN_WORDS = 30


def normalize(text: str) -> str:
    """Lower-cased plain text: Slack markup, mentions, entities, marks and arrows tidied."""
    text = text[:MAX_PARSE_CHARS]
    # Each step is skipped where it cannot apply: most questions are short plain ASCII.
    if "<" in text:
        text = _SLACK_LINK.sub(lambda m: m.group(2) or m.group(1), text)
        text = _SLACK_REFERENCE.sub(" ", text)
    if "&" in text:
        text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    ascii_only = text.isascii()
    if not ascii_only:
        text = _INVISIBLE.sub("", unicodedata.normalize("NFKC", text))
    if not text.isprintable():
        text = text.translate(_CONTROL)
    if ">" in text or not ascii_only:
        text = _ARROW.sub(" -> ", text)
    text = _MARKS.sub(" ", text)
    return " ".join(text.casefold().split())


def parse(text: str) -> Query:
    """Parse one question. `text` is kept as given; everything else is derived from it."""
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    clean = normalize(text)
    words, from_version, to_version = _scan(clean)
    wordset = set(words)
    has_version = from_version is not None or to_version is not None
    node = _node(wordset, clean)

    intent = None
    if wordset & _UPGRADE_WORDS or "->" in clean:
        intent = "upgrade"
    elif wordset & _RESTORE_WORDS:
        intent = "restore"
    elif wordset & _BACKUP_WORDS or "back up" in clean or "backing up" in clean:
        intent = "backup"

    suggestion = None
    if intent is None or (intent == "restore" and node is None):
        suggestion = _near_miss(clean, words)
    if intent is None:
        if suggestion:
            intent = "unknown"
        elif has_version:
            intent = "upgrade"
        elif not clean or wordset & _HELP_WORDS:
            intent = "help"
        else:
            intent = "unknown"
    return Query(
        text=text,
        intent=intent,
        from_version=from_version if intent == "upgrade" else None,
        to_version=to_version if intent == "upgrade" else None,
        node=node if intent == "restore" else None,
        suggestion=suggestion,
    )


def _scan(clean: str) -> tuple[list[str], str | None, str | None]:
    """One pass over the text: its words, and the (from, to) versions.

    A version's role comes from the last label since the previous version:
    "from X to Y", "to Y from X", "X -> Y", "on X". Unlabelled ones fill from, then to.
    """
    words: list[str] = []
    found: list[tuple[str, str | None]] = []
    label = None
    last_word = None
    for prefix, number, wildcard, word in _TOKEN.findall(clean):  # "" for a missing group
        if word:
            words.append(word)
            last_word = word
            if word in _LABEL_WORDS:
                label = _LABEL_WORDS[word]
            continue
        if not number:  # an arrow
            label = "to"
            continue
        if len(found) >= 4 or any(len(p) > MAX_VERSION_DIGITS for p in number.split(".")):
            label = last_word = None
            continue
        if label or prefix or wildcard or "." in number or last_word in _NUMBER_CUES:
            found.append((number + (".x" if wildcard else ""), label))
        # else: "3 followers", "2 nodes": a plain count is not a version
        label = last_word = None
    from_version = next((v for v, role in found if role == "from"), None)
    to_version = next((v for v, role in found if role == "to"), None)
    for version, role in found:
        if role is not None:
            continue
        if from_version is None:
            from_version = version
        elif to_version is None and version != from_version:
            to_version = version
    return words, from_version, to_version


def _node(wordset: set[str], clean: str) -> str | None:
    nodes = {_NODE_WORDS[w] for w in wordset if w in _NODE_WORDS}
    if "cluster" in nodes or "all nodes" in clean or len(nodes) > 1:
        return "cluster"
    return nodes.pop() if nodes else None


def _near_miss(clean: str, words: list[str]) -> str | None:
    """`clean` with its first near-miss command word corrected ("upgarde" -> "upgrade")."""
    for word in words[:_TYPO_SCAN_WORDS]:
        if len(word) < 4 or word in _KNOWN_WORDS:
            continue
        match = _closest_command(word)
        if match:
            return re.sub(rf"\b{re.escape(word)}\b", match, clean, count=1)
    return None


@functools.lru_cache(maxsize=8192)
def _closest_command(word: str) -> str | None:
    """The command word `word` is a near miss of, if any. Cached: people repeat their typos."""
    match = difflib.get_close_matches(word, _COMMAND_WORDS, n=1, cutoff=0.75)
    return match[0] if match else None
