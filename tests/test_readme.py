"""The README stays true: its example output is real, its commands parse, its variables exist."""

import re
import shlex
import subprocess
import sys
from pathlib import Path

import click
import pytest

from bot.cli import main
from bot.querylog import QueryLog
from rules import answer

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def shell_commands() -> list[str]:
    """Every `pambot ...` line in the README's sh code blocks (variables and comments stripped)."""
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", README, re.S):
        for line in block.splitlines():
            line = re.sub(r"^(?:[A-Z_]+=\S*\s+)*", "", line.split("  #")[0].strip())
            if line == "pambot" or line.startswith("pambot "):
                commands.append(line)
    return commands


INSTALL_LINE = "python3 -m venv .venv && . .venv/bin/activate && pip install '.[dev]'"


def test_the_first_screen_names_the_install_run_and_test_commands():
    first_screen = README[: README.index("## Asking questions")]
    assert f"```sh\n{INSTALL_LINE}\n```" in first_screen
    assert "\npambot\n" in first_screen
    assert 'pambot ask "upgrade 6.5.4"' in first_screen
    assert "\npytest\n" in first_screen


@pytest.mark.slow
def test_ci_runs_the_readme_install_line_non_editably():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "grep -m1 '^python3 -m venv ' README.md" in ci and 'eval "$install_line"' in ci
    assert [line for line in README.splitlines() if line.startswith("python3 -m venv ")][0] \
        == INSTALL_LINE
    assert "pip install -e" not in ci


@pytest.mark.slow
def test_the_example_answer_is_what_pambot_prints(run_pambot):
    shown = re.search(r'pambot ask "upgrade 6.5.4"\n```\n\n```text\n(.*?)```', README, re.S)
    assert shown, "the README's first example and its output block"
    result = run_pambot("ask", "upgrade 6.5.4")
    assert result.stdout.strip() == shown.group(1).strip()


def test_the_explain_example_is_what_pambot_prints(pambot_cli):
    shown = re.search(r'pambot ask --explain "(.*?)"\n```\n\n```text\n(.*?)```', README, re.S)
    assert shown, "the README's --explain example and its output block"
    result = pambot_cli("ask", "--explain", shown.group(1))
    assert result.stdout.startswith(shown.group(2))


@pytest.mark.parametrize("command", shell_commands())
def test_every_readme_command_is_a_real_command(command):
    words = shlex.split(command)[1:]
    shell = [i for i, word in enumerate(words) if word in (">", "<", "|")]
    if shell:  # a redirection or a pipe is the shell's, not pambot's
        words = words[:shell[0]]
    try:
        resolve(words)
    except click.ClickException as error:
        pytest.fail(f"README command does not parse: {command} ({error.format_message()})")


def resolve(words: list[str]) -> click.Command:
    """The command `pambot WORDS` names, its options checked by click, without running it."""
    ctx = main.make_context("pambot", list(words))
    while isinstance(ctx.command, click.Group):
        rest = [*ctx._protected_args, *ctx.args]
        if not rest:
            break
        name, command, rest = ctx.command.resolve_command(ctx, rest)
        ctx = command.make_context(name, rest, parent=ctx)
    return ctx.command


@pytest.mark.slow
def test_the_readme_sqlite_utils_query_finds_support_answers(tmp_path, pambot_env):
    block = re.search(r"```sh\n(sqlite-utils pambot.db .*?)```", README, re.S).group(1)
    db = tmp_path / "pambot.db"
    log = QueryLog(db)
    log.record_query(answer("upgrade 5.0"), source="cli", elapsed_ms=1.0, user="U1")
    log.record_query(answer("upgrade 6.5.4"), source="cli", elapsed_ms=1.0, user="U2")
    log.close()
    command = shlex.split(block.replace("\n", " "))
    command[0] = str(Path(sys.executable).with_name("sqlite-utils"))
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=60,
                            env=pambot_env)
    assert result.returncode == 0, result.stderr
    assert "upgrade 5.0" in result.stdout
    assert "upgrade-earlier-than-5.2" in result.stdout
    assert "upgrade 6.5.4" not in result.stdout


def test_every_variable_the_readme_names_is_read_by_the_config():
    config_source = (ROOT / "bot" / "config.py").read_text()
    named = set(re.findall(r"\b((?:SLACK|PAMBOT)_[A-Z_]+|PORT)\b", README))
    assert named, "the README names its variables"
    missing = {name for name in named if f'"{name}"' not in config_source}
    assert not missing, f"README names variables the config never reads: {sorted(missing)}"


@pytest.mark.slow
def test_the_teaching_walk_through_runs_as_written(pambot_env, tmp_path):
    """Each sh block of "Teaching pambot your team's words", run in bash one after the
    other as a newcomer pastes them, prints the text block that follows it (dates, times
    and who taught the phrase being the reader's own)."""
    section = README[README.index("### Teaching pambot your team's words"):]
    walk = section[section.index("A walk-through"):section.index("Learned phrases live")]
    steps = re.findall(r"```sh\n(.*?)```\n\n```text\n(.*?)```", walk, re.S)
    assert len(steps) == 5, "ask, review, learn, ask again, diff"
    bin_dir = Path(sys.executable).parent  # where the install put `pambot`
    env = {**pambot_env, "PATH": f"{bin_dir}:{pambot_env['PATH']}"}
    del env["PAMBOT_DB"]  # the walk-through exports its own
    exports = ""  # an `export` carries on to the next step, as in one terminal
    for commands, shown in steps:
        ran = subprocess.run(["bash", "-e", "-c", exports + commands], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=120)
        assert ran.returncode == 0, ran.stderr
        assert mask(ran.stdout) == mask(shown), commands
        exports += "".join(line + "\n" for line in commands.splitlines()
                           if line.startswith("export "))
    assert (tmp_path / "walkthrough.db").exists()


def mask(text: str) -> str:
    text = re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d", "DATE", text)
    return re.sub(r"taught by [^)]+\)", "taught by NAME)", text).strip()
