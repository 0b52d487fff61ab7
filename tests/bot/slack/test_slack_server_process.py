"""Starting and stopping `pambot serve`: settings checked up front, the log flushed on SIGTERM."""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

# Starts real processes or servers: skipped by a quick `pytest -m "not slow"`.
pytestmark = pytest.mark.slow

PAMBOT = str(Path(sys.executable).with_name("pambot"))


def serve(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([PAMBOT, "serve", "--port", "9"], env=env,
                          capture_output=True, text=True, timeout=60)


def test_serve_without_the_signing_secret_stops_with_a_sentence(slack_env):
    del slack_env["SLACK_SIGNING_SECRET"]
    done = serve(slack_env)
    assert done.returncode == 2
    assert "SLACK_SIGNING_SECRET is not set" in done.stderr


def test_serve_without_the_bot_token_stops_with_a_sentence(slack_env):
    del slack_env["SLACK_BOT_TOKEN"]
    done = serve(slack_env)
    assert done.returncode == 2
    assert "SLACK_BOT_TOKEN is not set" in done.stderr


def test_serve_with_a_refused_bot_token_stops_with_a_sentence(standin, slack_env):
    standin.fail_next("auth.test", body={"ok": False, "error": "invalid_auth"})
    done = serve(slack_env)
    assert done.returncode == 2
    assert "SLACK_BOT_TOKEN was refused" in done.stderr and "invalid_auth" in done.stderr
    assert "Traceback" not in done.stderr


def test_sigterm_flushes_queued_log_rows(fresh_server, slack_to, standin):
    server = fresh_server()
    slack = slack_to(server)
    for n in range(20):
        reply = slack.event({"type": "app_mention", "user": "U0ASKER", "channel": "C0SIGTERM",
                             "ts": f"1700000050.{n:06d}", "text": "<@U0BOT> upgrade 6.5.4"})
        assert reply.status == 200
    assert fresh_server.stop(server) == 0
    with sqlite3.connect(server.db_path) as db:
        [(count,)] = db.execute("SELECT count(*) FROM queries WHERE channel = 'C0SIGTERM'")
    assert count == 20


def test_an_unwritable_query_log_costs_no_answer(fresh_server, slack_to, standin, tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the log's directory should be")
    server = fresh_server(db_path=blocker / "pambot.db")
    slack = slack_to(server)
    reply = slack.command("upgrade 6.5.4")
    assert reply.status == 200 and "upgrade-6.5.4" in reply.text
    body = slack.event_body({"type": "app_mention", "user": "U0ASKER", "channel": "C0NOLOG",
                             "ts": "1700000060.000100", "text": "<@U0BOT> backup"})
    assert slack.event({}, body=body).status == 200
    # Dedupe falls back to memory: the redelivery is still not answered twice.
    assert slack.event({}, body=body, retry=1).status == 200
    assert len(standin.posted(lambda c: c.body.get("channel") == "C0NOLOG")) == 1
    assert server.healthy()


def test_a_locked_query_log_costs_no_answer(fresh_server, slack_to, standin):
    server = fresh_server()
    slack = slack_to(server)
    assert slack.command("backup").status == 200  # the log file and its schema exist now
    server.rows("SELECT id FROM queries")
    mention = slack.event_body({"type": "app_mention", "user": "U0ASKER", "channel": "C0LOCKED",
                                "ts": "1700000061.000100", "text": "<@U0BOT> restore leader"})
    with sqlite3.connect(server.db_path, timeout=0, isolation_level=None) as db:
        db.execute("BEGIN EXCLUSIVE")
        try:
            reply = slack.command("upgrade 6.5.4")
            assert reply.status == 200 and "upgrade-6.5.4" in reply.text
            # The event cannot be claimed: it is left for Slack's redelivery, not risked twice.
            assert slack.event({}, body=mention).status == 503
            assert standin.posted(lambda c: c.body.get("channel") == "C0LOCKED") == []
        finally:
            db.execute("ROLLBACK")
    assert slack.event({}, body=mention, retry=1).status == 200
    assert slack.event({}, body=mention, retry=2).status == 200
    assert len(standin.posted(lambda c: c.body.get("channel") == "C0LOCKED")) == 1
    # Once the lock is gone, the queued rows are written.
    assert server.rows("SELECT id FROM queries WHERE channel = 'C0LOCKED'")
    assert "not answering this event now" in server.log()


def test_a_healthy_start_logs_no_warning(fresh_server, slack_to):
    # An operator reads a warning at start-up as something to fix; a healthy start has none.
    server = fresh_server()
    assert slack_to(server).command("upgrade 6.5.4").status == 200
    assert fresh_server.stop(server) == 0
    log = server.log()
    assert "ready" in log or "Listening" in log or "listening" in log, log
    assert [line for line in log.splitlines() if "WARNING" in line] == [], log


def one_pambot_line(done: subprocess.CompletedProcess) -> str:
    """The run's whole standard error, which must be one `pambot:` line and nothing else."""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("pambot: "), done.stderr
    return lines[0]


def test_socket_with_a_refused_bot_token_stops_with_one_line(standin, slack_env):
    standin.fail_next("auth.test", body={"ok": False, "error": "invalid_auth"})
    done = subprocess.run([PAMBOT, "socket"], env=slack_env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode != 0
    line = one_pambot_line(done)
    assert "SLACK_BOT_TOKEN was refused" in line and "invalid_auth" in line


@pytest.mark.parametrize("mode", ["serve", "socket"])
def test_an_unreachable_slack_api_stops_start_up_with_one_line(slack_env, mode):
    slack_env["SLACK_API_URL"] = "http://127.0.0.1:9/api/"
    args = ["serve", "--port", "9"] if mode == "serve" else ["socket"]
    done = subprocess.run([PAMBOT, *args], env=slack_env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode != 0
    assert "SLACK_API_URL (http://127.0.0.1:9/api/) cannot be reached" in one_pambot_line(done)


def test_serve_on_a_busy_port_stops_with_one_line(slack_env):
    del slack_env["SLACK_APP_TOKEN"]
    with socket.create_server(("0.0.0.0", 0)) as busy:
        port = busy.getsockname()[1]
        done = subprocess.run([PAMBOT, "serve", "--port", str(port)], env=slack_env,
                              capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    line = one_pambot_line(done)
    assert str(port) in line and "in use" in line
