"""Slack event dedupe across the processes (and replicas) that share one `PAMBOT_DB`.

Each Slack event is claimed in the `events` table before it is answered, so of all the
processes on one `PAMBOT_DB`, on one machine or, with PostgreSQL, on several, exactly one
answers it. A delivery of an event that another
delivery is still answering is not told "done" (`EventInProgress`): if that answer then
fails, its claim is released, and Slack's next redelivery answers it. The policy when the
table cannot say:

- locked for longer than CLAIM_WAIT_S (another process holds a long write): the event is not
  answered now (`EventClaimBusy`: Slack gets an error and redelivers it within a minute), so
  that two processes never both answer it;
- unusable (no file can be created there, not a database, disk error; a PostgreSQL server
  that is down, restarting or cannot be reached): no process can record claims, so each one
  dedupes what it receives in memory and answers; a redelivery that reaches another process
  may then be answered twice. Said once in the log when it starts, and again when claims are
  shared again.

A claim that is never finished belongs to a process that died mid-answer. After `lease`
(PAMBOT_EVENT_LEASE_SECONDS, default CLAIM_LEASE) a redelivery may take it over: a short
lease answers sooner after a crash; if the dead process had already posted its answer, the
message is answered twice. A lease longer than Slack's retries (about 6 minutes) never
answers twice, but leaves unanswered a message whose process died before posting.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.querylog import store
from bot.querylog.schema import connect, file_id, migrate, now_iso, utc_iso
from bot.querylog.store import Connection, close_quietly, is_postgres, shown

if TYPE_CHECKING:
    from collections.abc import Iterator

logger = logging.getLogger("pambot.querylog")

# On the answer's path: Slack wants its answer within 3 seconds.
CLAIM_WAIT_S = 2.0
CLAIM_LEASE = timedelta(seconds=30)
LOCAL_CLAIMS_MAX = 10_000


class EventDeferred(Exception):
    """This delivery of an event is not answered now; Slack's redelivery will be."""


class EventClaimBusy(EventDeferred):
    """The claim store stayed locked past CLAIM_WAIT_S; leave the event to Slack's redelivery."""


class EventInProgress(EventDeferred):
    """Another delivery of the event is being answered; if that fails, a redelivery answers."""


class EventClaims:
    """Claims in the `events` table of the log at `path` (a file, or a PostgreSQL URL); in
    memory only when it is unusable."""

    def __init__(self, path: str, *, lease: timedelta = CLAIM_LEASE) -> None:
        self.path = os.fspath(path)
        self.lease = lease
        self._lock = threading.Lock()
        self._db: Connection | None = None
        self._pool: store.Pool | None = None
        self._migrated = False
        self._opened: tuple[int, int] | None = None
        self._local: OrderedDict[str, str] = OrderedDict()
        self._unusable = False

    def claim(self, event_id: str) -> bool:
        """True if this process should answer `event_id`, which is now claimed for it; False
        if it was answered. EventInProgress while another delivery is answering it."""
        with self._lock:
            known = self._local.get(event_id)
            if known == "answered":
                return False
            if known == "claimed":
                raise EventInProgress(event_id)
            changed = self._run(
                "INSERT INTO events (event_id, ts, state) VALUES (?, ?, 'claimed') "
                "ON CONFLICT (event_id) DO UPDATE SET ts = excluded.ts, state = 'claimed' "
                "WHERE events.state = 'released' "
                "OR (events.state = 'claimed' AND events.ts < ?)",
                [event_id, now_iso(), utc_iso(datetime.now(UTC) - self.lease)],
                busy_raises=True,
            )
            if changed is not None and changed != 1:
                if self._state(event_id) == "answered":
                    return False
                raise EventInProgress(event_id)
            self._local[event_id] = "claimed"
            while len(self._local) > LOCAL_CLAIMS_MAX:
                self._local.popitem(last=False)
            return True

    def finish(self, event_id: str, *, answered: bool) -> bool:
        """Record the end of a claim; False if the file could not be updated just now."""
        state = "answered" if answered else "released"
        with self._lock:
            if answered:
                self._local[event_id] = state
            else:
                self._local.pop(event_id, None)
            changed = self._run("UPDATE events SET state = ?, ts = ? WHERE event_id = ?",
                                [state, now_iso(), event_id])
            return changed is not None

    def _state(self, event_id: str) -> str | None:
        """The event's state in the file; None if it cannot be read (then it is treated as
        in progress: Slack delivers it again, which costs nothing)."""
        try:
            with self._connection() as db:
                row = db.execute("SELECT state FROM events WHERE event_id = ?",
                                 [event_id]).fetchone()
        except store.failures():
            return None
        return row[0] if row else None

    def reopen(self) -> None:
        """Forget the connection (the file was replaced); the next claim opens it again."""
        with self._lock:
            self._disconnect()

    def close(self) -> None:
        with self._lock:
            self._disconnect()
            if self._pool is not None:
                store.release(self._pool)
                self._pool = None

    @contextlib.contextmanager
    def _connection(self) -> Iterator[Connection]:
        """The claims' connection: the file's own (reopened if the file was replaced), or
        one of the process's PostgreSQL pool."""
        if is_postgres(self.path):
            if self._pool is None:
                self._pool = store.pool(self.path)
            with self._pool.connection() as db:
                if not self._migrated:
                    migrate(db)  # the `events` table, if no other process has made it yet
                    self._migrated = True
                yield db
            return
        if self._db is not None and file_id(self.path) != self._opened:
            self._disconnect()
        if self._db is None:
            self._db = connect(self.path, busy_timeout=CLAIM_WAIT_S)
            self._opened = file_id(self.path)
        yield self._db

    def _run(self, sql: str, params: list[Any], *, busy_raises: bool = False) -> int | None:
        """One write's row count; None if the store is unusable (the in-memory policy)."""
        try:
            with self._connection() as db:
                changed = db.execute(sql, params).rowcount
        except store.failures() as exc:
            if store.busy(exc):
                if not busy_raises:
                    return None
                logger.warning(
                    "query log %s: the Slack event claims were locked for over %.1f s; not "
                    "answering this event now, so that no process answers it twice (Slack "
                    "redelivers it)", shown(self.path), CLAIM_WAIT_S)
                raise EventClaimBusy(store.reason(exc)) from None
            return self._unusable_now(exc)
        if self._unusable:
            self._unusable = False
            logger.info("query log %s: Slack event claims are shared across processes again",
                        shown(self.path))
        return changed

    def _unusable_now(self, exc: Exception) -> None:
        self._disconnect()
        if not self._unusable:
            self._unusable = True
            logger.warning(
                "query log %s cannot record Slack event claims (%s); until it can, this "
                "process dedupes the events it receives in memory, so a redelivery that "
                "reaches another process may be answered twice", shown(self.path),
                store.described(exc))
        return None

    def _disconnect(self) -> None:
        close_quietly(self._db, self.path)
        self._db = None
        self._opened = None
