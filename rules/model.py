"""The engine's value types: what a question parses into and what an answer holds."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields, replace

INTENTS = ("upgrade", "restore", "backup", "fact", "help", "unknown")
NODES = ("leader", "follower", "cluster")
# The situation a person describes, beside the node and the versions: the backup they have
# on hand and what they run. None is "not said".
BACKUPS = ("vm", "pam", "both", "no-vm", "none")
TOPOLOGIES = ("standalone", "cluster")
# clarify: the answer is a question back, with `choices`; fact: a documented fact, not a path.
OUTCOMES = ("path", "support", "fact", "clarify", "help", "unknown")


@dataclass(frozen=True)
class Query:
    """One question, as read from a message (a message may hold several). Two queries with
    the same meaning are equal whatever their text: they have the same answer."""

    text: str = field(compare=False)
    intent: str
    from_version: str | None = None
    to_version: str | None = None
    node: str | None = None
    # A near-miss command word, e.g. "upgrade" for "upgarde".
    suggestion: str | None = None
    # Which kind of question within the intent: a fact topic, or a kind of question the
    # documentation does not answer ("rollback", "not-documented").
    case: str | None = None
    # Versions the person said they are NOT on ("not 6.5.4 but 6.1.4").
    excluded: tuple[str, ...] = ()
    # The situation: the backup on hand and the topology (None: not said); what is asked
    # (focus: steps, consequence, fact, not-documented) and, for a consequence, which one
    # (restore-required, straight-upgrade, followers-rebuilt, followers-fine, possible) and
    # whether as a yes/no question.
    backup: str | None = None
    topology: str | None = None
    focus: str = "steps"
    asks: str | None = None
    yes_no: bool = False

    @property
    def situation(self) -> dict[str, str]:
        """The situation read, for `pambot ask --explain` ("unknown" where not said)."""
        return {"backup": self.backup or "unknown", "topology": self.topology or "unknown",
                "focus": self.focus + (f" ({'yes/no: ' if self.yes_no else ''}{self.asks})"
                                       if self.asks else "")}


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
    # What the person said of their situation (see Query), and what they asked.
    backup: str | None
    topology: str | None
    focus: str
    rule: str
    source: str
    source_url: str | None
    # path / support / fact / clarify / help / unknown: what the query log counts.
    outcome: str
    # The question's own answer in one line, before the verdict, where it asked about a
    # consequence: "No: a leader reinstated from its VM level backup catches up by itself".
    short_answer: str | None
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
    # Versions the person said they are not on ("another 6.5.x": not 6.5.4).
    excluded: tuple[str, ...] = ()
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
        for name in ("steps", "warnings", "support_checklist", "excluded"):
            data[name] = list(data[name])
        data["choices"] = [{"label": c.label, "question": c.question} for c in self.choices]
        data["also"] = [a.to_dict() for a in self.also]
        return data


ANSWER_FIELDS = tuple(f.name for f in fields(Answer))


# How a written-out question says the backup on hand and the topology (read back the same).
_BACKUP_WORDS = {
    "vm": "from its VM level backup",
    "pam": "from the PAM Server generated backup",
    "both": "with a VM level backup and a PAM Server generated backup",
    "no-vm": "with no VM level backup",
    "none": "with no backup at all",
}
_TOPOLOGY_WORDS = {"standalone": "on a standalone server", "cluster": "in a cluster"}


def question_for(intent: str, from_version: str | None = None, to_version: str | None = None,
                 node: str | None = None, excluded: tuple[str, ...] = (), *,
                 backup: str | None = None, topology: str | None = None) -> str:
    """An upgrade or restore question written out in full, as a person would ask it: what
    a choice button asks, and what a reply in a conversation completes.

    >>> question_for("upgrade", "6.5.4", "7.2")
    'upgrade 6.5.4 to 7.2'
    >>> question_for("restore", "6.5.4", node="leader", backup="vm")
    'restore leader on 6.5.4 from its VM level backup'
    >>> question_for("restore", node="leader", topology="standalone")
    'restore standalone server'
    """
    if topology == "cluster" and node in ("follower", "cluster"):
        topology = None  # said already by the node
    situation = [_BACKUP_WORDS.get(backup or ""), _TOPOLOGY_WORDS.get(topology or "")]
    if intent == "restore":
        if from_version and to_version:
            words = ["restore", node, "from", from_version, "to", to_version, *situation]
        elif topology == "standalone" and node in (None, "leader", "cluster"):
            words = ["restore standalone server",
                     f"on {from_version}" if from_version else None, situation[0]]
        else:
            words = ["restore", node, f"on {from_version}" if from_version and node else
                     f"from {from_version}" if from_version else None, *situation]
        return " ".join(w for w in words if w)
    words = ["upgrade", from_version, *(f"not {v}" for v in excluded if from_version),
             f"to {to_version}" if to_version else None, situation[1]]
    return " ".join(w for w in words if w)
