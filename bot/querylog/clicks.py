"""The first click of each button: a double click, or two people at once, is answered once.

    >>> clicks = Clicks(StateStore(":memory:"))
    >>> clicks.first("C1:1700000000.000100|pam_choice_0|leader", user="U1")
    True
    >>> clicks.first("C1:1700000000.000100|pam_choice_0|leader", user="U2")
    False

The same mechanism as "Start checklist" (one checklist per answer): a row per button with a
unique key, inserted inside a write transaction, so of two workers (or two replicas on
PostgreSQL) answering two clicks at once exactly one inserts it. A click whose answer then
fails is `forget`-ten, so the next click is answered. Buttons that stay where they are (the
App Home's examples) are asked again on purpose now and then: for them a click counts as a
repeat only `within` seconds of the last.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime, timedelta

from bot.querylog.schema import utc_iso
from bot.querylog.state import StateStore, StateUnavailable

logger = logging.getLogger("pambot.state")


class Clicks:
    """First clicks in the state tables."""

    def __init__(self, store: StateStore) -> None:
        self.store = store

    def first(self, key: str, *, user: str | None, within: float | None = None) -> bool:
        """True if this is the first click of the button `key` (in the last `within` seconds,
        if given); it is now recorded. True as well when the file cannot be used: an answer
        twice is better than none."""
        now = datetime.now(UTC)
        since = utc_iso(now - timedelta(seconds=within)) if within is not None else ""
        try:
            with self.store.writing() as db:
                inserted = db.execute(
                    "INSERT INTO clicks (key, ts, \"user\") VALUES (?, ?, ?) ON CONFLICT (key) DO "
                    "UPDATE SET ts = excluded.ts, \"user\" = excluded.\"user\" "
                    "WHERE clicks.ts < ?",
                    [_digest(key), utc_iso(now), user, since],
                ).rowcount
        except StateUnavailable:
            return True
        return inserted == 1

    def forget(self, key: str) -> None:
        """The click of `key` was not answered after all: the next one will be."""
        try:
            with self.store.writing() as db:
                db.execute("DELETE FROM clicks WHERE key = ?", [_digest(key)])
        except StateUnavailable:
            logger.warning("could not forget a click whose answer failed; the button may need "
                           "a day before it answers again")


def _digest(key: str) -> str:
    """A short fixed-size key: button values run to 2,000 characters."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
