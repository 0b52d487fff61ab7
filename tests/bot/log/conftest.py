"""Fixtures for the query log tests: real SQLite files in tmp_path and real PostgreSQL
databases (`target`, from tests/conftest.py), answers built by hand."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.querylog import QueryLog
from rules import answer
from rules.model import Answer
from tests.conftest import sql

_BASE_ANSWER = answer("upgrade 6.5.4")

# Variables a user's shell might carry that must not reach `pambot log` in a test.
FOREIGN_VARIABLES = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN",
                     "SLACK_API_URL", "PAMBOT_RULES", "PAMBOT_ADMINS",
                     "PAMBOT_LOG_RETENTION_DAYS", "PAMBOT_THREAD_HOURS")


def _answer(query: str = "upgrade 6.5.4", *, intent: str = "upgrade", rule: str = "upgrade-6",
            outcome: str = "path", from_version: str | None = "6.5.4") -> Answer:
    """A real engine answer, with the fields the log counts set to what the test needs."""
    return dataclasses.replace(
        _BASE_ANSWER, query=query, intent=intent, rule=rule, outcome=outcome,
        from_version=from_version,
    )


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "pambot.db"


@pytest.fixture
def open_log() -> Iterator[Callable[..., QueryLog]]:
    """Build `QueryLog`s that are closed at the end of the test, whatever happens."""
    logs: list[QueryLog] = []

    def build(path: str | os.PathLike, **kwargs) -> QueryLog:
        log = QueryLog(path, **kwargs)
        logs.append(log)
        return log

    yield build
    for log in logs:
        log.close(timeout=10)


def _count(path: str | os.PathLike, table: str = "queries") -> int:
    return sql(path, f"SELECT count(*) FROM {table}")[0][0]


@pytest.fixture
def make_answer() -> Callable[..., Answer]:
    """`make_answer(query, intent=, rule=, outcome=)`: an Answer built by hand."""
    return _answer


@pytest.fixture
def count_rows() -> Callable[..., int]:
    """`count_rows(target, table="queries")`: rows in a table, read with the plain driver."""
    return _count


@pytest.fixture
def log_env(db_path: Path) -> dict[str, str]:
    """The environment of a user running `pambot log`: no Slack credentials, PAMBOT_DB set."""
    env = {k: v for k, v in os.environ.items() if k not in FOREIGN_VARIABLES}
    env["PAMBOT_DB"] = str(db_path)
    return env


@pytest.fixture
def pambot_log(pambot_cli, db_path: Path):
    """Run `pambot log ARGS` in this process (click's runner) with PAMBOT_DB at `db_path`."""

    def run(*args: str):
        return pambot_cli("log", *args, env={"PAMBOT_DB": str(db_path)})

    return run


@pytest.fixture
def pambot_log_process(log_env: dict[str, str], tmp_path: Path):
    """Run the installed `pambot log ARGS` console script in a subprocess."""

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(Path(sys.executable).with_name("pambot")), "log", *args],
            capture_output=True, text=True, timeout=60, env=log_env, cwd=tmp_path,
        )

    return run
