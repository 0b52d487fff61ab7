"""The engine's value types: what a question parses into and what an answer holds."""

from __future__ import annotations

from dataclasses import dataclass, field, fields

INTENTS = ("upgrade", "restore", "backup", "help", "unknown")
NODES = ("leader", "follower", "cluster")
OUTCOMES = ("path", "support", "help", "unknown")


@dataclass(frozen=True)
class Query:
    """A parsed question.

    >>> Query(text="upgrade 6.5.4", intent="upgrade", from_version="6.5.4")
    """

    text: str
    intent: str
    from_version: str | None = None
    to_version: str | None = None
    node: str | None = None
    # A near-miss command word, e.g. "upgrade" for "upgarde".
    suggestion: str | None = None


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
    # path / support / help / unknown: what the query log counts.
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
    text: str = field(default="", compare=False)

    def to_dict(self) -> dict:
        """The JSON object of `pambot ask --json`, keys in field order."""
        data = {name: getattr(self, name) for name in ANSWER_FIELDS}
        for name in ("steps", "warnings", "support_checklist"):
            data[name] = list(data[name])
        return data


ANSWER_FIELDS = tuple(f.name for f in fields(Answer))
