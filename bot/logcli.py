"""`pambot log stats|export|prune|runbooks`, and the stats text `/pam stats` shows in Slack.

    $ pambot log stats --since 7d
    $ pambot log export --format csv --since 2026-11-01 > queries.csv
    $ pambot log prune --older-than 90d
    $ pambot log runbooks --since 24h

Needs no Slack credentials. The SQL lives in `bot.querylog`; this module parses arguments and
lays out text.
"""

from __future__ import annotations

import csv
import json
import os
import re
import sqlite3
import sys
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import NoReturn, TextIO

import click

from bot import querylog
from bot.config import Config
from bot.exit import Problem, UsageProblem

_DURATION = re.compile(r"(\d{1,6})\s*([hdw])")
_UNITS = {"h": "hours", "d": "days", "w": "weeks"}
RULES_SHOWN = 15
TEXT_WIDTH = 60


class DurationError(ValueError):
    """A `--since` / `--older-than` value that is neither a duration nor an ISO date."""


def parse_since(text: str, *, now: datetime | None = None) -> datetime:
    """The moment `text` names: `24h`, `7d`, `4w` before `now`, or an ISO 8601 date or time.

    A date or time without an offset is UTC.

    >>> parse_since("7d", now=datetime(2026, 11, 25, tzinfo=UTC))
    datetime.datetime(2026, 11, 18, 0, 0, tzinfo=datetime.timezone.utc)
    """
    value = text.strip().lower()
    match = _DURATION.fullmatch(value)
    if match:
        now = now or datetime.now(UTC)
        return now - timedelta(**{_UNITS[match[2]]: int(match[1])})
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise DurationError(
            f"expected a duration such as 24h, 7d or 4w, or an ISO date such as 2026-11-01, "
            f"not {text.strip()[:40]!r}"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def stats_text(db_path: str | os.PathLike, since: str = "7d") -> str:
    """The summary table as plain text (for a terminal or a Slack code block).

    Counts by intent, outcome and rule, the top unanswered questions, the share of helpful
    votes. A missing or unreadable log gives a one-line explanation instead. Raises
    `DurationError` (a `ValueError` with a one-line message) for a bad `since`.
    """
    return _stats(db_path, since, parse_since(since))[0]


def _stats(db_path: str | os.PathLike, since: str, start: datetime) -> tuple[str, int]:
    """The stats text and the exit status that goes with it."""
    try:
        db = querylog.open_existing(db_path)
        try:
            summary = querylog.summarize(db, querylog.utc_iso(start))
        finally:
            db.close()
    except querylog.NoLog as exc:
        return str(exc), 0
    except sqlite3.Error as exc:
        return f"cannot read the query log at {os.fspath(db_path)}: {exc}", 1
    return format_summary(summary, heading=_heading(db_path, start, since, summary.total)), 0


def format_summary(summary: querylog.Summary, *, heading: str) -> str:
    """Lay out a `querylog.Summary` as aligned plain-text tables."""
    total = summary.total
    if not total:
        return heading
    parts = [heading]
    for title, rows in (("Intent", summary.by_intent), ("Outcome", summary.by_outcome)):
        parts.append(_table([title, "Queries", "%"], [
            (name, f"{n:,}", _percent(n, total)) for name, n in rows
        ]))
    rules = summary.by_rule
    shown = _table(["Rule", "Queries", "%"], [
        (name, f"{n:,}", _percent(n, total)) for name, n in rules[:RULES_SHOWN]
    ])
    if len(rules) > RULES_SHOWN:
        shown += f"\n... and {len(rules) - RULES_SHOWN} more rules"
    parts.append(shown)
    outcomes = "/".join(querylog.UNANSWERED_OUTCOMES)
    if summary.top_unanswered:
        parts.append(f"Top unanswered questions ({outcomes})\n" + _table(
            ["Asked", "Question"],
            [(f"{n:,}", _one_line(text)) for text, n in summary.top_unanswered],
            right=(0,),
        ))
    else:
        parts.append(f"Top unanswered questions ({outcomes}): none")
    if summary.votes:
        votes = (f"Helpful votes: {summary.helpful_votes:,} of {summary.votes:,} "
                 f"({_percent(summary.helpful_votes, summary.votes)}%)")
        parts.append(votes + "\n" + _table(
            ["Rule", "Votes", "Not helpful"],
            [(rule, f"{n:,}", f"{bad:,}") for rule, n, bad in summary.votes_by_rule[:RULES_SHOWN]],
        ))
    else:
        parts.append("Helpful votes: none yet")
    return "\n\n".join(parts)


@click.group()
def log() -> None:
    """The query log (PAMBOT_DB): stats, export, prune, runbooks."""


@log.command()
@click.option("--since", default="7d", show_default=True,
              help="A duration (24h, 7d, 4w) or an ISO date.")
@click.pass_obj
def stats(config: Config, since: str) -> None:
    """Counts, top unanswered questions, helpful share."""
    start = _since(since, "--since")
    text, status = _stats(config.db_path, since, start)
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
    except sqlite3.Error as exc:
        _fail(f"cannot read the query log at {config.db_path}: {exc}")
    try:
        columns, rows = querylog.export_rows(db, start)
        (_write_csv if fmt == "csv" else _write_json)(sys.stdout, columns, rows)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader (`| head`) has gone; say nothing, and stop Python complaining at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except sqlite3.Error as exc:
        _fail(f"cannot read the query log at {config.db_path}: {exc}")
    finally:
        db.close()


@log.command()
@click.option("--older-than", required=True, help="A duration (90d) or an ISO date.")
@click.pass_obj
def prune(config: Config, older_than: str) -> None:
    """Delete queries (and their votes) older than a duration or date."""
    before = _since(older_than, "--older-than")
    try:
        queries, votes = querylog.prune(config.db_path, querylog.utc_iso(before))
    except querylog.NoLog as exc:
        click.echo(f"{exc}; nothing to prune")
        return
    except (sqlite3.Error, OSError) as exc:
        _fail(f"cannot prune the query log at {config.db_path}: {exc}")
    click.echo(f"Deleted {queries:,} queries and {votes:,} votes older than {_when(before)} "
               f"from {config.db_path}.")


@log.command()
@click.option("--since", default="7d", show_default=True,
              help="A duration (24h, 7d, 4w) or an ISO date.")
@click.pass_obj
def runbooks(config: Config, since: str) -> None:
    """Checklists started in Slack threads, with their progress."""
    start = _since(since, "--since")
    try:
        db = querylog.open_existing(config.db_path)
    except querylog.NoLog as exc:
        click.echo(str(exc))
        return
    except sqlite3.Error as exc:
        _fail(f"cannot read the query log at {config.db_path}: {exc}")
    try:
        books = querylog.list_runbooks(db, querylog.utc_iso(start))
    except sqlite3.Error as exc:
        _fail(f"cannot read the checklists in {config.db_path}: {exc}")
    finally:
        db.close()
    click.echo(format_runbooks(books, heading=(
        f"Checklists in {config.db_path} since {_when(start)} ({since.strip()}): {len(books):,}")))


def format_runbooks(books: Sequence[querylog.Runbook], *, heading: str) -> str:
    """Checklists as an aligned table: when, where, what, who, how far, how long."""
    if not books:
        return heading
    rows = []
    for book in books:
        took = book.took()
        rows.append((
            book.started[:16].replace("T", " "), book.channel, book.thread_ts or "-",
            _one_line(book.title or book.question), book.started_by or "-",
            f"{book.done}/{len(book.steps)}" + (" done" if book.complete else ""),
            querylog.took(took) if took is not None else "-",
        ))
    return heading + "\n\n" + _table(
        ["Started (UTC)", "Channel", "Thread", "Checklist", "By", "Steps", "Took"], rows,
        right=(5,))


# --- helpers ------------------------------------------------------------------------------------




def _since(text: str, option: str) -> datetime:
    """`parse_since(text)`, or a usage error naming `option` (one line, exit 2)."""
    try:
        return parse_since(text)
    except DurationError as exc:
        raise UsageProblem(f"{option}: {exc}") from None


def _fail(message: str) -> NoReturn:
    """The log could not be read or written: one line on standard error, exit status 1."""
    raise Problem(message)


def _write_csv(out: TextIO, columns: Sequence[str], rows: Iterable[tuple]) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)


def _write_json(out: TextIO, columns: Sequence[str], rows: Iterable[tuple]) -> None:
    # One object per line inside the array: streams a large log without holding it in memory.
    out.write("[")
    for n, row in enumerate(rows):
        out.write(",\n" if n else "\n")
        out.write(json.dumps(dict(zip(columns, row, strict=True)), ensure_ascii=False))
    out.write("\n]\n")


def _heading(db_path: str | os.PathLike, start: datetime, since: str, total: int) -> str:
    return (f"Query log {os.fspath(db_path)}: {total:,} queries since {_when(start)} "
            f"({since.strip()})")


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}" if whole else "-"


def _one_line(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= TEXT_WIDTH else text[: TEXT_WIDTH - 3] + "..."


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]],
           right: Sequence[int] | None = None) -> str:
    """Columns padded to width; `right` (default: all but the first) are right-aligned."""
    rows = [tuple(map(str, row)) for row in rows]
    right = range(1, len(headers)) if right is None else right
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            cell.rjust(width) if i in right else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return "\n".join([line(headers), *(line(row) for row in rows)])
