"""The query log's database: connecting, the versioned schema and its migrations, ids,
timestamps.

One schema and one history for both backends (bot.querylog.store). `MIGRATIONS[n]` brings a
database from version n - 1 to n; version 1 creates the schema. A SQLite file is marked with
`PRAGMA application_id` and versioned with `PRAGMA user_version`; a PostgreSQL database keeps
its version in the table `pambot_schema`. A file written before the first release (no
application id, versions 1 to 3) is converted to version 1 in place, its rows kept. To change
the schema, add a step written once for both (a `Table`, or SQL both accept): never edit a
released one, so every old database takes the same path.

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
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bot.querylog.store import (
    SQLITE,
    Connection,
    Index,
    Table,
    close_quietly,
    is_postgres,
    pg_connect,
    shown,
)

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
    a command-line argument) replaced by U+FFFD, so the database can store it.

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


QUERIES = Table(
    "queries",
    {"id": int, "ts": str, "source": str, "team": str, "channel": str, "user": str,
     "thread_ts": str, "event_id": str, "text": str, "intent": str, "from_version": str,
     "to_version": str, "node": str, "rule": str, "outcome": str, "verdict": str,
     "elapsed_ms": float},
    pk="id", not_null=("ts", "source", "text", "outcome"),
    # Time; and covering `log stats`' counts: one scan in group order, no sort.
    indexes=(Index(("ts",)), Index(("intent", "outcome", "rule", "ts"), name=COUNTS_INDEX)),
)
FEEDBACK = Table(
    "feedback",
    {"id": int, "query_id": int, "ts": str, "helpful": int, "user": str, "team": str,
     "channel": str},
    pk="id", not_null=("ts", "helpful"), foreign_keys=(("query_id", "queries", "id"),),
    indexes=(Index(("query_id",)), Index(("ts",))),
)
EVENTS = Table("events", {"event_id": str, "ts": str, "state": str}, pk="event_id",
               not_null=("ts", "state"), indexes=(Index(("ts",)),))


def _version_1(db: Connection) -> None:
    """Queries, the votes on them, and the Slack event claims that dedupe retries."""
    QUERIES.create(db)
    db.execute(
        f"CREATE INDEX {UNANSWERED_INDEX} ON queries (lower(trim(text)), ts) "
        "WHERE outcome IN ('support', 'unknown')"  # a released step: never derive it
    )
    FEEDBACK.create(db)
    EVENTS.create(db)


def _from_prerelease(db: Connection) -> None:
    """A file from before the first release (text ids, seven indexes) to version 1, rows kept.

    Old rows keep their order; their new ids are their old row numbers (far below any new
    id). Votes follow their query. SQLite only: no PostgreSQL database predates the release.
    """
    from sqlite_utils import Database

    old = {name: f"_old_{name}" for name in ("queries", "feedback", "events")
           if db.table_exists(name)}
    for name, renamed in old.items():
        db.execute(f"ALTER TABLE {name} RENAME TO {renamed}")
        for index in Database(db.raw)[renamed].indexes:
            if not index.name.startswith("sqlite_autoindex"):
                db.execute(f'DROP INDEX "{index.name}"')
    _version_1(db)
    if "queries" in old:
        columns = [c for c in QUERY_COLUMNS[1:] if c in db.columns("_old_queries")]
        names = ", ".join(f'"{c}"' for c in columns)
        db.execute(f"INSERT INTO queries (id, {names}) SELECT rowid, {names} "
                   "FROM _old_queries ORDER BY rowid")
    if "feedback" in old:
        lookup = ("(SELECT q.rowid FROM _old_queries q WHERE q.id = f.query_id)"
                  if "queries" in old else "NULL")
        db.execute('INSERT INTO feedback (query_id, ts, helpful, "user", team, channel) '
                   f'SELECT {lookup}, f.ts, f.helpful, f."user", f.team, f.channel '
                   "FROM _old_feedback f ORDER BY f.rowid")
    if "events" in old:
        db.execute("INSERT INTO events SELECT event_id, ts, state FROM _old_events")
    for renamed in old.values():
        db.execute(f"DROP TABLE {renamed}")


def _version_2(db: Connection) -> None:
    """Each query's rule-set version (a content hash of the rule files), so an answer can be
    traced to the rules that gave it; older rows have none."""
    db.execute("ALTER TABLE queries ADD COLUMN rules_version TEXT")


def _version_3(db: Connection) -> None:
    """What the person typed, beside the question it stood for (`text`), when the two
    differ: a choice's number ("2") or label, a reply read in its thread ("the leader").
    Older rows have none, and their `text` is what was typed."""
    db.execute("ALTER TABLE queries ADD COLUMN typed TEXT")


# One history for both backends: a SQLite file records its version in `PRAGMA user_version`
# (marked as pambot's by `PRAGMA application_id`), a PostgreSQL database in the one row of
# VERSION_TABLE.
MIGRATIONS: dict[int, Callable[[Connection], None]] = {1: _version_1, 2: _version_2,
                                                       3: _version_3}
SCHEMA_VERSION = max(MIGRATIONS)
VERSION_TABLE = "pambot_schema"


def schema_version(db: Connection | sqlite3.Connection | Database) -> int:
    """The schema version recorded in the database (0 for one pambot never opened)."""
    if isinstance(db, Connection) and db.postgres:
        if not db.table_exists(VERSION_TABLE):
            return 0
        row = db.execute(f"SELECT max(version) FROM {VERSION_TABLE}").fetchone()
        return row[0] or 0
    return db.execute("PRAGMA user_version").fetchone()[0]


def _ours(db: Connection) -> bool:
    """True if pambot has marked the database as its own."""
    if db.postgres:
        return db.table_exists(VERSION_TABLE)
    return db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID


def _mark(db: Connection, version: int) -> None:
    if db.postgres:
        db.execute(f"CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (version BIGINT NOT NULL)")
        db.execute(f"DELETE FROM {VERSION_TABLE}")
        db.execute(f"INSERT INTO {VERSION_TABLE} (version) VALUES (?)", [version])
        return
    db.execute(f"PRAGMA application_id = {APPLICATION_ID:d}")
    # PRAGMA takes no parameters; the value is our own integer.
    db.execute(f"PRAGMA user_version = {version:d}")


def current(db: Connection) -> bool:
    """True if the database has this pambot's schema (or a newer one)."""
    return _ours(db) and schema_version(db) >= SCHEMA_VERSION


