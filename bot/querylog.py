"""The query log: every question, answer and vote in one SQLite file, written off the answer's path.

    >>> log = QueryLog("pambot.db", retention_days=90)
    >>> query_id = log.record_query(answer, source="slash", elapsed_ms=3.2, user="U123")
    >>> log.record_feedback(query_id, helpful=False, user="U123")
    >>> log.close()

`QueryLog` hands rows to a background writer thread and returns at once; the writer inserts them
in batches, one transaction each. The file is in WAL mode with a busy timeout, so several worker
processes can share it. When the file cannot be written (bad path, locked, disk full, corrupt)
the bot keeps answering: the writer says so once in the log, keeps up to `max_pending` rows in
memory (dropping the oldest beyond that) and retries with backoff.

This module owns the database: its schema, its migrations, and every SQL statement pambot runs
against it, including the read side used by `pambot log` (`summarize`, `export_rows`, `prune`).
"""

from __future__ import annotations

import atexit
import itertools
import logging
import os
import random
import signal
import sqlite3
import threading
import time
import weakref
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlite_utils import Database

if TYPE_CHECKING:
    from rules.model import Answer

logger = logging.getLogger("pambot.querylog")

SOURCES = frozenset({"slash", "mention", "dm", "cli", "shell"})
# Outcomes the stats call "unanswered": the bot fell back to the support prompt or understood
# nothing.
UNANSWERED_OUTCOMES = ("support", "unknown")

# The writer is off the answer's path, so it can afford to wait for another process's write.
BUSY_TIMEOUT_S = 5.0
# `claim_event` is on the answer's path (before Slack's 3-second deadline), so it may not.
CLAIM_BUSY_TIMEOUT_S = 0.05
# A claim this old, never finished, belongs to a worker that died mid-answer; Slack's retry
# (the first comes within a minute) may take it over.
CLAIM_TTL = timedelta(seconds=30)
# Slack stops retrying an event within the hour; claims are kept a day, then pruned.
EVENT_KEEP = timedelta(days=1)
LOCAL_CLAIMS_MAX = 10_000
# How long the very first claims of a process wait for the writer to create the schema.
WRITER_READY_WAIT_S = 0.5
BATCH_ROWS = 1_000
# How often the writer looks for queued rows (sooner when a batch fills up).
FLUSH_INTERVAL_S = 0.1
# Longer text is cut: a question longer than this is not a question, and rows stay small.
MAX_TEXT_CHARS = 4_000
RETRY_MIN_S = 0.5
RETRY_MAX_S = 60.0
MAINTENANCE_EVERY_S = 24 * 3600.0


