"""`QueryLog`: rows handed to a background writer thread, never in the way of an answer."""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import queue
import signal
import sqlite3
import sys
import threading
import time
import weakref
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from bot import metrics
from bot.querylog import store
from bot.querylog.claims import CLAIM_LEASE, EventClaims, EventDeferred
from bot.querylog.schema import (
    FEEDBACK_COLUMNS,
    QUERY_COLUMNS,
    file_id,
    new_id,
    now_iso,
    open_log,
    prune_events,
    prune_queries,
    storable,
    utc_iso,
)
from bot.querylog.store import Connection, close_quietly, is_postgres, shown

if TYPE_CHECKING:
    from rules.model import Answer

logger = logging.getLogger("pambot.querylog")

SOURCES = frozenset({"slash", "mention", "dm", "thread", "button", "cli", "shell"})
# Slack stops retrying an event within the hour; claims are kept a day, then pruned.
EVENT_KEEP = timedelta(days=1)
BATCH_ROWS = 1_000
# Longer text is cut: a question longer than this is not a question, and rows stay small.
MAX_TEXT_CHARS = 4_000
RETRY_MIN_S = 0.5
RETRY_MAX_S = 60.0
MAINTENANCE_EVERY_S = 24 * 3600.0
# How often an idle writer wakes to see whether maintenance is due.
IDLE_WAKE_S = 60.0
# How long a producer that waits for room (`pambot ask`) waits before dropping a row.
WAIT_FOR_ROOM_S = 30.0

_INSERT = {
    "queries": "INSERT INTO queries ({}) VALUES ({})".format(
        ", ".join(f'"{c}"' for c in QUERY_COLUMNS), ", ".join("?" * len(QUERY_COLUMNS))),
    "feedback": "INSERT INTO feedback ({}) VALUES ({})".format(
        ", ".join(f'"{c}"' for c in FEEDBACK_COLUMNS), ", ".join("?" * len(FEEDBACK_COLUMNS))),
    # The end of a claim, rarely: the newest state wins.
    "events": "INSERT INTO events (event_id, ts, state) VALUES (?, ?, ?) "
              "ON CONFLICT (event_id) DO UPDATE SET ts = excluded.ts, state = excluded.state",
}
# After the first row of a quiet spell, how long the writer lets more gather into its batch.
GATHER_S = 0.05
# Errors of one row (the database refused its values); any other database error or OSError
# is the database's, and the whole batch waits and is retried.
_ROW_ERRORS = (sqlite3.IntegrityError, sqlite3.InterfaceError, sqlite3.ProgrammingError,
               sqlite3.DataError, ValueError, TypeError, OverflowError)


def _row_errors() -> tuple[type[BaseException], ...]:
    psycopg = sys.modules.get("psycopg")
    if psycopg is None:
        return _ROW_ERRORS
    return (*_ROW_ERRORS, psycopg.DataError, psycopg.IntegrityError, psycopg.ProgrammingError)


def _refused(exc: BaseException) -> bool:
    """True if `exc` is the database refusing a row's values, not the database failing: a
    table or column that is not there, or a permission, is the database's, and waits."""
    psycopg = sys.modules.get("psycopg")
    if psycopg is not None and isinstance(exc, psycopg.errors.UndefinedTable
                                          | psycopg.errors.UndefinedColumn
                                          | psycopg.errors.InsufficientPrivilege):
        return False
    return isinstance(exc, _row_errors())


def query_row(query_id: int, answer: Answer, *, source: str, elapsed_ms: float,
              team: str | None = None, channel: str | None = None, user: str | None = None,
              thread_ts: str | None = None, event_id: str | None = None,
              rules_version: str | None = None, typed: str | None = None) -> tuple:
    """One row of the `queries` table, asked now, its values in QUERY_COLUMNS order.

    `text` is the question answered (`answer.query`); `typed` what the person typed or
    clicked, when the question was read from it ("2" for "upgrade 6.5.4"), else None.
    """
    typed = None if typed is None or typed == answer.query else str(typed)[:MAX_TEXT_CHARS]
    return (query_id, now_iso(), source, team, channel, user, thread_ts, event_id,
            str(answer.query)[:MAX_TEXT_CHARS], answer.intent, answer.from_version,
            answer.to_version, answer.node, answer.rule, answer.outcome, answer.verdict,
            round(float(elapsed_ms), 3), rules_version or None, typed)


