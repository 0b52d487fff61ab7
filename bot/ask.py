"""`pambot ask` and `pambot rules check|paths|init`: the engine from the command line."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from bot.config import Config
from bot.exit import Problem
from bot.querylog.schema import storable
from rules import (
    Answer,
    RuleFileError,
    RuleSet,
    answer,
    check_rules,
    default_ruleset,
    load_ruleset,
    parse_message,
)
from rules.load import packaged_rules_dir, rule_files
from rules.paths import is_paths_request, paths, render_paths


def ruleset_for(config: Config) -> RuleSet:
    """The rules `PAMBOT_RULES` names, else the packaged ones, with the phrases taught in
    the query log's file (`pambot learn`), if it exists. Raises RuleFileError."""
    return with_learned(config, base_ruleset(config))


def base_ruleset(config: Config) -> RuleSet:
    """The rules `PAMBOT_RULES` names, else the packaged ones, as the files have them."""
    return load_ruleset(config.rules_path) if config.rules_path else default_ruleset()


def with_learned(config: Config, ruleset: RuleSet) -> RuleSet:
    """`ruleset` with the learned phrases in PAMBOT_DB merged (none if the file or its table
    does not exist yet: reading never creates them; none if the database cannot be read:
    whoever opens it next says why). Raises RuleFileError."""
    from rules.learning import learned_ruleset

    try:
        pairs = learned_pairs(config)
    except Exception as exc:  # the database's errors: sqlite3's or psycopg's
        from bot.querylog.store import errors

        if isinstance(exc, errors()):
            return ruleset
        raise
    return learned_ruleset(ruleset, pairs)


def learned_pairs(config: Config) -> list[tuple[str, str]]:
    """The (phrase, meaning) pairs taught in PAMBOT_DB, oldest first; raises the database's
    errors (sqlite3.Error, psycopg.Error) when it cannot be read."""
    import sqlite3

    from bot.querylog.store import is_postgres, pg_connect, read_only

    query = "SELECT phrase, meaning FROM learned ORDER BY ts, phrase"  # as LearnedPhrases
    if is_postgres(config.db_path):
        with pg_connect(config.db_path) as db:
            return db.execute(query).fetchall() if db.table_exists("learned") else []
    if not os.path.exists(config.db_path):
        return []
    # Read-only, and without sqlite-utils: `pambot ask` starts fast.
    with contextlib.closing(read_only(config.db_path)) as db:
        try:
            return db.execute(query).fetchall()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return []  # no phrase taught yet
            raise


def open_querylog(config: Config, *, max_pending: int = 10_000, wait_for_room: bool = False):
    """The query log for this process (see bot.querylog); writing never blocks an answer."""
    from datetime import timedelta

    from bot.querylog import QueryLog

    return QueryLog(config.db_path, retention_days=config.log_retention_days,
                    max_pending=max_pending, wait_for_room=wait_for_room,
                    claim_lease=timedelta(seconds=config.event_lease_seconds))


# `pambot ask` waits for the log writer when this many rows are queued, rather than drop any:
# nobody waits on any one answer of a piped batch.
ASK_MAX_PENDING = 20_000
# At exit, how long the last rows may take to reach the file (a full queue takes seconds on a
# slow disk); a file that cannot be written gives up at once, not after this.
CLOSE_TIMEOUT_S = 60.0


def open_ask_log(config: Config):
    """The query log of `pambot ask`: the ordinary writer thread, which waits for room in
    its queue rather than drop a row."""
    return open_querylog(config, max_pending=ASK_MAX_PENDING, wait_for_room=True)


