"""`pambot log stats|export|prune|runbooks|serve`.

    $ pambot log stats --since 7d
    $ pambot log export --format csv --since 2026-11-01 > queries.csv
    $ pambot log prune --older-than 90d
    $ pambot log runbooks --since 24h
    $ pambot log serve                  # Datasette at http://127.0.0.1:8001

Needs no Slack credentials. PAMBOT_DB is a SQLite file or a PostgreSQL URL; every command
works on both (`serve` shows a SQLite snapshot of a PostgreSQL log, and says so). The SQL and
the stats table live in `bot.querylog`; this module is the command line around them. A new
`pambot log` command is one `@log.command()`.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import socket
import sys
import tempfile
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import NoReturn, TextIO

import click

from bot import querylog
from bot.config import Config
from bot.exit import Problem, UsageProblem
from bot.querylog.report import (
    DurationError,
    one_line,
    parse_since,
    printable,
    stats_result,
    table,
    when,
)

# Cells a spreadsheet would read as a formula (OWASP, CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

# `--since` of the commands that summarise a recent stretch of the log.
SINCE_OPTION = click.option("--since", default="7d", show_default=True,
                            help="A duration (30m, 24h, 7d, 4w) or an ISO date.")


@click.group()
def log() -> None:
    """The query log (PAMBOT_DB): stats, export, prune, runbooks, serve."""


@log.command()
@SINCE_OPTION
@click.pass_obj
def stats(config: Config, since: str) -> None:
    """Counts, top unanswered questions, helpful share."""
    start = _since(since, "--since")
    text, status = stats_result(config.db_path, since, start)
    if status:
        _fail(text)
    click.echo(text)


@log.command()
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv",
              show_default=True)
@click.option("--since", default=None, help="A duration (7d) or an ISO date (default: all).")
@click.pass_obj
def export(config: Config, fmt: str, since: str | None) -> None:
    """Write the log as CSV or JSON to standard output."""
    start = querylog.utc_iso(_since(since, "--since")) if since else None
    try:
        db = querylog.open_existing(config.db_path)
    except querylog.NoLog as exc:
        click.echo(f"pambot: {exc}", err=True)
        return
    except querylog.errors() as exc:
        _cannot_read(config, exc)
    try:
        columns, rows = querylog.export_rows(db, start)
        (_write_csv if fmt == "csv" else _write_json)(sys.stdout, columns, rows)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader (`| head`) has gone; say nothing, and stop Python complaining at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except querylog.errors() as exc:
        _cannot_read(config, exc)
    finally:
        db.close()


@log.command()
@click.option("--older-than", required=True, help="A duration (90d) or an ISO date.")
@click.pass_obj
def prune(config: Config, older_than: str) -> None:
    """Delete queries (and their votes) and Slack checklists older than a duration or date."""
    before = _since(older_than, "--older-than")
    try:
        queries, votes, checklists = querylog.prune(config.db_path, querylog.utc_iso(before))
    except querylog.NoLog as exc:
        click.echo(f"{exc}; nothing to prune")
        return
    except (*querylog.errors(), OSError) as exc:
        _fail(f"cannot prune the query log at {querylog.shown(config.db_path)}: "
              f"{_reason(exc)}")
    click.echo(f"Deleted {queries:,} queries, {votes:,} votes and {checklists:,} checklists "
               f"older than {when(before)} from {querylog.shown(config.db_path)}.")


@log.command()
@SINCE_OPTION
@click.pass_obj
def runbooks(config: Config, since: str) -> None:
    """Checklists started in Slack threads, with their progress."""
    start = _since(since, "--since")
    try:
        db = querylog.open_existing(config.db_path)
    except querylog.NoLog as exc:
        click.echo(str(exc))
        return
    except querylog.errors() as exc:
        _cannot_read(config, exc)
    try:
        books = querylog.list_runbooks(db, querylog.utc_iso(start))
    except querylog.errors() as exc:
        _fail(f"cannot read the checklists in {querylog.shown(config.db_path)}: {_reason(exc)}")
    finally:
        db.close()
    click.echo(format_runbooks(books, heading=(
        f"Checklists in {querylog.shown(config.db_path)} since {when(start)} "
        f"({since.strip()}): {len(books):,}")))


@log.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (0.0.0.0: every interface).")
@click.option("--port", type=click.IntRange(1, 65535), default=8001, show_default=True)
@click.pass_obj
def serve(config: Config, host: str, port: int) -> None:
    """Open the log in Datasette, read-only, with pambot's descriptions and canned queries
    (needs pambot[dashboard]). A PostgreSQL log is shown as a SQLite snapshot of it."""
    from bot.ask import ruleset_for
    from bot.dashboard import DashboardMissing
    from bot.dashboard import serve as run_dashboard

    try:
        # Checks the database, and brings a log from an older pambot up to date first.
        querylog.open_existing(config.db_path).close()
    except querylog.NoLog as exc:
        _fail(f"{exc}; there is nothing to show yet")
    except querylog.errors() as exc:
        _cannot_read(config, exc)
    rule_ids = [rule.id for rule in ruleset_for(config).rules]
    try:  # one line now, rather than the web server's log lines and exit status 3 later
        socket.create_server((host, port)).close()
    except OSError as exc:
        reason = str(exc.strerror or exc).split(" (while attempting to bind")[0]
        _fail(f"cannot listen on {host}:{port}: {reason}")
    path, copy = config.db_path, None
    if querylog.is_postgres(config.db_path):
        copy = tempfile.mkdtemp(prefix="pambot-snapshot-")
        path = os.path.join(copy, "pambot.db")  # Datasette's page: /pambot, as for a file
    try:
        if copy is not None:
            from bot.querylog.snapshot import snapshot

            try:
                rows = snapshot(config.db_path, path)
            except querylog.errors() as exc:
                _cannot_read(config, exc)
            click.echo(f"pambot log serve: Datasette opens SQLite files only, so this is a "
                       f"snapshot of {querylog.shown(config.db_path)} taken at "
                       f"{when(datetime.now(UTC))} ({rows:,} rows); restart pambot log serve "
                       "to refresh it", err=True)
        sys.exit(run_dashboard(path, rule_ids=rule_ids, host=host, port=port))
    except DashboardMissing as exc:
        _fail(str(exc))
    finally:
        if copy is not None:
            shutil.rmtree(copy, ignore_errors=True)


def format_runbooks(books: Sequence[querylog.Runbook], *, heading: str) -> str:
    """Checklists as an aligned table: when, where, what, who, how far, how long."""
    if not books:
        return heading
    rows = []
    for book in books:
        took = book.took()
        rows.append((
            book.started[:16].replace("T", " "), book.channel, book.thread_ts or "-",
            one_line(book.title or book.question), book.started_by or "-",
            f"{book.done}/{len(book.steps)}" + (" done" if book.complete else ""),
            querylog.took(took) if took is not None else "-",
        ))
    return heading + "\n\n" + table(
        ["Started (UTC)", "Channel", "Thread", "Checklist", "By", "Steps", "Took"], rows,
        right=(5,))


# --- helpers ------------------------------------------------------------------------------------




def _since(text: str, option: str) -> datetime:
    """`parse_since(text)`, or a usage error naming `option` (one line, exit 2)."""
    try:
        return parse_since(text)
    except DurationError as exc:
        raise UsageProblem(f"{option}: {exc}") from None


def _reason(exc: BaseException) -> str:
    from bot.querylog.store import reason

    return reason(exc)


def _cannot_read(config: Config, exc: BaseException) -> NoReturn:
    _fail(f"cannot read the query log at {querylog.shown(config.db_path)}: {_reason(exc)}")


def _fail(message: str) -> NoReturn:
    """The log could not be read or written: one line on standard error, exit status 1."""
    raise Problem(message)


def _write_csv(out: TextIO, columns: Sequence[str], rows: Iterable[tuple]) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([_csv_cell(cell) for cell in row] for row in rows)


def _csv_cell(value: object) -> object:
    """A cell a spreadsheet shows as text: never a live formula, never a raw control character.

    As OWASP recommends for CSV injection, text starting with =, +, -, @, tab or carriage
    return gets a leading single quote (the csv module quotes every cell that needs it).
    """
    if not isinstance(value, str):
        return value
    if value.startswith(_FORMULA_STARTS):
        value = "'" + value
    return printable(value)


# DEL and the C1 controls, which JSON may carry raw: written as \u escapes instead.
_C1 = re.compile("[\x7f-\x9f]")


def _write_json(out: TextIO, columns: Sequence[str], rows: Iterable[tuple]) -> None:
    # One object per line inside the array: streams a large log without holding it in memory.
    out.write("[")
    for n, row in enumerate(rows):
        out.write(",\n" if n else "\n")
        line = json.dumps(dict(zip(columns, row, strict=True)), ensure_ascii=False)
        # JSON escapes C0 controls itself; DEL and C1 ("\x9b" starts a terminal escape) too.
        out.write(_C1.sub(lambda m: f"\\u{ord(m[0]):04x}", line))
    out.write("\n]\n")