class _Stop:
    """Queued by `close`: write what came before, then end the writer."""


class QueryLog:
    """Records queries and votes in the log at `path` (a SQLite file or a PostgreSQL URL)
    without slowing anyone down.

    Every public method returns promptly and never raises: a logging problem must never cost
    an answer. Rows wait in a queue of at most `max_pending` items (a row each; a batch
    handed to `record_rows` is one item); when it is full new rows are dropped (and counted),
    unless `wait_for_room` (for `pambot ask`, where nobody waits on one answer), which waits
    while the file is writable. `retention_days` (None: keep
    everything) prunes older rows on open and daily. `claim_lease`: see `claim_event`.
    `gather`: how long the writer lets rows gather after the first of a quiet spell (0 when
    they come in batches already).
    """

    def __init__(self, path: str | os.PathLike, *, retention_days: int | None = None,
                 max_pending: int = 10_000, wait_for_room: bool = False,
                 claim_lease: timedelta = CLAIM_LEASE, gather: float = GATHER_S) -> None:
        self.path = os.fspath(path)
        self.retention_days = retention_days
        self.max_pending = max(1, int(max_pending))
        self.wait_for_room = wait_for_room
        self.gather = gather
        self._queue: queue.Queue = queue.Queue(maxsize=self.max_pending)
        self._closed = False
        self._healthy = True
        self._drops = 0
        self._drops_lock = threading.Lock()
        # Cuts a retry's backoff short: `flush` and `close` want the rows now.
        self._wake = threading.Event()
        self._claims = EventClaims(self.path, lease=claim_lease)
        self._warned_sources: set[str] = set()
        # What logs say: never a password.
        self.shown = shown(self.path)
        self._thread = threading.Thread(target=self._run, name=f"pambot-querylog:{self.shown}",
                                        daemon=True)
        self._thread.start()
        _OPEN_LOGS.add(self)

    @property
    def healthy(self) -> bool:
        """True unless the last attempt to open or write the file failed."""
        return self._healthy

    @property
    def pending(self) -> int:
        """Rows (and markers) waiting in the queue."""
        return self._queue.qsize()

    def record_query(self, answer: Answer, *, source: str, elapsed_ms: float,
                     team: str | None = None, channel: str | None = None,
                     user: str | None = None, thread_ts: str | None = None,
                     event_id: str | None = None, query_id: int | str | None = None,
                     rules_version: str | None = None, typed: str | None = None) -> int:
        """Queue one answered question; return its id (`query_id`, or a new one).

        `rules_version`: the version of the rule set that answered (`RuleSet.version`);
        `typed`: what the person typed, when the question answered was read from it.
        """
        try:
            query_id = int(query_id) if query_id is not None else new_id()
            if source not in SOURCES and source not in self._warned_sources:
                self._warned_sources.add(source)
                logger.warning("query log: unexpected source %r (expected one of %s)",
                               source, ", ".join(sorted(SOURCES)))
            self._put("queries", [query_row(
                query_id, answer, source=source, elapsed_ms=elapsed_ms, team=team,
                channel=channel, user=user, thread_ts=thread_ts, event_id=event_id,
                rules_version=rules_version, typed=typed)])
        except Exception:
            logger.exception("query log %s: skipped a query row that could not be built",
                             self.shown)
        return query_id

    def record_feedback(self, query_id: int | str, *, helpful: bool, user: str | None = None,
                        team: str | None = None, channel: str | None = None) -> None:
        """Queue one Helpful / Not helpful vote on the query `query_id`."""
        try:
            self._put("feedback", [(int(query_id), now_iso(), int(bool(helpful)), user, team,
                                    channel)])
        except ValueError:
            logger.warning("query log %s: a vote on %r, which is not a query id, is not kept",
                           self.shown, str(query_id)[:40])
        except Exception:
            logger.exception("query log %s: could not queue a vote", self.shown)

    def claim_event(self, event_id: str) -> bool:
        """True if this process should answer the Slack event `event_id`, False if it was
        answered (see EventClaims).

        Raises `EventInProgress` while another delivery is answering it, and `EventClaimBusy`
        when the claim store is locked past its wait: the event is then left for Slack's
        redelivery rather than risk answering it twice, or not at all.
        """
        try:
            return self._claims.claim(event_id)
        except EventDeferred:
            raise
        except Exception:
            logger.exception("query log %s: could not claim event %s; answering it", self.shown,
                             event_id)
            return True

    def finish_event(self, event_id: str, *, answered: bool) -> None:
        """Mark a claimed event done; `answered=False` releases it so Slack's retry is answered."""
        try:
            if not self._claims.finish(event_id, answered=answered):
                # The end of the claim must reach the file eventually: a release, or other
                # processes refuse the retry; an answer, or one takes it over after the lease.
                self._put("events", [(event_id, now_iso(),
                                      "answered" if answered else "released")])
        except Exception:
            logger.exception("query log %s: could not finish event %s", self.shown, event_id)

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every row queued so far is written; False if `timeout` seconds pass first.

        Also waits for the writer's first attempt to open the file and create the schema.
        """
        if self._closed or not self._thread.is_alive():
            return self._queue.empty()
        written = threading.Event()
        try:
            self._queue.put(written, timeout=timeout)
        except queue.Full:
            return False
        self._wake.set()
        return written.wait(timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Write what is queued (waiting up to `timeout` seconds), then stop. Idempotent."""
        if not self._closed:
            self._closed = True
            # Wakes the writer; it stops once the queue is empty (or the file is unusable).
            with contextlib.suppress(queue.Full):
                self._queue.put(_Stop(), timeout=timeout)
            self._wake.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout)
        if self._thread.is_alive():
            logger.warning("query log %s: writer still busy after %.1f s; %d rows not written",
                           self.shown, timeout, self.pending)
        self._claims.close()
        _OPEN_LOGS.discard(self)

    # -- producers ------------------------------------------------------------------------------

    def _put(self, table: str, rows: list[tuple]) -> None:
        if self._closed:
            logger.debug("query log %s is closed; %d %s rows are not kept", self.shown,
                         len(rows), table)
            return
        try:
            if self.wait_for_room and self._healthy:
                self._queue.put((table, rows), timeout=WAIT_FOR_ROOM_S)
            else:
                self._queue.put_nowait((table, rows))
        except queue.Full:
            with self._drops_lock:
                self._drops += len(rows)
            metrics.rows_not_written("dropped", len(rows))

    # -- writer thread --------------------------------------------------------------------------

    def _run(self) -> None:
        db: sqlite3.Connection | None = None
        opened: tuple[int, int] | None = None
        next_maintenance = 0.0
        backoff = 0.0
        outage = False
        warned_gone = False
        batch: list = []
        limit = min(BATCH_ROWS, self.max_pending)
        while True:
            if not batch:
                with contextlib.suppress(queue.Empty):
                    batch.append(self._queue.get(timeout=IDLE_WAKE_S))
                    # Rows that arrive together share a transaction; flush and close cut it short.
                    if self._queue.qsize() < limit and self._wake.wait(self.gather):
                        self._wake.clear()
            while len(batch) < limit:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            stopping = self._closed
            metrics.queue_depth(len(batch) + self.pending)
            try:
                if db is not None and not db.postgres and file_id(self.path) != opened:
                    # Deleted or replaced under us: writing on would go to a file nobody sees.
                    if not warned_gone:
                        warned_gone = True
                        logger.warning("query log %s was deleted or replaced while pambot was "
                                       "running; recreating it", self.shown)
                    close_quietly(db, self.shown)
                    db = None
                    self._claims.reopen()
                if db is None:
                    db = open_log(self.path)
                    opened = None if is_postgres(self.path) else file_id(self.path)
                if time.monotonic() >= next_maintenance:
                    self._maintain(db)
                    next_maintenance = time.monotonic() + MAINTENANCE_EVERY_S
                self._write(db, batch)
            except Exception as exc:
                if not isinstance(exc, (*store.errors(), OSError)) and not outage:
                    logger.exception("query log %s: unexpected error in the writer", self.shown)
                close_quietly(db, self.shown)
                db = None
                self._healthy = False
                if not outage:
                    outage = True
                    logger.warning(
                        "query log %s cannot be written (%s: %s); answers go on, their rows "
                        "wait in memory (up to %d; beyond that new rows are dropped, and "
                        "counted) and writing is retried",
                        self.shown, type(exc).__name__, store.reason(exc), self.max_pending)
                if stopping:
                    lost = _rows_in(batch) + _rows_in(self._drain())
                    logger.warning("query log %s: %d rows could not be written and are lost",
                                   self.shown, lost)
                    metrics.rows_not_written("lost", lost)
                    break
                backoff = min(max(backoff * 2, RETRY_MIN_S), RETRY_MAX_S)
                self._wake.wait(backoff)
                self._wake.clear()
                continue
            if outage:
                outage = False
                logger.info("query log %s is writable again", self.shown)
            self._healthy = True
            backoff = 0.0
            for item in batch:
                if isinstance(item, threading.Event):
                    item.set()
            batch.clear()
            metrics.queue_depth(self.pending)
            self._report_drops()
            if stopping and self._queue.empty():
                break
        close_quietly(db, self.shown)

    def _write(self, db: Connection, batch: list) -> None:
        """Write the rows in `batch` in one transaction; a row the database refuses is
        repaired or set aside, and the others are written."""
        by_table: dict[str, list[tuple]] = {}
        for item in batch:
            if isinstance(item, tuple):
                by_table.setdefault(item[0], []).extend(item[1])
        if not by_table:
            return
        written: dict[str, int] = {}
        with db.transaction():
            for table, rows in by_table.items():
                try:
                    with db.savepoint():  # a refused row undoes only this table's part
                        self._insert(db, table, rows)
                    written[table] = len(rows)
                except _row_errors() as exc:
                    if not _refused(exc):
                        raise
                    written[table] = self._write_one_by_one(db, table, rows)
        for table, count in written.items():
            metrics.rows_written(table, count)

    @staticmethod
    def _insert(db: Connection, table: str, rows: list[tuple]) -> None:
        db.executemany(_INSERT[table], rows)

    def _write_one_by_one(self, db: Connection, table: str, rows: list[tuple]) -> int:
        """Write `rows` one at a time, setting aside each that the database refuses; how many
        were written."""
        written = 0
        for row in rows:
            try:
                with db.savepoint():
                    try:
                        self._insert(db, table, [row])
                    except UnicodeEncodeError:
                        # Text that is not valid Unicode (a lone surrogate): U+FFFD in its place.
                        self._insert(db, table, [tuple(
                            storable(v) if isinstance(v, str) else v for v in row)])
                written += 1
            except _row_errors() as exc:
                if not _refused(exc):
                    raise
                logger.warning("query log %s: set aside a %s row that the database refused "
                               "(%s: %s)", self.shown, table, type(exc).__name__,
                               store.reason(exc))
                metrics.rows_not_written("set_aside")
        return written

    def _drain(self) -> list:
        """Everything still queued, taken out of the queue."""
        items = []
        with contextlib.suppress(queue.Empty):
            while True:
                items.append(self._queue.get_nowait())
        return items

    def _maintain(self, db: Connection) -> None:
        now = datetime.now(UTC)
        with db.transaction():
            prune_events(db, utc_iso(now - EVENT_KEEP))
            queries = feedback = 0
            if self.retention_days is not None:
                queries, feedback = prune_queries(
                    db, utc_iso(now - timedelta(days=self.retention_days)))
        if queries or feedback:
            logger.info("query log %s: retention removed %d queries and %d votes older than "
                        "%d days", self.shown, queries, feedback, self.retention_days)

    def _report_drops(self) -> None:
        with self._drops_lock:
            drops, self._drops = self._drops, 0
        if drops:
            logger.warning("query log %s: dropped %d new rows while its queue was full "
                           "(%d items waiting)", self.shown, drops, self.max_pending)


def _rows_in(items: list) -> int:
    """How many rows the queue items `items` hold."""
    return sum(len(item[1]) for item in items if isinstance(item, tuple))


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