def utc_iso(moment: datetime) -> str:
    """A timestamp as the log stores it: UTC, ISO 8601, milliseconds, sortable as text.

    >>> utc_iso(datetime(2026, 11, 25, 9, 30, tzinfo=UTC))
    '2026-11-25T09:30:00.000Z'
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _now_iso() -> str:
    return utc_iso(datetime.now(UTC))


# --- Schema -------------------------------------------------------------------------------------
#
# The version lives in `PRAGMA user_version`. MIGRATIONS[n] upgrades a file from version n - 1
# to n. Never edit a released step: add a new one, so every old file takes the same path.


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


MIGRATIONS: dict[int, Callable[[Database], None]] = {1: _schema_v1, 2: _schema_v2}
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


def _prune_events(db: Database, before: str) -> int:
    return db.execute("DELETE FROM events WHERE ts < ?", [before]).rowcount


def _prune_queries(db: Database, before: str) -> tuple[int, int]:
    feedback = db.execute(
        "DELETE FROM feedback WHERE ts < ? OR query_id IN (SELECT id FROM queries WHERE ts < ?)",
        [before, before],
    ).rowcount
    queries = db.execute("DELETE FROM queries WHERE ts < ?", [before]).rowcount
    return queries, feedback


# --- The writer ---------------------------------------------------------------------------------


class _Item(NamedTuple):
    """One queued write, as the writer reads it; producers queue plain tuples (cheaper).

    `seq` numbers items in the order they were queued, so the writer can count the ones the
    bounded queue dropped. `data` becomes a row in the writer thread, off the answer's path.
    """

    seq: int
    table: str
    ts: float
    data: tuple


# uuid.UUID(int=..., version=4) sets these bits; done here on the int, it costs a fraction.
_UUID4_CLEAR = ~((0xF << 76) | (0x3 << 62))
_UUID4_SET = (0x4 << 76) | (0x2 << 62)


def new_id() -> str:
    """A random (version 4) UUID as 32 hex digits, like `uuid.uuid4().hex`.

    From `random`, not `os.urandom`: a query id needs to be unique, not secret (a vote still
    carries Slack's signature), and on some hosts the urandom system call costs more than the
    rest of an answer. `random` is reseeded in every forked worker.
    """
    return (random.getrandbits(128) & _UUID4_CLEAR | _UUID4_SET).to_bytes(16, "big").hex()


def _iso_from_epoch(seconds: float) -> str:
    return utc_iso(datetime.fromtimestamp(seconds, UTC))


def _query_row(item: _Item) -> dict[str, Any]:
    query_id, answer, source, elapsed_ms, team, channel, user, thread_ts, event_id = item.data
    return {
        "id": query_id,
        "ts": _iso_from_epoch(item.ts),
        "source": source,
        "team": team,
        "channel": channel,
        "user": user,
        "thread_ts": thread_ts,
        "event_id": event_id,
        "text": str(answer.query)[:MAX_TEXT_CHARS],
        "intent": answer.intent,
        "from_version": answer.from_version,
        "to_version": answer.to_version,
        "node": answer.node,
        "rule": answer.rule,
        "outcome": answer.outcome,
        "verdict": answer.verdict,
        "elapsed_ms": round(float(elapsed_ms), 3),
    }


def _feedback_row(item: _Item) -> dict[str, Any]:
    vote_id, query_id, helpful, user, team, channel = item.data
    return {
        "id": vote_id,
        "query_id": query_id,
        "ts": _iso_from_epoch(item.ts),
        "helpful": int(bool(helpful)),
        "user": user,
        "team": team,
        "channel": channel,
    }


def _event_row(item: _Item) -> dict[str, Any]:
    event_id, state = item.data
    return {"event_id": event_id, "ts": _iso_from_epoch(item.ts), "state": state}


_ROW_BUILDERS: dict[str, Callable[[_Item], dict[str, Any]]] = {
    "queries": _query_row,
    "feedback": _feedback_row,
    "events": _event_row,
}


class QueryLog:
    """Records queries and votes in the SQLite file at `path` without slowing anyone down.

    Every public method returns promptly and never raises: a logging problem must never cost
    an answer. `retention_days` (None: keep everything) prunes older rows on open and daily.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        retention_days: int | None = None,
        max_pending: int = 10_000,
    ) -> None:
        self.path = os.fspath(path)
        self.retention_days = retention_days
        self.max_pending = max(1, int(max_pending))
        # Producers only append here: deque appends are atomic, and at maxlen the oldest row
        # falls out, so queueing costs an answer no lock. The writer counts what fell out
        # from the gaps in `seq`.
        self._queue: deque[tuple] = deque(maxlen=self.max_pending)
        self._seqs = itertools.count(1)
        self._stopping = False
        self._warned_closed = False
        self._retry_now = False
        # Cuts the writer's sleep short: for a full batch, `flush` and `close`.
        self._wake = threading.Event()
        # Notified by the writer whenever rows are written or an attempt ends; for `flush`.
        # The writer moves rows from the queue into the batch under it, so `flush` never sees
        # a row in neither.
        self._progress = threading.Condition(threading.Lock())
        # Owned by the writer thread:
        self._batch: list[_Item] = []
        self._next_seq = 1
        self._dropped = 0
        self._dropped_reported = 0
        self._db: Database | None = None
        self._next_maintenance = 0.0
        self._outage = False
        self._healthy = True
        self._warned_sources: set[str] = set()
        # Set once the writer has first tried to open the file and create the schema.
        self._ready = threading.Event()
        self._claims = _EventClaims(self.path, self._ready)
        self._thread = threading.Thread(
            target=self._run, name=f"pambot-querylog:{self.path}", daemon=True
        )
        self._thread.start()
        _OPEN_LOGS.add(self)

    @property
    def healthy(self) -> bool:
        """True unless the last attempt to open or write the file failed."""
        return self._healthy

    @property
    def pending(self) -> int:
        """Rows waiting to be written."""
        with self._progress:
            return len(self._queue) + len(self._batch)

    def record_query(
        self,
        answer: Answer,
        *,
        source: str,
        elapsed_ms: float,
        team: str | None = None,
        channel: str | None = None,
        user: str | None = None,
        thread_ts: str | None = None,
        event_id: str | None = None,
        query_id: str | None = None,
    ) -> str:
        """Queue one answered question; return its id (`query_id`, or a new uuid4 hex)."""
        try:
            query_id = query_id or new_id()
            if source not in SOURCES and source not in self._warned_sources:
                self._warned_sources.add(source)
                logger.warning("query log: unexpected source %r (expected one of %s)",
                               source, ", ".join(sorted(SOURCES)))
            # Only a tuple here; the writer thread builds the row.
            self._put("queries", (query_id, answer, source, elapsed_ms, team, channel, user,
                                  thread_ts, event_id))
        except Exception:
            logger.exception("query log: could not queue query %s", query_id)
        return query_id

    def record_feedback(
        self,
        query_id: str,
        *,
        helpful: bool,
        user: str | None = None,
        team: str | None = None,
        channel: str | None = None,
    ) -> None:
        """Queue one Helpful / Not helpful vote on the query `query_id`."""
        try:
            self._put("feedback", (new_id(), query_id, helpful, user, team, channel))
        except Exception:
            logger.exception("query log: could not queue feedback on %s", query_id)

    def claim_event(self, event_id: str) -> bool:
        """True if this process should answer the Slack event `event_id`.

        Across processes through the `events` table (waiting at most ~50 ms for a lock); within
        this process also through memory, which is all that is left when the file is unusable.
        """
        try:
            return self._claims.claim(event_id)
        except Exception:
            logger.exception("query log: could not claim event %s; answering it", event_id)
            return True

    def finish_event(self, event_id: str, *, answered: bool) -> None:
        """Mark a claimed event done; `answered=False` releases it so Slack's retry is answered."""
        try:
            if not self._claims.finish(event_id, answered=answered) and not answered:
                # The release must reach the file eventually, or other workers refuse the retry.
                self._put("events", (event_id, "released"))
        except Exception:
            logger.exception("query log: could not finish event %s", event_id)

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every queued row is written; False if `timeout` seconds pass first.

        Also waits for the writer's first attempt to open the file and create the schema.
        """
        deadline = time.monotonic() + timeout
        # Whoever flushes wants the rows now, not after the current backoff or interval.
        self._retry_now = True
        self._wake.set()
        with self._progress:
            while self._queue or self._batch or not self._ready.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self._thread.is_alive():
                    return False
                self._progress.wait(remaining)
            return True

    def close(self, timeout: float = 5.0) -> None:
        """Write what is queued (waiting up to `timeout` seconds), then stop. Idempotent."""
        self._stopping = True
        self._wake.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout)
        left = self.pending
        if self._thread.is_alive():
            logger.warning("query log %s: writer still busy after %.1f s; %d rows not written",
                           self.path, timeout, left)
        elif left:
            logger.warning("query log %s: %d rows could not be written and are lost",
                           self.path, left)
        self._claims.close()
        _OPEN_LOGS.discard(self)

    # -- queue ----------------------------------------------------------------------------------

    def _put(self, table: str, data: tuple) -> None:
        if self._stopping:
            if not self._warned_closed:
                self._warned_closed = True
                logger.warning("query log %s is closed; rows recorded now are not kept",
                               self.path)
            return
        queue = self._queue
        queue.append((next(self._seqs), table, time.time(), data))
        if len(queue) >= BATCH_ROWS:
            self._wake.set()

    # -- writer thread --------------------------------------------------------------------------

    def _run(self) -> None:
        backoff = 0.0
        next_try = 0.0
        while True:
            stopping = self._wait_for_work(next_try)
            if self._attempt():
                backoff, next_try = 0.0, 0.0
            else:
                backoff = min(max(backoff * 2, RETRY_MIN_S), RETRY_MAX_S)
                next_try = time.monotonic() + backoff
            self._report_drops()
            with self._progress:
                self._ready.set()
                self._progress.notify_all()
            if stopping:
                break
        self._close_db()

    def _wait_for_work(self, next_try: float) -> bool:
        """Sleep until there is something to do; return True if this is the final round.

        Polls every FLUSH_INTERVAL_S rather than being woken for each row: queueing a row
        then costs the answer no more than an append, and rows arriving together share a
        transaction.
        """
        while True:
            if self._stopping or self._retry_now:
                self._retry_now = False
                return self._stopping
            now = time.monotonic()
            if now >= next_try and (
                self._queue or self._batch or self._db is None or now >= self._next_maintenance
            ):
                return False
            self._wake.wait(min(max(next_try - now, 0.0), FLUSH_INTERVAL_S) or FLUSH_INTERVAL_S)
            self._wake.clear()

    def _attempt(self) -> bool:
        """Open if needed, prune if due, write everything queued. False on failure."""
        try:
            if self._db is None:
                self._db = connect(self.path)
            if time.monotonic() >= self._next_maintenance:
                self._maintain()
            self._write_pending()
        except (sqlite3.Error, OSError) as exc:
            self._failed(f"{type(exc).__name__}: {exc}")
            return False
        except Exception:
            # A bug, not the disk: keep the traceback, but only once per outage.
            if not self._outage:
                logger.exception("query log %s: unexpected error in the writer", self.path)
            self._failed("unexpected error (see the traceback above)")
            return False
        if self._outage:
            logger.info("query log %s is writable again", self.path)
            self._outage = False
        self._healthy = True
        return True

    def _failed(self, reason: str) -> None:
        self._healthy = False
        self._close_db()
        self._hold_within_bound()
        if self._outage:
            logger.debug("query log %s still not writable: %s", self.path, reason)
            return
        self._outage = True
        logger.warning(
            "query log %s cannot be written (%s); answers go on, up to %d rows wait in memory "
            "and writing is retried",
            self.path, reason, self.max_pending,
        )

    def _report_drops(self) -> None:
        dropped = self._dropped
        if dropped > self._dropped_reported:
            logger.warning(
                "query log %s: dropped the %d oldest unwritten rows (%d in all) to stay within "
                "%d in memory", self.path, dropped - self._dropped_reported, dropped,
                self.max_pending,
            )
            self._dropped_reported = dropped

    def _take(self, limit: int) -> None:
        """Move rows from the queue into the batch until it holds `limit`, counting gaps."""
        with self._progress:
            while len(self._batch) < limit:
                try:
                    item = _Item(*self._queue.popleft())
                except IndexError:
                    return
                if item.seq >= self._next_seq:
                    # Rows numbered in between fell out of the full queue.
                    self._dropped += item.seq - self._next_seq
                    self._next_seq = item.seq + 1
                else:
                    # Two producers appended in the opposite order to their numbers; this one
                    # was counted as a gap a moment ago.
                    self._dropped -= 1
                self._batch.append(item)

    def _hold_within_bound(self) -> None:
        """While writing fails, keep at most `max_pending` rows, dropping the oldest."""
        self._take(self.max_pending)
        with self._progress:
            excess = len(self._batch) + len(self._queue) - self.max_pending
            if excess > 0:
                del self._batch[:excess]
                self._dropped += excess

    def _maintain(self) -> None:
        db = self._db
        now = datetime.now(UTC)
        with write_transaction(db):
            events = _prune_events(db, utc_iso(now - EVENT_KEEP))
            queries = feedback = 0
            if self.retention_days is not None:
                queries, feedback = _prune_queries(
                    db, utc_iso(now - timedelta(days=self.retention_days))
                )
        if queries or feedback:
            logger.info("query log %s: retention removed %d queries and %d votes older than "
                        "%d days", self.path, queries, feedback, self.retention_days)
        logger.debug("query log %s: pruned %d old event claims", self.path, events)
        self._next_maintenance = time.monotonic() + MAINTENANCE_EVERY_S

    def _write_pending(self) -> None:
        db = self._db
        while True:
            # After a failure the batch may hold more than BATCH_ROWS; write those first.
            self._take(BATCH_ROWS)
            if not self._batch:
                return
            by_table: dict[str, list[dict[str, Any]]] = {}
            for item in self._batch:
                row = self._row(item)
                if row is not None:
                    by_table.setdefault(item.table, []).append(row)
            with write_transaction(db):
                for table, rows in by_table.items():
                    if table == "events":
                        db[table].upsert_all(rows, pk="event_id")
                    else:
                        # OR IGNORE: a batch retried after an unclear failure is not doubled.
                        db[table].insert_all(rows, pk="id", ignore=True)
            with self._progress:
                self._batch.clear()
                self._progress.notify_all()

    def _row(self, item: _Item) -> dict[str, Any] | None:
        """The row for `item`, or None (logged) if the caller passed something unusable."""
        try:
            return _ROW_BUILDERS[item.table](item)
        except Exception:
            logger.exception("query log %s: skipped a %s row that could not be built",
                             self.path, item.table)
            return None

    def _close_db(self) -> None:
        if self._db is not None:
            try:
                self._db.close()
            except sqlite3.Error:
                logger.debug("query log %s: error closing", self.path, exc_info=True)
            self._db = None


class _EventClaims:
    """Slack event dedupe: the `events` table when usable, a bounded in-memory map always."""

    def __init__(self, path: str, writer_ready: threading.Event) -> None:
        self.path = path
        self._writer_ready = writer_ready
        self._lock = threading.Lock()
        self._db: Database | None = None
        self._local: OrderedDict[str, str] = OrderedDict()
        self._outage = False

    def claim(self, event_id: str) -> bool:
        with self._lock:
            if event_id in self._local:
                return False
            in_file = self._run(
                "INSERT INTO events (event_id, ts, state) VALUES (?, ?, 'claimed') "
                "ON CONFLICT (event_id) DO UPDATE SET ts = excluded.ts, state = 'claimed' "
                "WHERE events.state = 'released' "
                "OR (events.state = 'claimed' AND events.ts < ?)",
                [event_id, _now_iso(), utc_iso(datetime.now(UTC) - CLAIM_TTL)],
            )
            # None: the file is unusable, so this process decides alone.
            granted = in_file is None or in_file == 1
            if granted:
                self._local[event_id] = "claimed"
                while len(self._local) > LOCAL_CLAIMS_MAX:
                    self._local.popitem(last=False)
            return granted

    def finish(self, event_id: str, *, answered: bool) -> bool:
        """Record the end of a claim; False if the file could not be updated."""
        state = "answered" if answered else "released"
        with self._lock:
            if answered:
                self._local[event_id] = state
            else:
                self._local.pop(event_id, None)
            changed = self._run(
                "UPDATE events SET state = ?, ts = ? WHERE event_id = ?",
                [state, _now_iso(), event_id],
            )
            return changed is not None

    def close(self) -> None:
        with self._lock:
            self._disconnect()

    def _run(self, sql: str, params: list[Any]) -> int | None:
        """Run one write; its row count, or None if the file is unusable right now."""
        if self._db is None and not self._writer_ready.wait(WRITER_READY_WAIT_S):
            # Only in a process's first moments: the writer is still creating the schema.
            logger.debug("query log %s: not open yet; deduping in memory", self.path)
            return None
        try:
            if self._db is None:
                if not os.path.isfile(self.path):
                    # Only the writer creates the file (and its schema).
                    raise sqlite3.OperationalError("the database file does not exist")
                self._db = Database(sqlite3.connect(
                    self.path, timeout=CLAIM_BUSY_TIMEOUT_S, check_same_thread=False
                ))
            changed = self._db.execute(sql, params).rowcount
        except (sqlite3.Error, OSError) as exc:
            self._disconnect()
            if not self._outage:
                self._outage = True
                logger.warning("query log %s: Slack event dedupe works within this process only "
                               "(%s: %s)", self.path, type(exc).__name__, exc)
            return None
        if self._outage:
            self._outage = False
            logger.info("query log %s: Slack event dedupe across processes works again",
                        self.path)
        return changed

    def _disconnect(self) -> None:
        if self._db is not None:
            try:
                self._db.close()
            except sqlite3.Error:
                logger.debug("query log %s: error closing", self.path, exc_info=True)
            self._db = None


# Logs still open at interpreter exit get flushed, so `pambot ask` and a SIGTERM lose nothing.
_OPEN_LOGS: weakref.WeakSet[QueryLog] = weakref.WeakSet()


@atexit.register
def _close_open_logs() -> None:
    for log in list(_OPEN_LOGS):
        log.close()


def install_signal_flush(
    querylog: QueryLog, signals: Iterable[signal.Signals] = (signal.SIGTERM,)
) -> None:
    """Make `signals` (SIGTERM: what a Procfile platform sends) flush `querylog`, then exit.

    The handler only raises `SystemExit(128 + signum)`; `querylog` is closed, and so flushed, as
    the interpreter exits. Closing inside the handler could deadlock on a lock the interrupted
    code holds. Call from the main thread.
    """
    _OPEN_LOGS.add(querylog)

    def _exit(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    for sig in signals:
        signal.signal(sig, _exit)


# --- The read side, for `pambot log` --------------------------------------------------------------


class NoLog(Exception):
    """There is no query log at the path yet."""

    def __init__(self, path: str | os.PathLike) -> None:
        super().__init__(f"no queries logged yet at {os.fspath(path)}")
        self.path = os.fspath(path)


def open_existing(path: str | os.PathLike, *, write: bool = False) -> Database:
    """Open a log that exists; read-only unless `write` (then the schema is brought up to date).

    Raises `NoLog` when there is no file or no `queries` table, `sqlite3.Error` when the file
    is not a usable database.
    """
    path = Path(path)
    if not path.exists():
        raise NoLog(path)
    if write:
        db = connect(path)
    else:
        uri = path.resolve().as_uri() + "?mode=ro"
        db = Database(sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S))
    try:
        found = db["queries"].exists()
    except BaseException:
        db.close()
        raise
    if not found:
        db.close()
        raise NoLog(path)
    return db


@dataclass(frozen=True)
class Summary:
    """What `pambot log stats` and `/pam stats` show, counted since `since` (UTC ISO 8601)."""

    since: str | None
    total: int
    by_intent: list[tuple[str, int]]
    by_outcome: list[tuple[str, int]]
    by_rule: list[tuple[str, int]]
    # (question, times asked), for outcomes in UNANSWERED_OUTCOMES.
    top_unanswered: list[tuple[str, int]]
    votes: int
    helpful_votes: int
    # (rule, votes, not helpful votes), most not-helpful first.
    votes_by_rule: list[tuple[str, int, int]] = field(default_factory=list)


def summarize(db: Database, since: str | None, *, top: int = 10) -> Summary:
    """Counts by intent, outcome and rule, the top unanswered questions and the votes.

    Only the indexes are read for the counts; a person's latest vote on an answer is the one
    that counts.
    """
    since_sql, params = ("ts >= ?", [since]) if since else ("1", [])
    counts = {
        # Three grouped counts, not one over three columns: each is a scan of the covering
        # (column, ts) index, with no sort (about 0.1 s per million rows).
        column: _ranked(dict(db.execute(
            f"SELECT {column}, count(*) FROM queries WHERE {since_sql} GROUP BY {column}", params
        ).fetchall()))
        for column in ("intent", "outcome", "rule")
    }
    marks = ", ".join("?" for _ in UNANSWERED_OUTCOMES)
    unanswered = [
        (question, count) for question, count in db.execute(
            "SELECT lower(trim(text)) AS question, count(*) AS asked FROM queries "
            f"WHERE outcome IN ({marks}) AND {since_sql} "
            "GROUP BY question ORDER BY asked DESC, question LIMIT ?",
            [*UNANSWERED_OUTCOMES, *params, top],
        )
    ]
    votes: Counter[str] = Counter()
    not_helpful: Counter[str] = Counter()
    for helpful, rule in db.execute(
        "SELECT f.helpful, q.rule FROM feedback f LEFT JOIN queries q ON q.id = f.query_id "
        "WHERE NOT EXISTS (SELECT 1 FROM feedback g WHERE g.query_id = f.query_id "
        "AND g.user IS f.user AND (g.ts > f.ts OR (g.ts = f.ts AND g.rowid > f.rowid))) "
        f"AND {'f.ts >= ?' if since else '1'}", params
    ):
        rule = rule or "-"
        votes[rule] += 1
        if not helpful:
            not_helpful[rule] += 1
    return Summary(
        since=since,
        total=sum(n for _, n in counts["outcome"]),
        by_intent=counts["intent"],
        by_outcome=counts["outcome"],
        by_rule=counts["rule"],
        top_unanswered=unanswered,
        votes=sum(votes.values()),
        helpful_votes=sum(votes.values()) - sum(not_helpful.values()),
        votes_by_rule=sorted(
            ((rule, n, not_helpful[rule]) for rule, n in votes.items()),
            key=lambda r: (-r[2], -r[1], r[0]),
        ),
    )


def _ranked(counts: dict[str | None, int]) -> list[tuple[str, int]]:
    """Most first; a missing value shows as "-"."""
    return sorted(((k or "-", n) for k, n in counts.items()), key=lambda kv: (-kv[1], kv[0]))


EXPORT_COLUMNS = (
    "id", "ts", "source", "team", "channel", "user", "thread_ts", "event_id", "text", "intent",
    "from_version", "to_version", "node", "rule", "outcome", "verdict", "elapsed_ms",
)


def export_rows(db: Database, since: str | None) -> tuple[list[str], Iterator[tuple]]:
    """Column names and the queries (oldest first) with their helpful / not helpful vote counts."""
    columns = [c for c in EXPORT_COLUMNS if c in db["queries"].columns_dict]
    where, params = ("WHERE q.ts >= ?", [since]) if since else ("", [])
    selected = ", ".join(f'q."{c}"' for c in columns)
    cursor = db.execute(
        f"SELECT {selected}, "
        "(SELECT count(*) FROM feedback f WHERE f.query_id = q.id AND f.helpful) AS helpful_votes, "
        "(SELECT count(*) FROM feedback f WHERE f.query_id = q.id AND NOT f.helpful) "
        f"AS not_helpful_votes FROM queries q {where} ORDER BY q.ts, q.rowid",
        params,
    )
    return [*columns, "helpful_votes", "not_helpful_votes"], iter(cursor)


def prune(path: str | os.PathLike, before: str) -> tuple[int, int]:
    """Delete queries (and their votes) and votes older than `before`; return both counts."""
    db = open_existing(path, write=True)
    try:
        with write_transaction(db):
            return _prune_queries(db, before)
    finally:
        db.close()
