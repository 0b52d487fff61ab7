"""`pambot shell`: the local stand-in for Slack, like Errbot's text backend.

The same engine and answers, typed at a prompt, so anyone can try the bot
without a Slack workspace. From a pipe it answers each line and exits.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from pathlib import Path

from bot.ask import answer_lines, open_querylog, ruleset_for, tolerate_bad_text
from bot.config import Config
from rules import answer

PROMPT = "pam> "
HISTORY_FILE = Path("~/.pambot_history")
QUIT_WORDS = {"quit", "exit", ":q"}


def run_shell(config: Config, stdin=None, stdout=None) -> int:
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    tolerate_bad_text(stdin, stdout)
    ruleset = ruleset_for(config)
    querylog = open_querylog(config)
    try:
        if not stdin.isatty():
            answer_lines(stdin, ruleset, stdout, as_json=False, source="shell",
                         querylog=querylog)
            return 0
        _interactive(ruleset, querylog, stdout)
        return 0
    finally:
        querylog.close()


def _interactive(ruleset, querylog, stdout) -> None:
    history = _enable_history()
    stdout.write(
        "pambot local shell: answers from "
        f"{ruleset.origin}. Try 'upgrade 6.5.4', 'restore leader' or 'help'; "
        "'quit' or Ctrl-D to leave.\n"
    )
    while True:
        try:
            line = input(PROMPT)
        except EOFError:
            stdout.write("\n")
            break
        except KeyboardInterrupt:
            stdout.write("\n")
            continue
        if line.strip().casefold() in QUIT_WORDS:
            break
        started = time.perf_counter()
        result = answer(line, ruleset)
        stdout.write(result.text + "\n\n")
        querylog.record_query(result, source="shell",
                              elapsed_ms=(time.perf_counter() - started) * 1000)
    if history:
        history()


def _enable_history():
    """Line editing and history in ~/.pambot_history where readline exists; returns a saver."""
    try:
        import readline
    except ImportError:  # Windows without pyreadline: still usable, just no history
        return None
    path = HISTORY_FILE.expanduser()
    with contextlib.suppress(OSError, ValueError):
        readline.read_history_file(path)
    readline.set_history_length(1000)

    def save() -> None:
        with contextlib.suppress(OSError):
            readline.write_history_file(path)

    return save if os.access(path.parent, os.W_OK) else None