def answer_lines(lines: Iterable[str], ruleset: RuleSet, out: TextIO, *, as_json: bool,
                 source: str, querylog=None, explain: bool = False,
                 links: TextIO | None = None) -> int:
    """Answer every line in order (blank ones too), writing one answer per line; with
    `explain`, how each line was read comes first (in JSON, as the key "explain"). With
    `links`, each answer is the Block Kit payload pambot posts in Slack, and a Block Kit
    Builder link to it goes to `links`."""
    count = 0
    for line in lines:
        started = time.perf_counter()
        question = line.rstrip("\r\n")
        if links is not None:
            result = answer(question, ruleset)
            # Logged first: the buttons carry the query's id, as in Slack.
            query_id = querylog.record_query(
                result, source=source, elapsed_ms=(time.perf_counter() - started) * 1000,
                rules_version=ruleset.version) if querylog is not None else None
            write_payload(slack_payload(result, query_id), out, links)
            count += 1
            continue
        if explain:
            result = answer(question, ruleset)
            reading = explanation(question, ruleset, result)
            shown = (json.dumps({**result.to_dict(), "explain": reading}, ensure_ascii=False)
                     if as_json else f"{reading}\n\n{result.text}\n")
        else:
            result, shown = _answer_and_show(question, ruleset, as_json)
        # Logged before it is shown: an answer someone saw is in the log, even if Ctrl-C or
        # a closed pipe stops pambot right after.
        if querylog is not None:
            querylog.record_query(
                result, source=source, elapsed_ms=(time.perf_counter() - started) * 1000,
                rules_version=ruleset.version,
            )
        out.write(shown + "\n")
        count += 1
    return count


@functools.lru_cache(maxsize=4096)
def _answer_and_show(question: str, ruleset: RuleSet, as_json: bool) -> tuple[Answer, str]:
    """The answer to `question` and how it is printed. Cached: a piped batch repeats its
    questions (a week of real ones asks "upgrade 6.5.4" again and again), and printing an
    answer as JSON costs several times what answering it does (bench/bench_ask.py)."""
    result = answer(question, ruleset)
    return result, format_answer(result, as_json=as_json)


def slack_payload(result: Answer, query_id: int | str | None) -> dict:
    """The blocks pambot posts in Slack for `result`, as a mention or a DM gets them."""
    from bot.blocks import answer_blocks  # Slack's rendering: only `--blocks` loads it

    return {"blocks": answer_blocks(result, query_id=None if query_id is None else str(query_id),
                                    checklist=True)}


def write_payload(payload: dict, out: TextIO, links: TextIO) -> None:
    """`payload` as one line of JSON to `out`, and a Block Kit Builder link to it to `links`
    (printed for the user to open, never fetched)."""
    from bot.blocks import builder_link

    out.write(json.dumps(payload, ensure_ascii=False) + "\n")
    links.write(f"Preview in Slack's Block Kit Builder: {builder_link(payload)}\n")


def explanation(question: str, ruleset: RuleSet, result: Answer) -> str:
    """How `question` was read (tokens, slots and why) and which rule answered each part."""
    lines = [parse_message(question, ruleset.vocabulary, explain=True).explain()]
    for number, part in enumerate((result, *result.also), 1):
        lines.append(f"answer {number}: rule {part.rule} ({part.outcome}) from {part.source}")
    return "\n".join(lines)


def format_answer(result: Answer, *, as_json: bool) -> str:
    if as_json:
        return result.to_json()
    return result.text + "\n"


def run_ask(config: Config, words: list[str], *, as_json: bool, explain: bool = False,
            blocks: bool = False) -> int:
    ruleset = ruleset_for(config)
    if words and is_paths_request(" ".join(words)):
        if blocks:  # what `/pam paths` posts
            from bot.blocks import paths_blocks

            write_payload({"blocks": paths_blocks(ruleset)}, sys.stdout, sys.stderr)
            return 0
        print(paths_json(ruleset) if as_json else render_paths(ruleset))
        return 0
    querylog = open_ask_log(config)
    # Bytes that are not UTF-8 (in an argument, or piped in) become U+FFFD, never a traceback;
    # so do lone surrogates, which a terminal cannot print either.
    tolerate_bad_text(sys.stdin, sys.stdout)
    try:
        lines = [_from_argv(" ".join(words))] if words else sys.stdin
        answer_lines(lines, ruleset, sys.stdout, as_json=as_json, source="cli",
                     querylog=querylog, explain=explain, links=sys.stderr if blocks else None)
        sys.stdout.flush()
    except BrokenPipeError:
        # `pambot ask ... | head` closed the pipe: not an error. Point stdout at devnull so
        # the interpreter's final flush does not complain either.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    finally:
        querylog.close(timeout=CLOSE_TIMEOUT_S)
    return 0


