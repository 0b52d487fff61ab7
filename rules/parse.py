"""Read what on-call engineers type (in Slack or a terminal) into questions.

Four steps, one module each, all shown by `pambot ask --explain`:

1. tidy (`rules.tidy`): Slack markup, mentions, entities, quotes and odd characters;
2. tokens (`rules.tokens`): typed pieces, so that a number is a PAM version only when it
   has the shape and the context of one (versions, IP addresses, dates, times, ticket
   keys, counts, words and the vocabulary's phrases, arrows, sentence ends);
3. slots (`rules.slots`): each sentence fills intent, versions, node, backup kind and
   topic from a few patterns;
4. questions (`rules.questions`): a sentence without a question of its own lends its
   versions and node to the ones after it, and a message can hold several questions.

    >>> from rules import default_ruleset
    >>> vocabulary = default_ruleset().vocabulary
    >>> [q.from_version for q in parse_message("not 6.5.4 but 6.1.4", vocabulary).queries]
    ['6.1.4']

Never raises: any string gives at least one Query, with intent "unknown" when nothing
is recognised.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from rules.model import Query
from rules.questions import questions
from rules.slots import CONJUNCTIONS, Clause, read_clause
from rules.tidy import tidy
from rules.tokens import NEW_QUESTION, Token, sentences, tokenize
from rules.vocabulary import Vocabulary

__all__ = ["Message", "parse", "parse_message"]


@dataclass(frozen=True)
class Message:
    """A whole message: its questions (main first), and how it was read."""

    text: str
    queries: tuple[Query, ...]
    clauses: tuple[Clause, ...] = ()

    def explain(self) -> str:
        """The tokens, the slots and why each was filled, for rule authors."""
        lines = []
        for number, clause in enumerate(self.clauses, 1):
            shown = " ".join(_show(t) for t in clause.tokens) or "(nothing)"
            lines.append(f"sentence {number}: {shown}")
            lines += [f"  - {note}" for note in clause.notes]
        for number, query in enumerate(self.queries, 1):
            slots = ", ".join(
                f"{name}={value}" for name, value in (
                    ("intent", query.intent), ("from", query.from_version),
                    ("to", query.to_version), ("node", query.node), ("case", query.case),
                    ("not", ",".join(query.excluded) or None),
                    ("suggestion", query.suggestion)) if value)
            situation = ", ".join(f"{name}={value}" for name, value in query.situation.items())
            lines.append(f"question {number}: {slots}")
            lines.append(f"  situation: {situation}")
        return "\n".join(lines)


def _show(token: Token) -> str:
    if token.kind == "word" and token.meaning is None:
        return token.text
    label = f"{token.meaning[0]}:{token.meaning[1]}" if token.meaning else token.kind
    return f"[{token.text}|{label}]"


def parse(text: str, vocabulary: Vocabulary) -> Query:
    """The main question of a message (see `parse_message` for all of them)."""
    return parse_message(text, vocabulary).queries[0]


def parse_message(text: str, vocabulary: Vocabulary, *,
                  explain: bool = False) -> Message:
    """Every question in one message, main (an incident, if any) first."""
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    if not explain:
        return _read(text, vocabulary)
    return _read.__wrapped__(text, vocabulary, explain=True)


@functools.lru_cache(maxsize=8192)
def _read(text: str, vocabulary: Vocabulary, *, explain: bool = False) -> Message:
    """`parse_message` itself. Cached: people ask the same things (a Message is immutable);
    see bench/bench_ask.py for what it saves."""
    clean, cased = tidy(text)
    clauses = []
    for tokens in sentences(tokenize(clean, vocabulary)):
        clause = read_clause(tokens, vocabulary, explain)
        clause.said = _as_said(tokens, cased)
        clauses.append(clause)
    queries = questions(text, clean, clauses, vocabulary, explain)
    return Message(text, tuple(queries), tuple(clauses) if explain else ())


def _as_said(tokens: list[Token], cased: str) -> str:
    """A sentence as the person wrote it, for its question text: "And is the MEK in the
    backup ?" reads "is the MEK in the backup?"."""
    words = list(tokens)
    while words and (words[0].text in NEW_QUESTION or words[0].text in CONJUNCTIONS
                     or not words[0].text[0].isalnum()):
        words.pop(0)
    while words and words[-1].text in CONJUNCTIONS:  # "upgrade 6.5.4 to 7.x and | also ..."
        words.pop()
    if not words:
        return ""
    return re.sub(r"\s+(?=[?!.,;:])", "", " ".join(cased[words[0].start:words[-1].end].split()))
