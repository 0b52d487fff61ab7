"""The read side of the query log, for `pambot log` and `/pam stats`, on either backend."""

from __future__ import annotations

import os
import sqlite3
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bot.querylog.schema import (
    APPLICATION_ID,
    BUSY_TIMEOUT_S,
    QUERY_COLUMNS,
    SCHEMA_VERSION,
    UNANSWERED_INDEX,
    UNANSWERED_WHERE,
    connect,
    current,
    prune_queries,
)
from bot.querylog.state import prune_state
from bot.querylog.store import (
    SQLITE,
    Connection,
    close_quietly,
    is_postgres,
    pg_connect,
    read_only,
    shown,
)


class NoLog(Exception):
    """There is no query log at the path (or in the database) yet."""

    def __init__(self, path: str | os.PathLike) -> None:
        super().__init__(f"no queries logged yet at {shown(os.fspath(path))}")
        self.path = os.fspath(path)


def open_existing(path: str | os.PathLike, *, write: bool = False) -> Connection:
    """Open a log that exists; read-only unless `write` (then the schema is brought up to date).

    `path` is a file, or a PostgreSQL URL. Raises `NoLog` when there is no file or no
    `queries` table, one of `store.errors()` when the database cannot be used.
    """
    if is_postgres(path):
        return _open_postgres(str(path), write=write)
    path = Path(path)
    if not path.exists():
        raise NoLog(path)
    if write or not _current(path):
        # A file from an older pambot is brought up to date once, then read as usual.
        db = connect(path)
        if not write:
            db.close()
    if not write:
        db = Connection(read_only(path, timeout=BUSY_TIMEOUT_S), SQLITE, os.fspath(path))
    try:
        found = db.table_exists("queries")
    except BaseException:
        db.close()
        raise
    if not found:
        db.close()
        raise NoLog(path)
    return db


def _open_postgres(target: str, *, write: bool) -> Connection:
    db = pg_connect(target)
    try:
        if not db.table_exists("queries"):
            raise NoLog(target)
        if write or not current(db):
            connect(target).close()  # brings the schema up to date
    except BaseException:
        close_quietly(db, target)
        raise
    return db


def _current(path: Path) -> bool:
    """True if the file at `path` is a query log of this pambot's schema (or not one at all)."""
    conn = read_only(path, timeout=BUSY_TIMEOUT_S)
    try:
        application_id = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        has_queries = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'queries'").fetchone()
    finally:
        conn.close()
    return not has_queries or (application_id == APPLICATION_ID and version >= SCHEMA_VERSION)


@dataclass(frozen=True)
class Summary:
    """What `pambot log stats` and `/pam stats` show, counted since `since` (UTC ISO 8601)."""

    since: str | None
    total: int
    by_intent: list[tuple[str, int]]
    by_outcome: list[tuple[str, int]]
    by_rule: list[tuple[str, int]]
    # (question, times asked), for outcomes in UNANSWERED_OUTCOMES.
    top_unanswered: list[tuple[str, int]]
    votes: int
    helpful_votes: int
    # (rule, votes, not helpful votes), most not-helpful first.
    votes_by_rule: list[tuple[str, int, int]] = field(default_factory=list)


def summarize(db: Connection, since: str | None, *, top: int = 10) -> Summary:
    """Counts by intent, outcome and rule, the top unanswered questions and the votes.

    Only the indexes are read for the counts; a person's latest vote on an answer is the one
    that counts.
    """
    since_sql, params = ("ts >= ?", [since]) if since else ("TRUE", [])
    tallies: dict[str, Counter[str | None]] = {c: Counter() for c in ("intent", "outcome", "rule")}
    # One pass over the covering (intent, outcome, rule, ts) index, already in group order:
    # about 0.1 s per million rows, with no sort.
    for intent, outcome, rule, n in db.execute(
        f"SELECT intent, outcome, rule, count(*) FROM queries WHERE {since_sql} "
        "GROUP BY intent, outcome, rule", params
    ):
        tallies["intent"][intent] += n
        tallies["outcome"][outcome] += n
        tallies["rule"][rule] += n
    counts = {column: _ranked(tally) for column, tally in tallies.items()}
    unanswered = _top_unanswered(db, since_sql, params, top)
    votes: Counter[str] = Counter()
    not_helpful: Counter[str] = Counter()
    for helpful, rule in db.execute(
        "SELECT f.helpful, q.rule FROM feedback f LEFT JOIN queries q ON q.id = f.query_id "
        "WHERE NOT EXISTS (SELECT 1 FROM feedback g WHERE g.query_id = f.query_id "
        'AND g."user" IS NOT DISTINCT FROM f."user" '
        "AND (g.ts > f.ts OR (g.ts = f.ts AND g.id > f.id))) "
        f"AND {'f.ts >= ?' if since else 'TRUE'}", params
    ):
        rule = rule or "-"
        votes[rule] += 1
        if not helpful:
            not_helpful[rule] += 1
    return Summary(
        since=since,
        total=sum(n for _, n in counts["outcome"]),
        by_intent=counts["intent"],
        by_outcome=counts["outcome"],
        by_rule=counts["rule"],
        top_unanswered=unanswered,
        votes=sum(votes.values()),
        helpful_votes=sum(votes.values()) - sum(not_helpful.values()),
        votes_by_rule=sorted(
            ((rule, n, not_helpful[rule]) for rule, n in votes.items()),
            key=lambda r: (-r[2], -r[1], r[0]),
        ),
    )


