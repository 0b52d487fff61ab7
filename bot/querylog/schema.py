"""The query log's file: connecting, the versioned schema and its migrations, ids, timestamps.

A pambot log is marked with `PRAGMA application_id` and versioned with `PRAGMA user_version`.
`MIGRATIONS[n]` brings a file from version n - 1 to n; version 1 creates the schema. A file
written before the first release (no application id, versions 1 to 3) is converted to
version 1 in place, its rows kept. To change the schema, add a step: never edit a released
one, so every old file takes the same path.

Version 1, measured with bench/bench_querylog.py: `queries` has an integer key and three
indexes (time; the counts `log stats` shows; the unanswered questions, partial), so a row
costs about 11 µs to write, a fifth of what a text key and seven indexes did, and `log
stats` over a million rows takes about 0.2 s.
"""

from __future__ import annotations

import logging
import os
import random
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlite_utils import Database

logger = logging.getLogger("pambot.querylog")

APPLICATION_ID = 0x70616D62  # "pamb"
# The writer is off the answer's path, so it can afford to wait for another process's write.
BUSY_TIMEOUT_S = 5.0
# Outcomes the stats call "unanswered": the bot fell back to the support prompt or understood
# nothing. The partial index covers exactly these.
UNANSWERED_OUTCOMES = ("support", "unknown")
# As SQL text, not bound parameters: only then can SQLite see that a query's WHERE matches the
# partial index's. Our own constants, never user input.
UNANSWERED_WHERE = "outcome IN ({})".format(", ".join(f"'{o}'" for o in UNANSWERED_OUTCOMES))
UNANSWERED_INDEX = "idx_queries_unanswered"
COUNTS_INDEX = "idx_queries_counts"
QUERY_COLUMNS = (
    "id", "ts", "source", "team", "channel", "user", "thread_ts", "event_id", "text", "intent",
    "from_version", "to_version", "node", "rule", "outcome", "verdict", "elapsed_ms",
    "rules_version", "typed",
)
FEEDBACK_COLUMNS = ("query_id", "ts", "helpful", "user", "team", "channel")


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


# Query ids: milliseconds since 2026 in the high bits, 22 random bits below, so a new row goes
# to the end of the table (random keys cost 3-4 times as much per row on a large log), the id
# is known before the row is written (Slack's buttons carry it) and processes sharing a file
# do not collide. Within a process ids only increase.
_ID_EPOCH_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
_id_lock = threading.Lock()
_last_id = 0


def new_id() -> int:
    """A new query id (a positive 63-bit integer)."""
    global _last_id
    stamp = (time.time_ns() // 1_000_000 - _ID_EPOCH_MS) << 22 | random.getrandbits(22)
    with _id_lock:
        _last_id = max(_last_id + 1, stamp)
        return _last_id


_SURROGATE = re.compile("[\ud800-\udfff]")


def storable(text: str) -> str:
    """`text` with any lone surrogate (from `\\ud800` in JSON, or bytes that are not UTF-8 in
    a command-line argument) replaced by U+FFFD, so SQLite can store it.

    >>> storable("upgrade \\udcff6.5.4")
    'upgrade \\ufffd6.5.4'
    """
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text)
    return text


def _version_1(db: Database) -> None:
    """Queries, the votes on them, and the Slack event claims that dedupe retries."""
    db.create_table(
        "queries",
        {"id": int, "ts": str, "source": str, "team": str, "channel": str, "user": str,
         "thread_ts": str, "event_id": str, "text": str, "intent": str, "from_version": str,
         "to_version": str, "node": str, "rule": str, "outcome": str, "verdict": str,
         "elapsed_ms": float},
        pk="id",
        not_null=["ts", "source", "text", "outcome"],
    )
    db["queries"].create_index(["ts"])
    # Covers `log stats`' counts: one scan in group order, no sort.
    db["queries"].create_index(["intent", "outcome", "rule", "ts"], index_name=COUNTS_INDEX)
    db.execute(
        f"CREATE INDEX {UNANSWERED_INDEX} ON queries (lower(trim(text)), ts) "
        "WHERE outcome IN ('support', 'unknown')"  # a released step: never derive it
    )
    db.create_table(
        "feedback",
        {"id": int, "query_id": int, "ts": str, "helpful": int, "user": str, "team": str,
         "channel": str},
        pk="id",
        not_null=["ts", "helpful"],
        foreign_keys=[("query_id", "queries", "id")],
    )
    db["feedback"].create_index(["query_id"])
    db["feedback"].create_index(["ts"])
    db.create_table("events", {"event_id": str, "ts": str, "state": str}, pk="event_id",
                    not_null=["ts", "state"])
    db["events"].create_index(["ts"])


def _from_prerelease(db: Database) -> None:
    """A file from before the first release (text ids, seven indexes) to version 1, rows kept.

    Old rows keep their order; their new ids are their old row numbers (far below any new
    id). Votes follow their query.
    """
    old = {name: f"_old_{name}" for name in ("queries", "feedback", "events")
           if db[name].exists()}
    for name, renamed in old.items():
        db.execute(f"ALTER TABLE {name} RENAME TO {renamed}")
        for index in db[renamed].indexes:
            if not index.name.startswith("sqlite_autoindex"):
                db.execute(f'DROP INDEX "{index.name}"')
    _version_1(db)
    if "queries" in old:
        columns = [c for c in QUERY_COLUMNS[1:] if c in db["_old_queries"].columns_dict]
        names = ", ".join(f'"{c}"' for c in columns)
        db.execute(f"INSERT INTO queries (id, {names}) SELECT rowid, {names} "
                   "FROM _old_queries ORDER BY rowid")
    if "feedback" in old:
        lookup = ("(SELECT q.rowid FROM _old_queries q WHERE q.id = f.query_id)"
                  if "queries" in old else "NULL")
        db.execute("INSERT INTO feedback (query_id, ts, helpful, user, team, channel) "
                   f"SELECT {lookup}, f.ts, f.helpful, f.user, f.team, f.channel "
                   "FROM _old_feedback f ORDER BY f.rowid")
    if "events" in old:
        db.execute("INSERT INTO events SELECT event_id, ts, state FROM _old_events")
    for renamed in old.values():
        db.execute(f"DROP TABLE {renamed}")


