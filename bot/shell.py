"""`pambot shell`: the local stand-in for Slack, like Errbot's text backend.

The same engine and answers, typed at a prompt, so anyone can try the bot without a Slack
workspace. It is a conversation, as a Slack thread is: when pambot asks back, type a
choice's number ("2") or just what it asked for ("leader", "we're on 6.5.4"), and a later
question takes what it leaves out from what was said before. `paths` shows the upgrade
paths diagram. From a pipe it answers each line, in the same way, and exits.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TextIO

from bot.ask import base_ruleset, open_querylog, ruleset_for, tolerate_bad_text
from bot.config import Config
from bot.reload import LiveRules
from rules import RuleSet, answer
from rules.context import Context, read
from rules.paths import is_paths_request, render_paths

PROMPT = "pam> "
HISTORY_FILE = Path("~/.pambot_history")
QUIT_WORDS = {"quit", "exit", ":q"}


def run_shell(config: Config, stdin=None, stdout=None) -> int:
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    tolerate_bad_text(stdin, stdout)
    ruleset = ruleset_for(config)
    querylog = open_querylog(config)
    rules = _live(config) if stdin.isatty() else ruleset
    try:
        if not stdin.isatty():
            converse(_until_quit(stdin), ruleset, stdout, querylog=querylog)
            return 0
        history = _enable_history()
        stdout.write(
            "pambot local shell: answers from "
            f"{ruleset.origin}. Try 'upgrade 6.5.4', 'restore leader', 'paths' or 'help'; "
            "'quit' or Ctrl-D to leave.\n"
        )
        converse(_prompted(stdout), rules, stdout, querylog=querylog)
        if history:
            history()
        return 0
    finally:
        querylog.close()


def converse(lines: Iterable[str], rules: RuleSet | LiveRules, out: TextIO, *,
             querylog=None) -> Context:
    """Answer each line in the conversation so far, as a Slack thread would; the context at
    the end. With LiveRules, each line is read with the phrases taught meanwhile."""
    context = Context()
    for line in lines:
        ruleset = rules.current if isinstance(rules, LiveRules) else rules
        typed = line.rstrip("\r\n")
        if is_paths_request(typed):
            out.write(render_paths(ruleset) + "\n\n")
            continue
        started = time.perf_counter()
        reading = read(typed, context, ruleset)
        result = answer(reading.question, ruleset)
        if reading.how != "typed":
            out.write(f'(read as "{reading.question}")\n')
        out.write(result.text + "\n\n")
        context = context.after(result)
        if querylog is not None:
            # The question it stood for ("upgrade 6.5.4"), and what was typed ("2").
            querylog.record_query(result, source="shell", rules_version=ruleset.version,
                                  typed=typed if reading.how != "typed" else None,
                                  elapsed_ms=(time.perf_counter() - started) * 1000)
    return context


def _live(config: Config) -> LiveRules:
    """At a prompt, the rules with the phrases taught while it is open (`pambot learn` in
    another terminal, the App Home's Teach); while the file cannot be used, the rules stay
    as they are."""
    from bot.querylog.learned import LearnedPhrases
    from bot.querylog.state import StateStore

    live = LiveRules(base_ruleset(config))  # the phrases taught are merged at the first line
    live.watch(LearnedPhrases(StateStore(config.db_path)))
    return live


def _prompted(stdout: TextIO) -> Iterator[str]:
    """Lines typed at the prompt, until a quit word or Ctrl-D; Ctrl-C drops the line."""
    while True:
        try:
            line = input(PROMPT)
        except EOFError:
            stdout.write("\n")
            return
        except KeyboardInterrupt:
            stdout.write("\n")
            continue
        if line.strip().casefold() in QUIT_WORDS:
            return
        yield line


def _until_quit(lines: Iterable[str]) -> Iterator[str]:
    """Piped lines up to a quit word, as at the prompt."""
    for line in lines:
        if line.strip().casefold() in QUIT_WORDS:
            return
        yield line


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