def _top_unanswered(db: Connection, since_sql: str, params: list,
                    top: int) -> list[tuple[str, int]]:
    """The questions most often left unanswered, through the partial index where there is one.

    SQLite's planner prefers the (outcome, ts) index and then sorts every matching row;
    the partial index is already grouped, so it is named (PostgreSQL's planner needs no
    hint). A file opened read-only before its upgrade has no such index: then the plain
    query answers.
    """
    query = (
        "SELECT lower(trim(text)) AS question, count(*) AS asked FROM queries {hint}"
        f"WHERE {UNANSWERED_WHERE} AND {since_sql} "
        "GROUP BY question ORDER BY asked DESC, question LIMIT ?"
    )
    arguments = [*params, top]
    if not db.postgres and UNANSWERED_INDEX in db.index_names("queries"):
        try:
            return db.execute(query.format(hint=f"INDEXED BY {UNANSWERED_INDEX} "),
                              arguments).fetchall()
        except sqlite3.OperationalError:
            pass  # the index no longer fits the query: the plain plan still answers
    return db.execute(query.format(hint=""), arguments).fetchall()


def _ranked(counts: Counter[str | None]) -> list[tuple[str, int]]:
    """Most first; a missing value shows as "-"."""
    return sorted(((k or "-", n) for k, n in counts.items()), key=lambda kv: (-kv[1], kv[0]))


def export_rows(db: Connection, since: str | None) -> tuple[list[str], Iterator[tuple]]:
    """Column names and the queries (oldest first) with their helpful / not helpful vote counts."""
    columns = list(QUERY_COLUMNS)
    where, params = ("WHERE q.ts >= ?", [since]) if since else ("", [])
    selected = ", ".join(f'q."{c}"' for c in columns)
    rows = db.stream(
        f"SELECT {selected}, "
        "(SELECT count(*) FROM feedback f WHERE f.query_id = q.id AND f.helpful <> 0) "
        "AS helpful_votes, "
        "(SELECT count(*) FROM feedback f WHERE f.query_id = q.id AND f.helpful = 0) "
        f"AS not_helpful_votes FROM queries q {where} ORDER BY q.ts, q.id",
        params,
    )
    return [*columns, "helpful_votes", "not_helpful_votes"], rows


def prune(path: str | os.PathLike, before: str) -> tuple[int, int, int]:
    """Delete queries (and their votes), votes and Slack checklists (and the links between
    questions) older than `before`; return how many queries, votes and checklists went."""
    db = open_existing(path, write=True)
    try:
        with db.transaction():
            return (*prune_queries(db, before), prune_state(db, before))
    finally:
        db.close()


@dataclass(frozen=True)
class PastQuestion:
    """One question a person asked, as the App Home lists it."""

    ts: str
    text: str
    verdict: str | None
    outcome: str


def recent_questions(db: Connection, user: str, since: str, *,
                     limit: int = 5) -> list[PastQuestion]:
    """The newest questions `user` asked since `since` (UTC ISO 8601), newest first.

    Reads the rows since `since` through the `ts` index, so a large log costs only its
    recent part.
    """
    return [PastQuestion(*row) for row in db.execute(
        'SELECT ts, text, verdict, outcome FROM queries WHERE ts >= ? AND "user" = ? '
        "ORDER BY ts DESC LIMIT ?", [since, user, limit])]


# Why a question is up for review (`pambot log review`, the admin's App Home).
REVIEW_REASONS = {
    "unknown": "not understood",
    "unpicked": "asked back, no choice picked",
    "not-helpful": "voted not helpful",
}
# The most asked questions of each reason that a review reads (a log of spam stays cheap).
REVIEW_ROWS = 2000


def review_rows(db: Connection, since: str, *,
                limit: int = REVIEW_ROWS) -> list[tuple[str, int, str, str]]:
    """The questions pambot could not read well since `since`: (text, times asked, last
    asked, reason key of REVIEW_REASONS), the most asked `limit` of each reason. Not
    understood, unless its "Did you mean" was taken; asked back in Slack with no choice
    picked or reply given (the command line cannot pick); voted not helpful."""
    # A choice, a suggestion or a reply links the question it answers (state tables).
    links = ("AND NOT EXISTS (SELECT 1 FROM query_links l WHERE l.parent_id = CAST(q.id AS "
             "TEXT)) " if db.table_exists("query_links") else "")
    rows = db.execute(
        "SELECT q.text, count(*) AS n, max(q.ts), 'unknown' FROM queries q WHERE q.ts >= ? "
        f"AND q.outcome = 'unknown' AND trim(q.text) != '' {links}"
        "GROUP BY q.text ORDER BY n DESC LIMIT ?", [since, limit]).fetchall()
    rows += db.execute(
        "SELECT q.text, count(*) AS n, max(q.ts), 'unpicked' FROM queries q WHERE q.ts >= ? "
        "AND q.outcome = 'clarify' AND q.source NOT IN ('cli', 'shell') "
        f"{links}GROUP BY q.text ORDER BY n DESC LIMIT ?",
        [since, limit]).fetchall()
    rows += db.execute(
        "SELECT q.text, count(*) AS n, max(q.ts), 'not-helpful' FROM feedback f "
        "JOIN queries q ON q.id = f.query_id WHERE q.ts >= ? AND f.helpful = 0 "
        "GROUP BY q.text ORDER BY n DESC LIMIT ?", [since, limit]).fetchall()
    return rows


def asked_questions(db: Connection, since: str | None = None) -> dict[str, int]:
    """Each distinct question asked (what it was read as) and how often, since `since`."""
    where, params = ("WHERE ts >= ?", [since]) if since else ("", [])
    return dict(db.execute(f"SELECT text, count(*) FROM queries {where} GROUP BY text",
                           params).fetchall())