def _version_2(db: Database) -> None:
    """Each query's rule-set version (a content hash of the rule files), so an answer can be
    traced to the rules that gave it; older rows have none."""
    db.execute("ALTER TABLE queries ADD COLUMN rules_version TEXT")


def _version_3(db: Database) -> None:
    """What the person typed, beside the question it stood for (`text`), when the two
    differ: a choice's number ("2") or label, a reply read in its thread ("the leader").
    Older rows have none, and their `text` is what was typed."""
    db.execute("ALTER TABLE queries ADD COLUMN typed TEXT")


MIGRATIONS: dict[int, Callable[[Database], None]] = {1: _version_1, 2: _version_2,
                                                     3: _version_3}
SCHEMA_VERSION = max(MIGRATIONS)


def schema_version(db: Database | sqlite3.Connection) -> int:
    """The schema version recorded in the file (0 for a file pambot never opened)."""
    return db.execute("PRAGMA user_version").fetchone()[0]


def _application_id(db: Database | sqlite3.Connection) -> int:
    return db.execute("PRAGMA application_id").fetchone()[0]


@contextmanager
def write_transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A transaction on `conn` (a sqlite-utils `Database`'s is `db.conn`) that takes the write
    lock up front, waiting up to the busy timeout.

    A deferred `BEGIN` that reads first can fail at once, without waiting, when another
    process commits in between; `BEGIN IMMEDIATE` cannot.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.commit()
    except BaseException:
        conn.rollback()
        raise


def migrate(db: Database) -> int:
    """Bring the file up to SCHEMA_VERSION; return the version it had before (0: new file).

    Re-reads the version inside the write transaction, so two processes starting on a fresh
    file at once cannot both apply a step.
    """
    if _application_id(db) == APPLICATION_ID and schema_version(db) >= SCHEMA_VERSION:
        return schema_version(db)
    with write_transaction(db.conn):
        found = schema_version(db)
        if _application_id(db) == APPLICATION_ID:
            first = found + 1
        else:
            # A new file, one with only tables of its own, or one from before the release.
            found, first = 0, 1
            if db["queries"].exists():
                _from_prerelease(db)
                first = 2
            db.execute(f"PRAGMA application_id = {APPLICATION_ID:d}")
        for version in range(first, SCHEMA_VERSION + 1):
            MIGRATIONS[version](db)
        # PRAGMA takes no parameters; the value is our own integer.
        db.execute(f"PRAGMA user_version = {max(found, SCHEMA_VERSION):d}")
    return found


def open_log(path: str | os.PathLike, *,
             busy_timeout: float = BUSY_TIMEOUT_S) -> sqlite3.Connection:
    """Open (creating if needed) the log at `path` in WAL mode with its schema up to date, as a
    plain sqlite3 connection: all the query log's writer needs. sqlite-utils (a tenth of a
    second to import, bench/bench_ask.py) is loaded only to create or migrate the schema."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=busy_timeout, check_same_thread=False,
                           isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        # Safe in WAL mode: a crash of the process loses nothing, a power cut at most the last
        # commits; it spares an fsync on every batch.
        conn.execute("PRAGMA synchronous = NORMAL")
        found = schema_version(conn)
        if _application_id(conn) != APPLICATION_ID or found < SCHEMA_VERSION:
            from sqlite_utils import Database

            found = migrate(Database(conn))
    except BaseException:
        close_quietly(conn, os.fspath(path))
        raise
    if found < SCHEMA_VERSION:
        logger.info("query log %s: schema version %d (was %d)", path, SCHEMA_VERSION, found)
    if found > SCHEMA_VERSION:
        logger.warning("query log %s has schema version %d, newer than this pambot's %d; "
                       "writing to it anyway", path, found, SCHEMA_VERSION)
    return conn


def connect(path: str | os.PathLike, *, busy_timeout: float = BUSY_TIMEOUT_S) -> Database:
    """`open_log` as a sqlite-utils `Database`."""
    from sqlite_utils import Database

    return Database(open_log(path, busy_timeout=busy_timeout))


def file_id(path: str | os.PathLike) -> tuple[int, int] | None:
    """(device, inode) of the file at `path`, or None if there is none: tells a log file that
    was deleted or replaced from the one a connection still has open."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


def prune_events(db: Database | sqlite3.Connection, before: str) -> int:
    return db.execute("DELETE FROM events WHERE ts < ?", [before]).rowcount


def prune_queries(db: Database | sqlite3.Connection, before: str) -> tuple[int, int]:
    feedback = db.execute(
        "DELETE FROM feedback WHERE ts < ? OR query_id IN (SELECT id FROM queries WHERE ts < ?)",
        [before, before],
    ).rowcount
    queries = db.execute("DELETE FROM queries WHERE ts < ?", [before]).rowcount
    return queries, feedback


def close_quietly(db: Database | sqlite3.Connection | None, path: str) -> None:
    """Close `db` if open; an error closing a connection we are giving up on is only logged."""
    if db is None:
        return
    try:
        db.close()
    except sqlite3.Error:
        logger.debug("query log %s: error closing", path, exc_info=True)
