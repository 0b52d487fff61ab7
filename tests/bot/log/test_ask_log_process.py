"""`pambot ask` writes its query log from a thread, off the answers' way: what a user piping
questions sees.

Each test runs the installed console script and talks to it through pipes, as a shell would.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import PAMBOT

pytestmark = pytest.mark.slow


def logged(db_path: str) -> list[str]:
    """The question texts in the log, oldest first ([] while the file does not exist yet)."""
    if not Path(db_path).exists():
        return []
    try:
        with sqlite3.connect(db_path) as db:
            return [text for (text,) in db.execute("SELECT text FROM queries ORDER BY id")]
    except sqlite3.OperationalError:  # the table is being created
        return []


def wait_for(condition, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while not (result := condition()) and time.monotonic() < deadline:
        time.sleep(0.02)
    return result


class Asking:
    """`pambot ask --json` reading questions from a pipe that stays open."""

    def __init__(self, env: dict[str, str], cwd: Path, **popen) -> None:
        self.process = subprocess.Popen(
            [PAMBOT, "ask", "--json"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, env=env, cwd=cwd, **popen)

    def ask(self, question: str) -> dict:
        self.process.stdin.write(question + "\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def finish(self) -> tuple[int, str, str]:
        """Close pambot's standard input and wait for it to end."""
        out, err = self.process.communicate(timeout=60)
        return self.process.returncode, out, err


def test_questions_that_trickle_in_are_logged_while_pambot_still_runs(pambot_env, tmp_path):
    # `tail -f questions | pambot ask`: nobody closes the pipe, the log must not wait for it.
    asking = Asking(pambot_env, tmp_path)
    try:
        assert asking.ask("upgrade 6.5.4")["rule"] == "upgrade-6.5.4"
        assert wait_for(lambda: logged(pambot_env["PAMBOT_DB"]) == ["upgrade 6.5.4"])
        assert asking.ask("restore leader")["rule"] == "restore-leader"
        assert wait_for(lambda: len(logged(pambot_env["PAMBOT_DB"])) == 2)
        assert asking.process.poll() is None
    finally:
        code, _, err = asking.finish()  # closes pambot's standard input
    assert code == 0, err
    assert logged(pambot_env["PAMBOT_DB"]) == ["upgrade 6.5.4", "restore leader"]


def test_answers_go_on_when_the_log_cannot_be_written_and_stderr_says_what_was_lost(
        pambot_env, tmp_path):
    # A PostgreSQL log whose server is down (nothing listens on port 9): the answers come all
    # the same, and at the end one line says how many rows were lost, without the password.
    env = {**pambot_env, "PAMBOT_DB": "postgresql://pambot:hunter2-secret@127.0.0.1:9/pambot"}
    asking = Asking(env, tmp_path)
    try:
        answers = [asking.ask(q) for q in ("restore leader", "upgrade 7.1", "help")]
        assert [a["intent"] for a in answers] == ["restore", "upgrade", "help"]
    finally:
        code, _, err = asking.finish()  # closes pambot's standard input
    assert code == 0, err
    assert "Traceback" not in err
    assert "query log postgresql://pambot@127.0.0.1:9/pambot cannot be written" in err
    assert "3 rows could not be written and are lost" in err
    assert "hunter2" not in err


def test_ctrl_c_keeps_every_question_answered_so_far_in_the_log(pambot_env, tmp_path):
    # The terminal sends SIGINT to the whole foreground group.
    asking = Asking(pambot_env, tmp_path, start_new_session=True)
    try:
        questions = ["upgrade 6.5.4", "restore follower", "is 7.0 end of life?"]
        for question in questions:
            asking.ask(question)
        os.killpg(asking.process.pid, signal.SIGINT)
        code, _, err = asking.finish()
    finally:
        if asking.process.poll() is None:
            asking.process.kill()
    assert code == 130, err
    assert "Traceback" not in err
    assert logged(pambot_env["PAMBOT_DB"]) == questions


def test_a_reader_that_stops_early_gets_its_answers_and_the_log_gets_every_row(
        pambot_env, tmp_path):
    # `pambot ask < questions | head -3`: the reader leaves; pambot answers nobody, and the
    # rows of what it did answer are still written.
    questions = "".join(f"upgrade 6.5.{n % 9}\n" for n in range(3_000))
    head = subprocess.run(
        f"'{PAMBOT}' ask --json | head -3", shell=True, input=questions, capture_output=True,
        text=True, env=pambot_env, cwd=tmp_path, timeout=60)
    assert [json.loads(line)["query"] for line in head.stdout.splitlines()] == [
        "upgrade 6.5.0", "upgrade 6.5.1", "upgrade 6.5.2"]
    assert "Traceback" not in head.stderr
    rows = logged(pambot_env["PAMBOT_DB"])
    assert rows[:3] == ["upgrade 6.5.0", "upgrade 6.5.1", "upgrade 6.5.2"]
