"""The query log's file: connecting, the versioned schema and its migrations, timestamps.

The version lives in `PRAGMA user_version`. MIGRATIONS[n] upgrades a file from version n - 1
to n. Never edit a released step: add a new one, so every old file takes the same path.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlite_utils import Database

logger = logging.getLogger("pambot.querylog")

# The writer is off the answer's path, so it can afford to wait for another process's write.
BUSY_TIMEOUT_S = 5.0
# Outcomes the stats call "unanswered": the bot fell back to the support prompt or understood
# nothing. Migration 3 indexes exactly these.
UNANSWERED_OUTCOMES = ("support", "unknown")
# As SQL text, not bound parameters: only then can SQLite see that a query's WHERE matches the
# partial index's. Our own constants, never user input.
UNANSWERED_WHERE = "outcome IN ({})".format(", ".join(f"'{o}'" for o in UNANSWERED_OUTCOMES))
UNANSWERED_INDEX = "idx_queries_unanswered"


def utc_iso(moment: datetime) -> str:
    """A timestamp as the log stores it: UTC, ISO 8601, milliseconds, sortable as text.

    >>> utc_iso(datetime(2026, 11, 25, 9, 30, tzinfo=UTC))
    '2026-11-25T09:30:00.000Z'
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def now_iso() -> str:
    return utc_iso(datetime.now(UTC))




def _schema_v1(db: Database) -> None:
    """Queries and the votes on them."""
    db.create_table(
        "queries",
        {
            "id": str,
            "ts": str,
            "source": str,
            "team": str,
            "channel": str,
            "user": str,
            "thread_ts": str,
            "text": str,
            "intent": str,
            "from_version": str,
            "to_version": str,
            "node": str,
            "rule": str,
            "outcome": str,
            "verdict": str,
            "elapsed_ms": float,
        },
        pk="id",
        not_null=["ts", "source", "text", "outcome"],
        if_not_exists=True,
    )
    db["queries"].create_index(["ts"], if_not_exists=True)
    # (column, ts): each count in `summarize` is one scan of one small covering index.
    for column in ("intent", "outcome", "rule"):
        db["queries"].create_index([column, "ts"], if_not_exists=True)
    db.create_table(
        "feedback",
        {
            "id": str,
            "query_id": str,
            "ts": str,
            "helpful": int,
            "user": str,
            "team": str,
            "channel": str,
        },
        pk="id",
        not_null=["query_id", "ts", "helpful"],
        foreign_keys=[("query_id", "queries", "id")],
        if_not_exists=True,
    )
    for column in ("query_id", "ts"):
        db["feedback"].create_index([column], if_not_exists=True)


def _schema_v2(db: Database) -> None:
    """Slack event ids: on each query, and the cross-process claims that dedupe Slack retries."""
    if "event_id" not in db["queries"].columns_dict:
        db["queries"].add_column("event_id", str)
    db["queries"].create_index(["event_id"], if_not_exists=True)
    db.create_table(
        "events",
        {"event_id": str, "ts": str, "state": str},
        pk="event_id",
        not_null=["ts", "state"],
        if_not_exists=True,
    )
    db["events"].create_index(["ts"], if_not_exists=True)


def _schema_v3(db: Database) -> None:
    """The unanswered questions, grouped as `log stats` groups them, in a small partial index.

    Without it, the top unanswered questions over a large log are a sort of every matching
    row. `read` names it only while its WHERE is still UNANSWERED_WHERE.
    """
    db.execute(
        f"CREATE INDEX IF NOT EXISTS {UNANSWERED_INDEX} ON queries (lower(trim(text)), ts) "
        "WHERE outcome IN ('support', 'unknown')"  # a released step: never derive it
    )


MIGRATIONS: dict[int, Callable[[Database], None]] = {
    1: _schema_v1, 2: _schema_v2, 3: _schema_v3,
}
SCHEMA_VERSION = max(MIGRATIONS)


def schema_version(db: Database) -> int:
    """The schema version recorded in the file (0 for a file pambot never opened)."""
    return db.execute("PRAGMA user_version").fetchone()[0]


@contextmanager
def write_transaction(db: Database) -> Iterator[Database]:
    """A transaction that takes the write lock up front, waiting up to the busy timeout.

    A deferred `BEGIN` that reads first can fail at once, without waiting, when another
    process commits in between; `BEGIN IMMEDIATE` cannot.
    """
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
        db.commit()
    except BaseException:
        db.rollback()
        raise


def migrate(db: Database) -> int:
    """Bring the file up to `SCHEMA_VERSION`; return the version it had before.

    Re-reads the version inside the write transaction, so two processes starting on a fresh
    file at once cannot both apply a step.
    """
    found = schema_version(db)
    if found >= SCHEMA_VERSION:
        return found
    with write_transaction(db):
        found = schema_version(db)
        for version in range(found + 1, SCHEMA_VERSION + 1):
            MIGRATIONS[version](db)
        # PRAGMA takes no parameters; the value is our own integer.
        db.execute(f"PRAGMA user_version = {max(found, SCHEMA_VERSION):d}")
    return found


def connect(path: str | os.PathLike, *, busy_timeout: float = BUSY_TIMEOUT_S) -> Database:
    """Open (creating if needed) the log at `path` in WAL mode with its schema up to date."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    db = Database(sqlite3.connect(path, timeout=busy_timeout, check_same_thread=False))
    try:
        db.enable_wal()
        # Safe in WAL mode: a crash of the process loses nothing, a power cut at most the last
        # commits; it spares an fsync on every batch.
        db.execute("PRAGMA synchronous = NORMAL")
        found = migrate(db)
    except BaseException:
        db.close()
        raise
    if found < SCHEMA_VERSION:
        logger.info("query log %s: schema upgraded from version %d to %d",
                    path, found, SCHEMA_VERSION)
    if schema_version(db) > SCHEMA_VERSION:
        logger.warning("query log %s has schema version %d, newer than this pambot's %d; "
                       "writing to it anyway", path, schema_version(db), SCHEMA_VERSION)
    return db


def prune_events(db: Database, before: str) -> int:
    return db.execute("DELETE FROM events WHERE ts < ?", [before]).rowcount


def prune_queries(db: Database, before: str) -> tuple[int, int]:
    feedback = db.execute(
        "DELETE FROM feedback WHERE ts < ? OR query_id IN (SELECT id FROM queries WHERE ts < ?)",
        [before, before],
    ).rowcount
    queries = db.execute("DELETE FROM queries WHERE ts < ?", [before]).rowcount
    return queries, feedback


def close_quietly(db: Database | None, path: str) -> None:
    """Close `db` if open; an error closing a connection we are giving up on is only logged."""
    if db is None:
        return
    try:
        db.close()
    except sqlite3.Error:
        logger.debug("query log %s: error closing", path, exc_info=True)
