"""Slack event dedupe across worker processes, with a bounded in-memory fallback."""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlite_utils import Database

from bot.querylog.schema import close_quietly, now_iso, utc_iso

logger = logging.getLogger("pambot.querylog")

# `claim_event` is on the answer's path (before Slack's 3-second deadline), so it may not wait
# long for a lock.
CLAIM_BUSY_TIMEOUT_S = 0.05
# A claim this old, never finished, belongs to a worker that died mid-answer; Slack's retry
# (the first comes within a minute) may take it over.
CLAIM_TTL = timedelta(seconds=30)
LOCAL_CLAIMS_MAX = 10_000
# How long the very first claims of a process wait for the writer to create the schema.
WRITER_READY_WAIT_S = 0.5


class EventClaims:
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
                [event_id, now_iso(), utc_iso(datetime.now(UTC) - CLAIM_TTL)],
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
                [state, now_iso(), event_id],
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
        close_quietly(self._db, self.path)
        self._db = None


