"""The query log as people read it: the stats table (for `pambot log stats` and `/pam stats`),
durations such as `7d`, and text made safe to print.

    >>> print(stats_text("pambot.db", since="7d"))  # doctest: +SKIP
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

from bot.querylog import store
from bot.querylog.read import NoLog, Summary, open_existing, summarize
from bot.querylog.schema import UNANSWERED_OUTCOMES, utc_iso
from bot.querylog.store import shown

_DURATION = re.compile(r"(\d{1,6})\s*(m|h|d|w)")  # m: minutes ("what was asked in the last 30m")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
RULES_SHOWN = 15
TEXT_WIDTH = 60
# Control characters (C0 but tab and newline, DEL, C1): a terminal acts on them (ESC starts
# an escape sequence, carriage return overwrites the line).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


class DurationError(ValueError):
    """A `--since` / `--older-than` value that is neither a duration nor an ISO date."""


def parse_since(text: str, *, now: datetime | None = None) -> datetime:
    """The moment `text` names: `30m`, `24h`, `7d`, `4w` before `now`, or an ISO 8601 date
    or time.

    A date or time without an offset is UTC.

    >>> parse_since("7d", now=datetime(2026, 11, 25, tzinfo=UTC))
    datetime.datetime(2026, 11, 18, 0, 0, tzinfo=datetime.timezone.utc)
    """
    value = text.strip().lower()
    match = _DURATION.fullmatch(value)
    if match:
        now = now or datetime.now(UTC)
        try:
            return now - timedelta(**{_UNITS[match[2]]: int(match[1])})
        except OverflowError:
            raise DurationError(f"{text.strip()} reaches back before the year 1") from None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise DurationError(
            f"expected a duration such as 30m, 24h, 7d or 4w, or an ISO date such as 2026-11-01, "
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
    return stats_result(db_path, since, parse_since(since))[0]


def stats_result(db_path: str | os.PathLike, since: str, start: datetime) -> tuple[str, int]:
    """The stats text since `start` (`since` as the user wrote it) and its exit status."""
    try:
        db = open_existing(db_path)
        try:
            summary = summarize(db, utc_iso(start))
        finally:
            db.close()
    except NoLog as exc:
        return str(exc), 0
    except store.errors() as exc:
        return f"cannot read the query log at {shown(os.fspath(db_path))}: {store.reason(exc)}", 1
    return format_summary(summary, heading=_heading(db_path, start, since, summary.total)), 0


def format_summary(summary: Summary, *, heading: str) -> str:
    """Lay out a `Summary` as aligned plain-text tables."""
    total = summary.total
    if not total:
        return heading
    parts = [heading]
    for title, rows in (("Intent", summary.by_intent), ("Outcome", summary.by_outcome)):
        parts.append(table([title, "Queries", "%"], [
            (name, f"{n:,}", _percent(n, total)) for name, n in rows
        ]))
    rules = summary.by_rule
    shown = table(["Rule", "Queries", "%"], [
        (name, f"{n:,}", _percent(n, total)) for name, n in rules[:RULES_SHOWN]
    ])
    if len(rules) > RULES_SHOWN:
        shown += f"\n... and {len(rules) - RULES_SHOWN} more rules"
    parts.append(shown)
    outcomes = "/".join(UNANSWERED_OUTCOMES)
    if summary.top_unanswered:
        parts.append(f"Top unanswered questions ({outcomes})\n" + table(
            ["Asked", "Question"],
            [(f"{n:,}", one_line(text)) for text, n in summary.top_unanswered],
            right=(0,),
        ))
    else:
        parts.append(f"Top unanswered questions ({outcomes}): none")
    if summary.votes:
        votes = (f"Helpful votes: {summary.helpful_votes:,} of {summary.votes:,} "
                 f"({_percent(summary.helpful_votes, summary.votes)}%)")
        parts.append(votes + "\n" + table(
            ["Rule", "Votes", "Not helpful"],
            [(rule, f"{n:,}", f"{bad:,}") for rule, n, bad in summary.votes_by_rule[:RULES_SHOWN]],
        ))
    else:
        parts.append("Helpful votes: none yet")
    return "\n\n".join(parts)


def _heading(db_path: str | os.PathLike, start: datetime, since: str, total: int) -> str:
    return (f"Query log {shown(os.fspath(db_path))}: {total:,} queries since {when(start)} "
            f"({since.strip()})")


def when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}" if whole else "-"


def printable(text: str) -> str:
    """`text` with every control character shown as an escape (`\\x1b`), never acted on.

    >>> printable("upgrade\\x1b[2J 6.5.4")
    'upgrade\\\\x1b[2J 6.5.4'
    """
    return _CONTROL.sub(lambda m: f"\\x{ord(m[0]):02x}", text)


def one_line(text: str) -> str:
    text = printable(" ".join(text.split()))
    return text if len(text) <= TEXT_WIDTH else text[: TEXT_WIDTH - 3] + "..."


def table(headers: Sequence[str], rows: Iterable[Sequence[str]],
           right: Sequence[int] | None = None) -> str:
    """An aligned plain-text table; `right` (default: all but the first) are right-aligned."""
    from tabulate import tabulate  # only `log stats` draws tables

    right = range(1, len(headers)) if right is None else right
    return tabulate([[printable(str(cell)) for cell in row] for row in rows], headers=headers,
                    tablefmt="plain", disable_numparse=True,
                    colalign=["right" if i in right else "left" for i in range(len(headers))])
