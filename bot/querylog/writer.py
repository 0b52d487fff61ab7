"""`QueryLog`: rows handed to a background writer thread, never in the way of an answer."""

from __future__ import annotations

import atexit
import functools
import itertools
import logging
import os
import random
import signal
import sqlite3
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple

from sqlite_utils import Database

from bot.querylog.claims import EventClaims
from bot.querylog.schema import (
    close_quietly,
    connect,
    prune_events,
    prune_queries,
    utc_iso,
    write_transaction,
)

if TYPE_CHECKING:
    from rules.model import Answer

logger = logging.getLogger("pambot.querylog")

SOURCES = frozenset({"slash", "mention", "dm", "thread", "button", "cli", "shell"})
# Slack stops retrying an event within the hour; claims are kept a day, then pruned.
EVENT_KEEP = timedelta(days=1)
BATCH_ROWS = 1_000
# How often the writer looks for queued rows (sooner when a batch fills up).
FLUSH_INTERVAL_S = 0.1
# Longer text is cut: a question longer than this is not a question, and rows stay small.
MAX_TEXT_CHARS = 4_000
RETRY_MIN_S = 0.5
RETRY_MAX_S = 60.0
MAINTENANCE_EVERY_S = 24 * 3600.0



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


def _query_row(item: _Item) -> tuple:
    query_id, answer, source, elapsed_ms, team, channel, user, thread_ts, event_id = item.data
    return (
        query_id, _iso_from_epoch(item.ts), source, team, channel, user, thread_ts, event_id,
        str(answer.query)[:MAX_TEXT_CHARS], answer.intent, answer.from_version,
        answer.to_version, answer.node, answer.rule, answer.outcome, answer.verdict,
        round(float(elapsed_ms), 3),
    )


def _feedback_row(item: _Item) -> tuple:
    vote_id, query_id, helpful, user, team, channel = item.data
    return (vote_id, query_id, _iso_from_epoch(item.ts), int(bool(helpful)), user, team, channel)


def _event_row(item: _Item) -> tuple:
    event_id, state = item.data
    return (event_id, _iso_from_epoch(item.ts), state)


# Rows per INSERT statement: one statement for many rows, since the sqlite3 module gives up
# the interpreter lock for every statement it steps and must wait to get it back while answers
# keep the interpreter busy; per row, that wait would be the writer's whole cost. 17 columns
# x 500 rows stays far below SQLite's limit on bound parameters.
ROWS_PER_STATEMENT = 500


@dataclass(frozen=True)
class _Write:
    """How one table's queued items become rows and an INSERT for many rows at once."""

    table: str
    columns: tuple[str, ...]
    conflict: str
    row: Callable[[_Item], tuple]

    @functools.cache  # noqa: B019 - three writes live for the process
    def statement(self, rows: int) -> str:
        names = ", ".join(f'"{c}"' for c in self.columns)
        values = "(" + ", ".join("?" for _ in self.columns) + ")"
        return (f"INSERT INTO {self.table} ({names}) VALUES "
                f"{', '.join(itertools.repeat(values, rows))} {self.conflict}")

    def run(self, db: Database, rows: list[tuple]) -> None:
        for start in range(0, len(rows), ROWS_PER_STATEMENT):
            chunk = rows[start:start + ROWS_PER_STATEMENT]
            db.conn.execute(self.statement(len(chunk)),
                            list(itertools.chain.from_iterable(chunk)))


# The schema is sqlite-utils'; these inserts are plain SQL so the hot path stays in SQLite's
# C code. A batch retried after an unclear failure is not doubled (DO NOTHING on the same id).
_WRITES: dict[str, _Write] = {
    "queries": _Write("queries", (
        "id", "ts", "source", "team", "channel", "user", "thread_ts", "event_id", "text",
        "intent", "from_version", "to_version", "node", "rule", "outcome", "verdict",
        "elapsed_ms"), "ON CONFLICT (id) DO NOTHING", _query_row),
    "feedback": _Write("feedback", (
        "id", "query_id", "ts", "helpful", "user", "team", "channel"),
        "ON CONFLICT (id) DO NOTHING", _feedback_row),
    "events": _Write("events", ("event_id", "ts", "state"),
                     "ON CONFLICT (event_id) DO UPDATE SET ts = excluded.ts, "
                     "state = excluded.state", _event_row),
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
        self._claims = EventClaims(self.path, self._ready)
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
        if len(queue) % BATCH_ROWS == 0:
            # Once per full batch, not on every row past it: setting the event takes a lock,
            # and a burst of answers would queue up on it behind the writer.
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
            events = prune_events(db, utc_iso(now - EVENT_KEEP))
            queries = feedback = 0
            if self.retention_days is not None:
                queries, feedback = prune_queries(
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
            by_table: dict[str, list[tuple]] = {}
            for item in self._batch:
                row = self._row(item)
                if row is not None:
                    by_table.setdefault(item.table, []).append(row)
            with write_transaction(db):
                for table, rows in by_table.items():
                    _WRITES[table].run(db, rows)
            with self._progress:
                self._batch.clear()
                self._progress.notify_all()

    def _row(self, item: _Item) -> tuple | None:
        """The row for `item`, or None (logged) if the caller passed something unusable."""
        try:
            return _WRITES[item.table].row(item)
        except Exception:
            logger.exception("query log %s: skipped a %s row that could not be built",
                             self.path, item.table)
            return None

    def _close_db(self) -> None:
        close_quietly(self._db, self.path)
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


