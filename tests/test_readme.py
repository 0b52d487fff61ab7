"""The README stays true: its example output is real, its commands parse, its variables exist."""

import re
import shlex
from pathlib import Path

import pytest

from bot.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def shell_commands() -> list[str]:
    """Every `pambot ...` line in the README's sh code blocks (variables and comments stripped)."""
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", README, re.S):
        for line in block.splitlines():
            line = line.split("  #")[0].strip()
            words = shlex.split(line, comments=True)
            while words and re.fullmatch(r"[A-Z_]+=.*", words[0]):
                words.pop(0)
            if words and words[0] == "pambot":
                commands.append(" ".join(shlex.quote(w) for w in words))
    return commands


def test_the_first_screen_names_the_install_run_and_test_commands():
    first_screen = README[: README.index("## Asking questions")]
    assert "pip install -e '.[dev]'" in first_screen
    assert "\npambot\n" in first_screen
    assert 'pambot ask "upgrade 6.5.4"' in first_screen
    assert "\npytest\n" in first_screen


def test_the_example_answer_is_what_pambot_prints(run_pambot):
    shown = re.search(r'pambot ask "upgrade 6.5.4"\n```\n\n```text\n(.*?)```', README, re.S)
    assert shown, "the README's first example and its output block"
    result = run_pambot("ask", "upgrade 6.5.4")
    assert result.stdout.strip() == shown.group(1).strip()


@pytest.mark.parametrize("command", shell_commands())
def test_every_readme_command_is_a_real_command(command):
    words = shlex.split(command)[1:]
    words = [w for w in words if w not in ("<",) and not w.endswith(".txt")]
    try:
        build_parser().parse_args(words)
    except SystemExit as exit_:  # argparse exits 2 on an unknown command or flag
        pytest.fail(f"README command does not parse: {command} ({exit_})")


def test_every_variable_the_readme_names_is_read_by_the_config():
    config_source = (ROOT / "bot" / "config.py").read_text()
    named = set(re.findall(r"\b((?:SLACK|PAMBOT)_[A-Z_]+|PORT)\b", README))
    assert named, "the README names its variables"
    missing = {name for name in named if f'"{name}"' not in config_source}
    assert not missing, f"README names variables the config never reads: {sorted(missing)}"
