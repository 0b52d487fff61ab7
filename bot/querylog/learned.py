"""Phrases a site taught pambot (`pambot learn`, the App Home's "Teach"), shared by every
process through the state tables, with who taught each and when.

    >>> learned = LearnedPhrases(StateStore(":memory:"))
    >>> learned.add("pdc", "node:leader", who="ops@example.com")
    True
    >>> [(p.phrase, p.meaning, p.who) for p in learned.all()]
    [('pdc', 'node:leader', 'ops@example.com')]
    >>> learned.forget("pdc"), learned.all()
    (True, [])

Every process merges them over the rule files' vocabulary (`bot.reload.LiveRules`), and
checks for new ones every few seconds (`fingerprint` is one cheap query).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from bot.querylog.schema import utc_iso
from bot.querylog.state import StateStore


@dataclass(frozen=True)
class Learned:
    """One phrase taught: what it means, who taught it and when (UTC, ISO 8601)."""

    phrase: str
    meaning: str
    who: str | None
    ts: str


class LearnedPhrases:
    """The learned phrases in the state tables. Raises StateUnavailable when the file cannot
    be used: the caller says so (a command) or keeps what it has (a running server)."""

    def __init__(self, store: StateStore) -> None:
        self.store = store

    def add(self, phrase: str, meaning: str, *, who: str | None) -> bool:
        """Teach `phrase`; False if it was taught already (a phrase has one meaning: forget
        it first to teach it another)."""
        with self.store.writing() as db:
            return db.execute(
                "INSERT INTO learned (phrase, meaning, who, ts) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (phrase) DO NOTHING",
                [phrase, meaning, who, utc_iso(datetime.now(UTC))]).rowcount > 0

    def forget(self, phrase: str) -> bool:
        """Forget `phrase`; False if it was not taught."""
        with self.store.writing() as db:
            return db.execute("DELETE FROM learned WHERE phrase = ?", [phrase]).rowcount > 0

    def all(self) -> list[Learned]:
        """Every learned phrase, oldest first."""
        with self.store.reading() as db:
            rows = db.execute("SELECT phrase, meaning, who, ts FROM learned "
                              "ORDER BY ts, phrase").fetchall()
        return [Learned(*row) for row in rows]

    def fingerprint(self) -> tuple:
        """Changes whenever a phrase is taught or forgotten."""
        with self.store.reading() as db:
            return tuple(db.execute("SELECT count(*), max(ts) FROM learned").fetchone())
