"""What each Slack thread (or DM) pambot answers in has established, for every worker.

    >>> threads = Threads(StateStore(":memory:"), hours=24)
    >>> threads.remember("C123", "1700000000.000100", {"intent": "restore"}, query_id="q1")
    True
    >>> threads.recall("C123", "1700000000.000100").context
    {'intent': 'restore'}

A thread is remembered for `hours` after pambot last answered in it. The context itself is
the rules engine's business (`rules.context.Context.to_dict`); here it is JSON. Nothing
here raises: a thread that cannot be recalled is a thread pambot knows nothing about, and
pambot then answers only what is asked of it directly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.querylog.schema import utc_iso
from bot.querylog.state import StateStore, StateUnavailable

DEFAULT_HOURS = 24
# A DM outside a thread is one conversation: its key has no thread timestamp.
NO_THREAD = ""


@dataclass(frozen=True)
class Thread:
    """A remembered thread: its context, and the query whose answer pambot gave last."""

    context: dict
    query_id: str | None


class Threads:
    """Thread memory in the state tables."""

    def __init__(self, store: StateStore, *, hours: int = DEFAULT_HOURS) -> None:
        self.store = store
        self.keep = timedelta(hours=hours)

    def recall(self, channel: str, thread_ts: str | None) -> Thread | None:
        """The thread's memory, or None (never seen, expired, or the file is unusable)."""
        try:
            with self.store.reading() as db:
                row = db.execute(
                    "SELECT context, query_id FROM threads WHERE channel = ? AND thread_ts = ? "
                    "AND expires > ?", [channel, thread_ts or NO_THREAD, _now()],
                ).fetchone()
        except StateUnavailable:
            return None
        if row is None:
            return None
        try:
            context = json.loads(row[0])
        except (TypeError, ValueError):
            return None
        return Thread(context if isinstance(context, dict) else {}, row[1])

    def remember(self, channel: str, thread_ts: str | None, context: dict, *,
                 query_id: str | None, team: str | None = None) -> bool:
        """Keep `context` for the thread, for `hours` from now; False if it could not be."""
        now = datetime.now(UTC)
        try:
            with self.store.writing() as db:
                db.execute(
                    "INSERT INTO threads (channel, thread_ts, team, context, query_id, updated, "
                    "expires) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (channel, thread_ts) DO "
                    "UPDATE SET context = excluded.context, query_id = excluded.query_id, "
                    "updated = excluded.updated, expires = excluded.expires",
                    [channel, thread_ts or NO_THREAD, team, json.dumps(context),
                     query_id, utc_iso(now), utc_iso(now + self.keep)],
                )
        except StateUnavailable:
            return False
        return True

    def link(self, query_id: str | None, parent_id: str | None, how: str) -> bool:
        """Record that the query `query_id` answered `parent_id`'s question (a click, a reply).

        `how`: "choice", "suggestion", "reply", "example"... False if it could not be kept.
        """
        if not query_id or not parent_id:
            return False
        try:
            with self.store.writing() as db:
                db.execute(
                    "INSERT INTO query_links (query_id, parent_id, how, ts) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (query_id) DO NOTHING", [query_id, parent_id, how, _now()],
                )
        except StateUnavailable:
            return False
        return True


def _now() -> str:
    return utc_iso(datetime.now(UTC))
