"""The conversation state pambot shares between its workers, in the query log's file.

Six tables, created here and nowhere else, beside the query log's own (and outside its
versioned schema, which they do not touch):

    threads        what each thread pambot answers in has established (kept 24 hours)
    query_links    which question a button click or a thread reply answered
    runbooks       the checklists started from answers, one row each
    runbook_ticks  every tick and untick of a checklist step, one row each
    clicks         the first click of each answering button (kept a day)
    learned        the phrases a site taught pambot, with who and when (kept until forgotten)

Unlike the query log's rows, which a background writer inserts when it can, these are read
and written on the answer's path: a reply must see the question it answers, a tick must see
the ticks before it. Every call is short and waits at most `BUSY_TIMEOUT_S` for a lock.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from bot.querylog.schema import close_quietly, utc_iso, write_transaction

if TYPE_CHECKING:
    from sqlite_utils import Database

logger = logging.getLogger("pambot.state")

# On the answer's path: Slack wants its answer within 3 seconds.
BUSY_TIMEOUT_S = 1.0
# Expired threads and old checklists are deleted at most this often.
PRUNE_EVERY_S = 3600.0
# A button clicked again after this long is answered again.
CLICK_KEEP = timedelta(days=1)


def prune_state(db: Database, before: str) -> int:
    """Delete the checklists started before `before` (with their ticks) and the links between
    questions made before it; return how many checklists went. A file whose state tables
    were never created (no Slack thread yet) has nothing to delete."""
    if not db["runbooks"].exists():
        return 0
    db.execute("DELETE FROM runbook_ticks WHERE runbook_id IN "
               "(SELECT id FROM runbooks WHERE started < ?)", [before])
    checklists = db.execute("DELETE FROM runbooks WHERE started < ?", [before]).rowcount
    db.execute("DELETE FROM query_links WHERE ts < ?", [before])
    return checklists


class StateUnavailable(Exception):
    """The state tables cannot be read or written right now; the message says why."""


def create_tables(db: Database) -> None:
    """The state tables and their indexes, where missing."""
    db.create_table(
        "threads",
        {"channel": str, "thread_ts": str, "team": str, "context": str, "query_id": str,
         "updated": str, "expires": str},
        pk=("channel", "thread_ts"), not_null=["context", "updated", "expires"],
        if_not_exists=True,
    )
    db["threads"].create_index(["expires"], if_not_exists=True)
    db.create_table(
        "query_links",
        {"query_id": str, "parent_id": str, "how": str, "ts": str},
        pk="query_id", not_null=["parent_id", "how", "ts"], if_not_exists=True,
    )
    db["query_links"].create_index(["parent_id"], if_not_exists=True)
    db["query_links"].create_index(["ts"], if_not_exists=True)
    db.create_table(
        "runbooks",
        {"id": str, "started": str, "team": str, "channel": str, "thread_ts": str,
         "answer_ts": str, "item": int, "message_ts": str, "question": str, "rule": str,
         "title": str, "source": str, "source_url": str, "steps": str, "started_by": str},
        pk="id", not_null=["started", "channel", "answer_ts", "item", "question", "steps"],
        if_not_exists=True,
    )
    # One checklist per answer: a double click, or two people at once, start one.
    db["runbooks"].create_index(["channel", "answer_ts", "item"], unique=True,
                                if_not_exists=True)
    db["runbooks"].create_index(["started"], if_not_exists=True)
    db.create_table(
        "runbook_ticks",
        {"id": int, "runbook_id": str, "ts": str, "channel": str, "thread_ts": str,
         "step": int, "user": str, "ticked": int},
        pk="id", not_null=["runbook_id", "ts", "step", "ticked"],
        foreign_keys=[("runbook_id", "runbooks", "id")], if_not_exists=True,
    )
    db["runbook_ticks"].create_index(["runbook_id", "id"], if_not_exists=True)
    # One row per answering button: a double click, or two people at once, get one answer.
    db.create_table("clicks", {"key": str, "ts": str, "user": str}, pk="key",
                    not_null=["ts"], if_not_exists=True)
    db["clicks"].create_index(["ts"], if_not_exists=True)
    # The phrases a site taught pambot (bot.querylog.learned): kept until forgotten.
    db.create_table("learned", {"phrase": str, "meaning": str, "who": str, "ts": str},
                    pk="phrase", not_null=["meaning", "ts"], if_not_exists=True)


class StateStore:
    """One connection to the state tables in the SQLite file at `path`, shared by threads.

    `retention_days` (None: keep everything) bounds how long checklists and links are kept,
    as the query log's retention bounds queries.
    """

    def __init__(self, path: str | os.PathLike, *, retention_days: int | None = None) -> None:
        self.path = os.fspath(path)
        self.retention_days = retention_days
        self._lock = threading.Lock()
        self._db: Database | None = None
        self._next_prune = 0.0
        self._outage = False

    @contextmanager
    def writing(self) -> Iterator[Database]:
        """The database inside one write transaction; StateUnavailable if it cannot be had."""
        with self._lock, self._failures():
            db = self._open()
            with write_transaction(db.conn):
                yield db

    @contextmanager
    def reading(self) -> Iterator[Database]:
        """The database for reads; StateUnavailable if it cannot be opened or read."""
        with self._lock, self._failures():
            yield self._open()

    def close(self) -> None:
        with self._lock:
            close_quietly(self._db, self.path)
            self._db = None

    def _open(self) -> Database:
        if self._db is None:
            from sqlite_utils import Database  # not at the top: see schema.connect

            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            db = Database(sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S,
                                          check_same_thread=False))
            try:
                db.enable_wal()
                with write_transaction(db.conn):
                    create_tables(db)
            except BaseException:
                close_quietly(db, self.path)
                raise
            self._db = db
        if time.monotonic() >= self._next_prune:
            self._next_prune = time.monotonic() + PRUNE_EVERY_S
            self._prune(self._db)
        return self._db

    def _prune(self, db: Database) -> None:
        now = datetime.now(UTC)
        with write_transaction(db.conn):
            threads = db.execute("DELETE FROM threads WHERE expires < ?", [utc_iso(now)]).rowcount
            db.execute("DELETE FROM clicks WHERE ts < ?", [utc_iso(now - CLICK_KEEP)])
            if self.retention_days is not None:
                prune_state(db, utc_iso(now - timedelta(days=self.retention_days)))
        logger.debug("state %s: forgot %d expired threads", self.path, threads)

    @contextmanager
    def _failures(self) -> Iterator[None]:
        """sqlite3 and file errors as StateUnavailable, logged once per outage."""
        try:
            yield
        except (sqlite3.Error, OSError) as exc:
            close_quietly(self._db, self.path)
            self._db = None
            if not self._outage:
                self._outage = True
                logger.warning("conversation state in %s cannot be used (%s: %s)",
                               self.path, type(exc).__name__, exc)
            raise StateUnavailable(f"{type(exc).__name__}: {exc}") from exc
        if self._outage:
            self._outage = False
            logger.info("conversation state in %s works again", self.path)
