"""Fixtures shared by every test package."""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from click.testing import CliRunner, Result

from bot.cli import main
from rules.load import packaged_rules_dir

# The console script `pip install` put beside this interpreter.
PAMBOT = str(Path(sys.executable).with_name("pambot"))

# Variables that would make a test talk to a real workspace or pick a mode.
SLACK_VARIABLES = (
    "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_API_URL", "PORT",
    "PAMBOT_DB", "PAMBOT_RULES", "PAMBOT_ADMINS", "PAMBOT_LOG_RETENTION_DAYS",
    "PAMBOT_LOG_FORMAT", "PAMBOT_LOG_LEVEL", "PAMBOT_HEALTH_PORT",
    "PAMBOT_THREAD_HOURS",
)


# The keys of `pambot ask --json` that other tools depend on (the rules engine issue).
JSON_CONTRACT_KEYS = frozenset({
    "query", "intent", "from_version", "to_version", "node", "rule", "source",
    "backup_restore_required", "follower_rebuild", "contact_support", "steps", "warnings",
    "text",
})


# Fixtures that start a process or a server (pambot itself, the Slack stand-in, Datasette):
# a test that uses one is slow, and the README's quick run (`-m "not slow"`) leaves it out.
STARTS_PROCESSES = frozenset({
    "pambot_server", "fresh_server", "standin", "slack", "slack_to", "websocket",
    "run_pambot", "pambot_script", "pambot_log_process", "dashboard", "replicas",
})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Stop the run, naming them, if tests that start processes are not marked slow."""
    unmarked = [item.nodeid for item in items
                if STARTS_PROCESSES & set(getattr(item, "fixturenames", ()))
                and item.get_closest_marker("slow") is None]
    if unmarked:
        files = sorted({nodeid.split("::")[0] for nodeid in unmarked})
        raise pytest.UsageError(
            f"{len(unmarked)} test(s) start a process or a server but are not marked "
            f"@pytest.mark.slow (so -m 'not slow' would run them), in: {', '.join(files)}")


# The PostgreSQL database the tests may use (.ci/postgres starts a throwaway one and sets it),
# and the directory of its cluster, for the tests that restart it.
POSTGRES_URL = "PAMBOT_TEST_POSTGRES_URL"
POSTGRES_DATA = "PAMBOT_TEST_POSTGRES_DATA"
BACKENDS = ("sqlite", "postgresql")


def need(variable: str, what: str) -> str:
    """The value of `variable`; without it the test is skipped, saying why, or under CI
    (CI=true, as .ci/run sets) it fails: CI must run every test on both backends."""
    value = os.environ.get(variable, "").strip()
    if not value:
        message = (f"{what} needs {variable}: `eval \"$(.ci/postgres start DIR)\"` starts a "
                   "throwaway PostgreSQL and sets it (.ci/run does)")
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    return value


@contextlib.contextmanager
def postgres_schema(url: str):
    """A URL for a new, empty schema in the database at `url` (through libpq's `options`, as a
    user's own options pass through PAMBOT_DB); dropped afterwards with all it holds."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {name}")
    separator = "&" if "?" in url else "?"
    try:
        yield f"{url}{separator}options={quote(f'-csearch_path={name}')}"
    finally:
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {name} CASCADE")


def _pg_ctl(*args: str) -> None:
    """Run pg_ctl on the test cluster, as its owner (`postgres` when we are root)."""
    import glob
    import shlex

    data = need(POSTGRES_DATA, "stopping and starting PostgreSQL")
    pg_ctl = shutil.which("pg_ctl") or (sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
                                        or ["pg_ctl"])[-1]
    command = [pg_ctl, "-D", data, "-w", "-t", "60", *args]
    if "start" in args:
        # The options it was started with (port, address...), as `pg_ctl restart` reuses them.
        opts = shlex.split(Path(data, "postmaster.opts").read_text())[1:]
        while "-D" in opts:
            index = opts.index("-D")
            del opts[index:index + 2]
        command += ["-l", str(Path(data).parent / "postgres.log"), "-o", shlex.join(opts)]
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    subprocess.run(command, check=True, capture_output=True, timeout=90)


@contextlib.contextmanager
def postgres_stopped():
    """The test cluster stopped (fast: connections are cut, as a restart cuts them) for the
    duration, then started again on the same port."""
    _pg_ctl("-m", "fast", "stop")
    try:
        yield
    finally:
        _pg_ctl("start")


@pytest.fixture
def pg_target():
    """PAMBOT_DB for a PostgreSQL database of this test's own (a schema of its own)."""
    with postgres_schema(need(POSTGRES_URL, "a PostgreSQL test")) as url:
        yield url


@pytest.fixture(params=BACKENDS)
def target(request, tmp_path: Path) -> str:
    """PAMBOT_DB for a log of this test's own, on each backend in turn: a SQLite file in
    tmp_path, then a PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "pambot.db")
    return request.getfixturevalue("pg_target")


def sql(target: str | os.PathLike, statement: str, params: tuple | list = ()) -> list[tuple]:
    """Run `statement` (with `?` placeholders) on the log at `target` with the plain driver,
    not pambot's code; the rows it returns (none for a statement that returns none)."""
    target = os.fspath(target)
    if target.startswith(("postgresql://", "postgres://")):
        import psycopg

        with psycopg.connect(target, autocommit=True) as db:
            cursor = db.execute(statement.replace("?", "%s"), list(params) or None)
            return cursor.fetchall() if cursor.description else []
    db = sqlite3.connect(target, timeout=10)
    try:
        cursor = db.execute(statement, params)
        rows = cursor.fetchall()
        db.commit()
        return rows
    finally:
        db.close()


@pytest.fixture(scope="session")
def contract_keys() -> frozenset[str]:
    """The JSON keys every `pambot ask --json` answer must have, by these exact names."""
    return JSON_CONTRACT_KEYS


@pytest.fixture
def rules_copy(tmp_path: Path) -> Path:
    """A writable copy of the packaged rule files, to break in a test."""
    target = tmp_path / "rules"
    shutil.copytree(packaged_rules_dir(), target)
    return target


@pytest.fixture
def pambot_env(tmp_path: Path) -> dict[str, str]:
    """An environment for running `pambot` as a user would: no Slack credentials, log in tmp."""
    env = {k: v for k, v in os.environ.items() if k not in SLACK_VARIABLES}
    env["PAMBOT_DB"] = str(tmp_path / "pambot.db")
    env["HOME"] = str(tmp_path)
    return env


@pytest.fixture
def pambot_script() -> str:
    """The path of the installed `pambot` console script."""
    return PAMBOT


@pytest.fixture
def run_pambot(pambot_env: dict[str, str], tmp_path: Path):
    """Run the installed `pambot` console script in a subprocess, as a user would."""

    def run(*args: str, input: str | None = None, env: dict | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run(
            [PAMBOT, *args],
            input=input, capture_output=True, text=True, timeout=timeout,
            env={**pambot_env, **(env or {})}, cwd=tmp_path,
        )

    return run


@pytest.fixture
def pambot_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Run `pambot ARGS` in this process through click's runner, as a user in tmp_path would.

    No Slack credentials, the log at tmp_path/pambot.db; `env` adds or (with None) removes
    variables. The result has `exit_code`, `stdout` and `stderr`.
    """
    monkeypatch.chdir(tmp_path)

    def invoke(*args: str, input: str | bytes | None = None,
               env: dict[str, str | None] | None = None) -> Result:
        base: dict[str, str | None] = {name: None for name in SLACK_VARIABLES}
        base.update(PAMBOT_DB=str(tmp_path / "pambot.db"), HOME=str(tmp_path))
        return CliRunner().invoke(main, list(args), input=input, env={**base, **(env or {})})

    return invoke