def _from_argv(text: str) -> str:
    """An argument as typed: bytes that are not UTF-8 (which Python keeps as surrogates)
    become U+FFFD."""
    if text.isascii():
        return text
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:
        return storable(text)


def tolerate_bad_text(*streams) -> None:
    """Text streams that read and write bytes that are not UTF-8 as U+FFFD, never raising."""
    for stream in streams:
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")


def paths_json(ruleset: RuleSet) -> str:
    """The paths diagram as one JSON object: its rows, and the text a terminal shows."""
    rows = [{"versions": p.versions, "target": p.target or None, "kind": p.kind,
             "path": p.path, "row": p.row, "rule": p.rule} for p in paths(ruleset)]
    return json.dumps({"query": "paths", "paths": rows, "text": render_paths(ruleset)},
                      ensure_ascii=False)


def run_rules_paths(config: Config, path: str | None) -> int:
    """Print the upgrade paths of the rules at `path` (else PAMBOT_RULES, else packaged)."""
    target = path or config.rules_path
    try:
        ruleset = load_ruleset(target) if target else default_ruleset()
    except RuleFileError as exc:
        raise Problem(str(exc)) from None
    print(render_paths(ruleset))
    return 0


def run_rules_init(directory: str) -> int:
    """Write a copy of every packaged rule file to `directory` (created if missing), to keep
    a site's own rules; refuse, writing nothing, if any of them is there already."""
    source = packaged_rules_dir()
    # Whatever is packaged: the rule files' set is data, and grows.
    files = sorted(p.relative_to(source) for p in source.rglob("*")
                   if p.is_file() and "__pycache__" not in p.parts)
    target = Path(directory)
    if target.exists() and not target.is_dir():
        raise Problem(f"{target} is a file, not a directory")
    taken = next((target / name for name in files if (target / name).exists()), None)
    if taken is not None:
        raise Problem(f"{taken} exists; rules init writes only new files (nothing was "
                      "written): give a new or empty directory")
    for name in files:
        written = target / name
        try:
            written.parent.mkdir(parents=True, exist_ok=True)
            with open(written, "xb") as out:  # "x": never over a file, even one made just now
                out.write((source / name).read_bytes())
        except OSError as exc:
            raise Problem(f"cannot write {written}: {exc.strerror or exc}") from None
    print(f"Wrote {len(files)} rule files to {target}: {', '.join(map(str, files))}\n"
          f"Edit them, check them with: pambot rules check {target}\n"
          f"and run pambot with them: PAMBOT_RULES={target.resolve()} pambot ...")
    return 0


def run_rules_check(config: Config, path: str | None) -> int:
    """Validate rule files; print every problem with file and line; exit 1 if any."""
    target = path or config.rules_path
    problems = check_rules(target)
    shown = target or str(packaged_rules_dir())
    if problems:
        for problem in problems:
            print(problem, file=sys.stderr)
        print(f"pambot: {len(problems)} problem(s) in {shown}", file=sys.stderr)
        return 1
    ruleset = load_ruleset(target)
    # One file is checked with the packaged files it does not replace: say which.
    others = [f.name for f in rule_files(target) if f != Path(target)] \
        if target and not Path(target).is_dir() else []
    # The phrases taught (pambot learn) are checked with the files: the merged set is used.
    from bot.querylog.store import errors
    from bot.querylog.store import shown as shown_db
    from rules.learning import learned_ruleset, not_in_rules

    where = shown_db(config.db_path)
    try:
        pairs = learned_pairs(config)
    except errors() as exc:
        pairs = []
        print(f"pambot: cannot read the phrases taught in {where} ({exc}); checked the rule "
              "files without them", file=sys.stderr)
    try:
        merged = learned_ruleset(ruleset, pairs)
    except RuleFileError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"pambot: the phrases taught in {where} do not fit {shown}: "
              "pambot learn --forget PHRASE, or change the rule files", file=sys.stderr)
        return 1
    taught = len(not_in_rules(ruleset, pairs)) if merged is not ruleset else 0
    print(f"OK: {len(ruleset.rules)} rules in {shown}"
          + (f", with the packaged {', '.join(others)}" if others else "")
          + (f", and {taught} phrase(s) taught in {where}" if taught else ""))
    return 0
