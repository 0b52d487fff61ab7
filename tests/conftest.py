"""Fixtures shared by every test package."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

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
    "run_pambot", "pambot_script", "pambot_log_process", "dashboard",
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
