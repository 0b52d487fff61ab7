"""Several processes on one file: no row lost, Slack events answered once, SIGTERM flushes."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest
from sqlite_utils import Database

from bot import querylog

# A worker process: logs ROWS queries (and a vote on each tenth) through a real QueryLog.
WRITER = textwrap.dedent("""
    import sys
    from rules import answer
    from bot.querylog import QueryLog

    path, worker, rows = sys.argv[1], sys.argv[2], int(sys.argv[3])
    log = QueryLog(path)
    reply = answer("upgrade 6.5.4")
    for n in range(rows):
        query_id = log.record_query(reply, source="slash", elapsed_ms=1.0, user=worker)
        if n % 10 == 0:
            log.record_feedback(query_id, helpful=True, user=worker)
    if not log.flush(timeout=30):
        sys.exit("rows left unwritten")
    log.close()
""")

# Logs ROWS queries, says "ready", then waits to be killed.
SIGTERMED = textwrap.dedent("""
    import sys, time
    from rules import answer
    from bot.querylog import QueryLog, install_signal_flush

    log = QueryLog(sys.argv[1])
    install_signal_flush(log)
    reply = answer("upgrade 6.5.4")
    for _ in range(int(sys.argv[2])):
        log.record_query(reply, source="slash", elapsed_ms=1.0)
    print("ready", flush=True)
    time.sleep(60)
    sys.exit("SIGTERM did not stop the process")
""")

# Claims one event and holds the claim until its standard input closes.
CLAIMER = textwrap.dedent("""
    import sys
    from bot.querylog import QueryLog

    log = QueryLog(sys.argv[1])
    print("claimed" if log.claim_event(sys.argv[2]) else "refused", flush=True)
    sys.stdin.read()
    log.finish_event(sys.argv[2], answered=sys.argv[3] == "answered")
    log.close()
""")

# Starts real processes or servers: skipped by a quick `pytest -m "not slow"`.
pytestmark = pytest.mark.slow


def _python(script: str, *args: object, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", script, *map(str, args)], text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)


def test_four_processes_on_a_fresh_file_lose_no_row(db_path, count_rows):
    workers = [_python(WRITER, db_path, f"W{n}", 400) for n in range(4)]
    for worker in workers:
        _, err = worker.communicate(timeout=60)
        assert worker.returncode == 0, err
    assert count_rows(db_path) == 1600
    assert count_rows(db_path, "feedback") == 160
    db = Database(db_path)
    assert db.execute("SELECT count(DISTINCT id) FROM queries").fetchone()[0] == 1600
    assert {r["user"]: r["n"] for r in db.query(
        "SELECT user, count(*) AS n FROM queries GROUP BY user")} == {
        "W0": 400, "W1": 400, "W2": 400, "W3": 400}
    assert querylog.schema_version(db) == querylog.SCHEMA_VERSION


def test_sigterm_flushes_rows_that_were_still_queued(db_path, count_rows):
    querylog.connect(db_path).close()
    # Hold the lock so the rows are certainly still queued when SIGTERM arrives.
    holder = sqlite3.connect(db_path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    child = _python(SIGTERMED, db_path, 300)
    try:
        assert child.stdout.readline().strip() == "ready"
        assert count_rows(db_path) == 0
        child.send_signal(signal.SIGTERM)
        time.sleep(0.3)  # let the child begin its exit while the lock is still held
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    _, err = child.communicate(timeout=30)
    assert child.returncode == 128 + signal.SIGTERM, err
    assert count_rows(db_path) == 300


def test_a_slack_event_is_answered_by_one_process_until_released(db_path, open_log):
    open_log(db_path).flush()  # create the file and its schema

    holder = _python(CLAIMER, db_path, "Ev1", "failed", stdin=subprocess.PIPE)
    assert holder.stdout.readline().strip() == "claimed"
    here = open_log(db_path)
    with pytest.raises(querylog.EventInProgress):  # not "done": Slack delivers it again
        here.claim_event("Ev1")
    holder.communicate("", timeout=30)  # the other process fails and releases its claim
    assert here.claim_event("Ev1") is True
    with pytest.raises(querylog.EventInProgress):
        here.claim_event("Ev1")
    here.finish_event("Ev1", answered=True)
    assert here.claim_event("Ev1") is False

    other = _python(CLAIMER, db_path, "Ev1", "answered", stdin=subprocess.PIPE)
    assert other.stdout.readline().strip() == "refused"
    other.communicate("", timeout=30)