def migrate(db: Connection) -> int:
    """Bring the database up to SCHEMA_VERSION; return the version it had before (0: new).

    Re-reads the version inside the write transaction (holding the schema lock), so two
    processes starting on a fresh database at once cannot both apply a step.
    """
    if current(db):
        return schema_version(db)
    with db.transaction():
        db.lock_schema()
        found = schema_version(db)
        if _ours(db):
            first = found + 1
        else:
            # A new database, one with only tables of its own, or a file from before the
            # release.
            found, first = 0, 1
            if not db.postgres and db.table_exists("queries"):
                _from_prerelease(db)
                first = 2
        for version in range(first, SCHEMA_VERSION + 1):
            MIGRATIONS[version](db)
        _mark(db, max(found, SCHEMA_VERSION))
    return found


def open_log(target: str | os.PathLike, *, busy_timeout: float = BUSY_TIMEOUT_S) -> Connection:
    """Open (creating if needed) the log at `target`, a SQLite file (in WAL mode) or a
    PostgreSQL URL, with its schema up to date."""
    if is_postgres(target):
        db = pg_connect(str(target))
    else:
        path = Path(target)
        path.parent.mkdir(parents=True, exist_ok=True)
        db = Connection(sqlite3.connect(path, timeout=busy_timeout, check_same_thread=False,
                                        isolation_level=None), SQLITE, os.fspath(path))
    try:
        if not db.postgres:
            db.execute("PRAGMA journal_mode = WAL")
            # Safe in WAL mode: a crash of the process loses nothing, a power cut at most the
            # last commits; it spares an fsync on every batch.
            db.execute("PRAGMA synchronous = NORMAL")
        found = migrate(db)
    except BaseException:
        close_quietly(db, db.target)
        raise
    if found < SCHEMA_VERSION:
        logger.info("query log %s: schema version %d (was %d)", shown(target), SCHEMA_VERSION,
                    found)
    if found > SCHEMA_VERSION:
        logger.warning("query log %s has schema version %d, newer than this pambot's %d; "
                       "writing to it anyway", shown(target), found, SCHEMA_VERSION)
    return db


def connect(target: str | os.PathLike, *, busy_timeout: float = BUSY_TIMEOUT_S) -> Connection:
    """`open_log`: the log at `target`, its schema up to date."""
    return open_log(target, busy_timeout=busy_timeout)


def file_id(path: str | os.PathLike) -> tuple[int, int] | None:
    """(device, inode) of the file at `path`, or None if there is none: tells a log file that
    was deleted or replaced from the one a connection still has open."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


def prune_events(db: Connection, before: str) -> int:
    return db.execute("DELETE FROM events WHERE ts < ?", [before]).rowcount


def prune_queries(db: Connection, before: str) -> tuple[int, int]:
    feedback = db.execute(
        "DELETE FROM feedback WHERE ts < ? OR query_id IN (SELECT id FROM queries WHERE ts < ?)",
        [before, before],
    ).rowcount
    queries = db.execute("DELETE FROM queries WHERE ts < ?", [before]).rowcount
    return queries, feedback
