"""The engine's value types: what a question parses into and what an answer holds."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields, replace

INTENTS = ("upgrade", "restore", "backup", "fact", "help", "unknown")
NODES = ("leader", "follower", "cluster")
# clarify: the answer is a question back, with `choices`; fact: a documented fact, not a path.
OUTCOMES = ("path", "support", "fact", "clarify", "help", "unknown")


@dataclass(frozen=True)
class Query:
    """One question, as read from a message (a message may hold several)."""

    text: str
    intent: str
    from_version: str | None = None
    to_version: str | None = None
    node: str | None = None
    # A near-miss command word, e.g. "upgrade" for "upgarde".
    suggestion: str | None = None
    # Which kind of question within the intent: a fact topic, "pam-backup" for a restore
    # of the PAM Server generated backup, "not-documented".
    case: str | None = None
    # Versions the person said they are NOT on ("not 6.5.4 but 6.1.4").
    excluded: tuple[str, ...] = ()


@dataclass(frozen=True)
class Choice:
    """One option of a clarifying answer: what a button or a numbered line shows, and the
    whole question it stands for."""

    label: str
    question: str


@dataclass(frozen=True)
class Answer:
    """A checked, sourced answer. `to_dict()` is the JSON contract of `pambot ask --json`."""

    query: str
    intent: str
    from_version: str | None
    to_version: str | None
    node: str | None
    rule: str
    source: str
    source_url: str | None
    # path / support / fact / clarify / help / unknown: what the query log counts.
    outcome: str
    # One line that a person reads first, e.g. "Backup and restore required".
    verdict: str
    # A sentence or two under the verdict.
    summary: str | None
    backup_restore_required: bool | None
    follower_rebuild: bool
    contact_support: bool
    steps: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    # Why the answer is the support prompt, and what to have ready for it.
    reason: str | None = None
    support_checklist: tuple[str, ...] = ()
    suggestion: str | None = None
    # For a clarifying answer: the options, each with the full question it stands for.
    choices: tuple[Choice, ...] = ()
    # The answers to the other questions in the same message, in order.
    also: tuple[Answer, ...] = ()
    text: str = field(default="", compare=False)

    def with_query(self, query: str, also: tuple[Answer, ...] = ()) -> Answer:
        """This answer for another question text, with the answers to the message's other
        questions (if any) after it."""
        if not also:
            return replace(self, query=query)
        text = "\n\n".join([self.text] + [f'Also, for "{a.query}":\n{a.text}' for a in also])
        return replace(self, query=query, also=also, text=text)

    def to_json(self) -> str:
        """`to_dict()` as one line of JSON."""
        return json.dumps(self.to_dict(), ensure_ascii=False)

    def to_dict(self) -> dict:
        """The JSON object of `pambot ask --json`, keys in field order."""
        data = {name: getattr(self, name) for name in ANSWER_FIELDS}
        for name in ("steps", "warnings", "support_checklist"):
            data[name] = list(data[name])
        data["choices"] = [{"label": c.label, "question": c.question} for c in self.choices]
        data["also"] = [a.to_dict() for a in self.also]
        return data


ANSWER_FIELDS = tuple(f.name for f in fields(Answer))
