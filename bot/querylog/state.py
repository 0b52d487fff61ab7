"""The conversation state pambot shares between its workers (and, on PostgreSQL, its
replicas), beside the query log.

Six tables, declared in STATE_TABLES and nowhere else, beside the query log's own (and
outside its versioned schema, which they do not touch):

    threads        what each thread pambot answers in has established (kept 24 hours)
    query_links    which question a button click or a thread reply answered
    runbooks       the checklists started from answers, one row each
    runbook_ticks  every tick and untick of a checklist step, one row each
    clicks         the first click of each answering button (kept a day)
    learned        the phrases a site taught pambot, with who and when (kept until forgotten)

A new table is one more `Table` in STATE_TABLES: every `StateStore` creates what is missing,
on either backend, when it first opens the database; its SQL goes through `reading()` and
`writing()` like the others'.

Unlike the query log's rows, which a background writer inserts when it can, these are read
and written on the answer's path: a reply must see the question it answers, a tick must see
the ticks before it. Every call is short and waits at most `BUSY_TIMEOUT_S` for a lock (on
PostgreSQL, `store.POOL_WAIT_S` for a connection or a lock).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.querylog import store
from bot.querylog.schema import utc_iso
from bot.querylog.store import SQLITE, Connection, Index, Table, close_quietly, is_postgres, shown

logger = logging.getLogger("pambot.state")

# On the answer's path: Slack wants its answer within 3 seconds.
BUSY_TIMEOUT_S = 1.0
# Expired threads and old checklists are deleted at most this often.
PRUNE_EVERY_S = 3600.0
# A button clicked again after this long is answered again.
CLICK_KEEP = timedelta(days=1)

STATE_TABLES: list[Table] = [
    Table("threads",
          {"channel": str, "thread_ts": str, "team": str, "context": str, "query_id": str,
           "updated": str, "expires": str},
          pk=("channel", "thread_ts"), not_null=("context", "updated", "expires"),
          indexes=(Index(("expires",)),)),
    Table("query_links", {"query_id": str, "parent_id": str, "how": str, "ts": str},
          pk="query_id", not_null=("parent_id", "how", "ts"),
          indexes=(Index(("parent_id",)), Index(("ts",)))),
    Table("runbooks",
          {"id": str, "started": str, "team": str, "channel": str, "thread_ts": str,
           "answer_ts": str, "item": int, "message_ts": str, "question": str, "rule": str,
           "title": str, "source": str, "source_url": str, "steps": str, "started_by": str},
          pk="id", not_null=("started", "channel", "answer_ts", "item", "question", "steps"),
          # One checklist per answer: a double click, or two people at once, start one.
          indexes=(Index(("channel", "answer_ts", "item"), unique=True), Index(("started",)))),
    Table("runbook_ticks",
          {"id": int, "runbook_id": str, "ts": str, "channel": str, "thread_ts": str,
           "step": int, "user": str, "ticked": int},
          pk="id", not_null=("runbook_id", "ts", "step", "ticked"),
          foreign_keys=(("runbook_id", "runbooks", "id"),),
          indexes=(Index(("runbook_id", "id")),)),
    # One row per answering button: a double click, or two people at once, get one answer.
    Table("clicks", {"key": str, "ts": str, "user": str}, pk="key", not_null=("ts",),
          indexes=(Index(("ts",)),)),
    # The phrases a site taught pambot (bot.querylog.learned): kept until forgotten.
    Table("learned", {"phrase": str, "meaning": str, "who": str, "ts": str}, pk="phrase",
          not_null=("meaning", "ts")),
]


def prune_state(db: Connection, before: str) -> int:
    """Delete the checklists started before `before` (with their ticks) and the links between
    questions made before it; return how many checklists went. A database whose state tables
    were never created (no Slack thread yet) has nothing to delete."""
    if not db.table_exists("runbooks"):
        return 0
    db.execute("DELETE FROM runbook_ticks WHERE runbook_id IN "
               "(SELECT id FROM runbooks WHERE started < ?)", [before])
    checklists = db.execute("DELETE FROM runbooks WHERE started < ?", [before]).rowcount
    db.execute("DELETE FROM query_links WHERE ts < ?", [before])
    return checklists


class StateUnavailable(Exception):
    """The state tables cannot be read or written right now; the message says why."""


def create_tables(db: Connection) -> None:
    """The state tables and their indexes, where missing. Inside a write transaction."""
    db.lock_schema()
    for table in STATE_TABLES:
        table.create(db, if_not_exists=True)


class StateStore:
    """The state tables in the database at `path` (a SQLite file, or a PostgreSQL URL),
    shared by threads: one connection to a file, the process's pool for PostgreSQL.

    `retention_days` (None: keep everything) bounds how long checklists and links are kept,
    as the query log's retention bounds queries.
    """

    def __init__(self, path: str | os.PathLike, *, retention_days: int | None = None) -> None:
        self.path = os.fspath(path)
        self.retention_days = retention_days
        self._lock = threading.Lock()
        self._db: Connection | None = None
        self._pool: store.Pool | None = None
        self._created = False
        self._next_prune = 0.0
        self._outage = False

    @contextmanager
    def writing(self) -> Iterator[Connection]:
        """The database inside one write transaction; StateUnavailable if it cannot be had."""
        with self._failures(), self._connection() as db, db.transaction():
            yield db

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """The database for reads; StateUnavailable if it cannot be opened or read."""
        with self._failures(), self._connection() as db:
            yield db

    def close(self) -> None:
        with self._lock:
            close_quietly(self._db, self.path)
            self._db = None
            if self._pool is not None:
                store.release(self._pool)
                self._pool = None

    @contextmanager
    def _connection(self) -> Iterator[Connection]:
        if is_postgres(self.path):
            if self._pool is None:
                with self._lock:
                    if self._pool is None:
                        self._pool = store.pool(self.path)
            with self._pool.connection() as db:
                self._prepare(db)
                yield db
            return
        with self._lock:
            if self._db is None:
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
                db = Connection(sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S,
                                                check_same_thread=False, isolation_level=None),
                                SQLITE, self.path)
                try:
                    db.execute("PRAGMA journal_mode = WAL")
                    self._created = False
                    self._prepare(db)
                except BaseException:
                    close_quietly(db, self.path)
                    raise
                self._db = db
            else:
                self._prepare(self._db)
            yield self._db

    def _prepare(self, db: Connection) -> None:
        """Create the tables the first time, and prune now and then."""
        if not self._created:
            with db.transaction():
                create_tables(db)
            self._created = True
        if time.monotonic() >= self._next_prune:
            self._next_prune = time.monotonic() + PRUNE_EVERY_S
            self._prune(db)

    def _prune(self, db: Connection) -> None:
        now = datetime.now(UTC)
        with db.transaction():
            threads = db.execute("DELETE FROM threads WHERE expires < ?", [utc_iso(now)]).rowcount
            db.execute("DELETE FROM clicks WHERE ts < ?", [utc_iso(now - CLICK_KEEP)])
            if self.retention_days is not None:
                prune_state(db, utc_iso(now - timedelta(days=self.retention_days)))
        logger.debug("state %s: forgot %d expired threads", shown(self.path), threads)

    @contextmanager
    def _failures(self) -> Iterator[None]:
        """Database and file errors as StateUnavailable, logged once per outage."""
        try:
            yield
        except store.failures() as exc:
            if not is_postgres(self.path):
                with contextlib.suppress(Exception):
                    self.close()
            if not self._outage:
                self._outage = True
                logger.warning("conversation state in %s cannot be used (%s); answers go on "
                               "without it", shown(self.path), store.described(exc))
            raise StateUnavailable(store.described(exc)) from exc
        if self._outage:
            self._outage = False
            logger.info("conversation state in %s works again", shown(self.path))
