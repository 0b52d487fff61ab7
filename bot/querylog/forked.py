"""`ForkedQueryLog`: the query log of `pambot ask`, written by a child process.

A piped batch answers tens of thousands of questions a second. When a thread of the same
process wrote their rows, the two took turns at the interpreter lock, and writing the log
took most of the batch's time (bench/bench_ask.py: 0.81 s for 20,000 questions; 0.44 s this
way). Here the rows go down a pipe, a thousand at a time (and at least every 0.2 s when they
trickle in), to a child process forked when the log opens; the child runs an ordinary
`QueryLog` (the same schema, batching, repairs and warnings) on another core.

    >>> log = ForkedQueryLog("pambot.db", retention_days=90)
    >>> query_id = log.record_query(answer, source="cli", elapsed_ms=0.1)
    >>> log.close()          # sends the last rows and waits until the child has written them

If the child ends early, its warning is in the log and answers go on; rows sent after that are
counted and reported on close.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import sys
import threading
from typing import TYPE_CHECKING

from bot.querylog.schema import new_id
from bot.querylog.writer import QueryLog, query_row

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    from rules.model import Answer

logger = logging.getLogger("pambot.querylog")

# The child writes until it is done; how long to wait for it is the parent's `close(timeout)`.
CHILD_CLOSE_S = 24 * 3600.0
# Rows per message down the pipe: few enough that the child starts writing early, many enough
# that sending costs the parent almost nothing.
BATCH_ROWS = 1_000
# Rows that arrive slowly (`tail -f questions | pambot ask`) are sent at least this often.
SEND_EVERY_S = 0.2


def can_fork() -> bool:
    """True where a child process can be forked safely: the platform has fork (not Windows)
    and this process runs no other thread (a lock another thread holds at the fork would
    never be released in the child)."""
    return "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1


class ForkedQueryLog:
    """Records query rows from this process into the SQLite file at `path`, written by a child.

    Fork it before any other thread starts and before anything is written to standard output.
    `retention_days` is the child `QueryLog`'s; it holds up to `max_pending` rows in memory
    before the parent waits.
    """

    def __init__(self, path: str | os.PathLike, *, retention_days: int | None = None,
                 max_pending: int = 20_000) -> None:
        self.path = os.fspath(path)
        self._rows: list[tuple] = []
        self._not_sent = 0
        sys.stdout.flush()  # else the child would inherit, and one day print, buffered output
        context = multiprocessing.get_context("fork")
        reader, self._pipe = context.Pipe(duplex=False)
        self._child = context.Process(
            target=_write_rows,
            args=(reader, self._pipe, self.path, retention_days, max(1, max_pending // BATCH_ROWS)),
            name="pambot-querylog", daemon=True)
        self._child.start()
        reader.close()
        self._lock = threading.Lock()  # the rows and the pipe: the caller's and the sender's
        self._closing = threading.Event()
        self._sender = threading.Thread(target=self._send_now_and_then, daemon=True,
                                        name=f"pambot-querylog-sender:{self.path}")
        self._sender.start()

    def record_query(self, answer: Answer, *, source: str, elapsed_ms: float,
                     rules_version: str | None = None, typed: str | None = None) -> int:
        """Queue one answered question; return its new id. Never raises."""
        query_id = new_id()
        try:
            row = query_row(query_id, answer, source=source, elapsed_ms=elapsed_ms,
                            rules_version=rules_version, typed=typed)
            with self._lock:
                self._rows.append(row)
                if len(self._rows) >= BATCH_ROWS:
                    self._send()
        except Exception:
            logger.exception("query log %s: skipped a query row that could not be built",
                             self.path)
        return query_id

    def close(self, timeout: float = 60.0) -> None:
        """Send the last rows, then wait up to `timeout` seconds for the child to write them
        and end. Idempotent."""
        self._closing.set()
        self._sender.join()
        with self._lock:
            self._send()
            if self._pipe is not None:
                self._pipe.close()
                self._pipe = None
        self._child.join(timeout)
        if self._child.is_alive():
            self._child.terminate()
            logger.warning("query log %s: its writer was still busy after %.1f s; the rows it "
                           "had not written are lost", self.path, timeout)
        elif self._child.exitcode != 0:
            logger.warning("query log %s: its writer process ended with exit code %s; rows "
                           "it had not written yet are lost", self.path, self._child.exitcode)
        if self._not_sent:
            logger.warning("query log %s: %d rows were not written (the writer process had "
                           "ended)", self.path, self._not_sent)
            self._not_sent = 0

    def _send_now_and_then(self) -> None:
        while not self._closing.wait(SEND_EVERY_S):
            with self._lock:
                self._send()

    def _send(self) -> None:
        """Send the rows held so far. Call with `_lock` held."""
        rows, self._rows = self._rows, []
        if not rows:
            return
        if self._pipe is None:
            self._not_sent += len(rows)
            return
        try:
            self._pipe.send(rows)
        except OSError:  # the child has ended: its own warning says why
            self._not_sent += len(rows)
            self._pipe.close()
            self._pipe = None


def _write_rows(pipe: Connection, parents_end: Connection, path: str,
                retention_days: int | None, max_batches: int) -> None:
    """The child: every batch from `pipe` into a `QueryLog`, until the parent closes it."""
    # A copy of the parent's end of the pipe, inherited: open here, it would keep the pipe
    # from ever ending.
    parents_end.close()
    # Ctrl-C is for the parent, which then closes the pipe: the rows sent so far are written.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The answers are the parent's; whoever reads them must not wait for this process.
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    log = QueryLog(path, retention_days=retention_days, max_pending=max_batches,
                   wait_for_room=True, gather=0)
    try:
        while True:
            log.record_rows(pipe.recv())
    except EOFError:
        pass  # the parent has sent everything
    finally:
        log.close(timeout=CHILD_CLOSE_S)
