"""The commands that are not Slack's on a PostgreSQL `PAMBOT_DB`: `pambot ask`, `pambot
shell`, and `pambot log serve`, which shows Datasette a SQLite snapshot and says so."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time

import pytest

from bot.querylog import QueryLog, Runbooks, StateStore
from rules import answer
from tests.bot.log.test_dashboard_host import get
from tests.conftest import PAMBOT, sql


def test_ask_and_shell_log_their_questions_in_postgresql(pg_target, pambot_cli):
    env = {"PAMBOT_DB": pg_target}
    asked = pambot_cli("ask", "upgrade 6.5.4", env=env)
    assert asked.exit_code == 0, asked.output
    assert "Backup and restore required" in asked.stdout
    talked = pambot_cli("shell", input="restore\nthe leader\n", env=env)
    assert talked.exit_code == 0, talked.output
    assert sql(pg_target, "SELECT source, text, typed FROM queries ORDER BY id") == [
        ("cli", "upgrade 6.5.4", None), ("shell", "restore", None),
        ("shell", "restore leader", "the leader")]
    stats = pambot_cli("log", "stats", env=env)
    assert stats.exit_code == 0 and ": 3 queries since" in stats.stdout


@pytest.mark.slow
def test_log_serve_shows_a_snapshot_of_postgresql_and_says_so(pg_target, tmp_path):
    log = QueryLog(pg_target)
    log.record_query(answer("upgrade 6.5.4"), source="cli", elapsed_ms=1.0)
    log.close()
    Runbooks(StateStore(pg_target)).start(channel="C1", answer_ts="1.2", item=0,
                                          question="restore leader", steps=("a", "b"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "PAMBOT_"))}
    env["PAMBOT_DB"] = pg_target
    process = subprocess.Popen([PAMBOT, "log", "serve", "--port", str(port)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while get(port, "/-/versions.json", f"127.0.0.1:{port}")[0] != 200:
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        status, body = get(port, "/pambot/queries.json", f"127.0.0.1:{port}")
        assert status == 200 and "upgrade 6.5.4" in body
        status, body = get(port, "/pambot/runbooks.json", f"127.0.0.1:{port}")
        assert status == 200 and "restore leader" in body
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=20)
    first = err.splitlines()[0]
    assert first.startswith("pambot log serve: Datasette opens SQLite files only, so this is a "
                            "snapshot of postgresql://postgres@127.0.0.1:")
    assert "(2 rows)" in first and "restart pambot log serve to refresh it" in first
    password = pg_target.split("://", 1)[1].split("@", 1)[0].partition(":")[2]
    assert password not in err
    # The snapshot went with it.
    assert not [p for p in os.listdir("/tmp") if p.startswith("pambot-snapshot-")
                and os.path.exists(f"/tmp/{p}/pambot.db")]
