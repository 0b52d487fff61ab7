"""`pambot log stats|export|prune` and `stats_text` on a log with known contents, on both
backends."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from bot import querylog
from tests.conftest import sql

TEN_DAYS_AGO = querylog.utc_iso(datetime.now(UTC) - timedelta(days=10))


@pytest.fixture
def db_path(target):
    """The log these tests read: a file, then a PostgreSQL database."""
    return target


@pytest.fixture
def pambot_log(pambot_cli, target):
    def run(*args: str):
        return pambot_cli("log", *args, env={"PAMBOT_DB": target})

    return run


@pytest.fixture
def known_log(db_path, open_log, make_answer):
    """8 queries and 4 votes from now, 2 queries and 1 vote from ten days ago."""
    log = open_log(db_path)

    def ask(text, n=1, **fields):
        return [log.record_query(make_answer(text, **fields), source="slash", elapsed_ms=2.0)
                for _ in range(n)]

    up = ask("upgrade 6.5.4", 3, rule="up-6")
    support = ask("Upgrade 5.1 to 9", 2, rule="support-old", outcome="support")
    ask("  upgrade 5.1 TO 9 ", rule="support-old", outcome="support")
    ask("what is this", intent="unknown", rule="unknown", outcome="unknown")
    ask("help", intent="help", rule="help", outcome="help")
    log.record_feedback(up[0], helpful=True, user="U1")
    log.record_feedback(up[0], helpful=False, user="U1")  # U1 changed their mind: this counts
    log.record_feedback(up[0], helpful=True, user="U2")
    log.record_feedback(support[0], helpful=False, user="U3")
    assert log.flush()

    for n in (1, 2):
        sql(db_path, "INSERT INTO queries (id, ts, source, text, intent, rule, outcome) "
            "VALUES (?, ?, 'dm', 'restore', 'restore', 'restore-1', 'path')", [n, TEN_DAYS_AGO])
    sql(db_path, 'INSERT INTO feedback (query_id, ts, helpful, "user") VALUES (1, ?, 1, \'U4\')',
        [TEN_DAYS_AGO])
    return {"up": up, "support": support}


def test_summary_counts_the_last_seven_days_exactly(known_log, db_path):
    db = querylog.open_existing(db_path)
    since = querylog.utc_iso(querylog.parse_since("7d"))
    summary = querylog.summarize(db, since)
    db.close()
    assert summary.total == 8
    assert summary.by_intent == [("upgrade", 6), ("help", 1), ("unknown", 1)]
    assert summary.by_outcome == [("path", 3), ("support", 3), ("help", 1), ("unknown", 1)]
    assert summary.by_rule == [("support-old", 3), ("up-6", 3), ("help", 1), ("unknown", 1)]
    assert summary.top_unanswered == [("upgrade 5.1 to 9", 3), ("what is this", 1)]
    assert (summary.votes, summary.helpful_votes) == (3, 1)
    assert summary.votes_by_rule == [("up-6", 2, 1), ("support-old", 1, 1)]


def test_summary_since_thirty_days_includes_the_older_rows(known_log, db_path):
    db = querylog.open_existing(db_path)
    summary = querylog.summarize(db, querylog.utc_iso(querylog.parse_since("30d")))
    db.close()
    assert summary.total == 10
    assert ("restore", 2) in summary.by_intent
    assert (summary.votes, summary.helpful_votes) == (4, 2)


def test_stats_text_is_a_readable_table(known_log, db_path):
    text = querylog.stats_text(db_path, "7d")
    assert text.splitlines()[0].startswith(f"Query log {querylog.shown(db_path)}: 8 queries "
                                           "since ")
    assert "Outcome      Queries     %\npath               3  37.5\nsupport            3  37.5" \
        in text
    assert ("Top unanswered questions (support/unknown)\n  Asked  Question\n"
            "      3  upgrade 5.1 to 9") in text
    assert "Helpful votes: 1 of 3 (33.3%)" in text
    assert "up-6               2              1" in text
    assert all(len(line) <= 80 for line in text.splitlines()[1:])


def test_stats_text_without_a_log_or_with_a_bad_duration(tmp_path):
    assert querylog.stats_text(tmp_path / "none.db") == (
        f"no queries logged yet at {tmp_path / 'none.db'}")
    with pytest.raises(ValueError, match="expected a duration"):
        querylog.stats_text(tmp_path / "none.db", "last tuesday")


def test_an_empty_postgresql_database_has_no_log_yet(pg_target, pambot_cli):
    result = pambot_cli("log", "stats", env={"PAMBOT_DB": pg_target})
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("no queries logged yet at postgresql://postgres@127.0.0.1:")
    result = pambot_cli("log", "prune", "--older-than", "1d", env={"PAMBOT_DB": pg_target})
    assert result.exit_code == 0 and "nothing to prune" in result.stdout


@pytest.mark.parametrize("command", [("stats",), ("export",), ("runbooks",),
                                     ("prune", "--older-than", "1d"), ("serve",)])
def test_a_postgresql_log_that_cannot_be_reached_is_one_line_without_its_password(
        pambot_cli, command):
    url = "postgresql://pambot:hunter2-secret@127.0.0.1:9/pambot?sslmode=disable"
    result = pambot_cli("log", *command, env={"PAMBOT_DB": url})
    assert result.exit_code == 1, result.output
    [line] = result.stderr.splitlines()
    assert line.startswith("pambot: cannot ") and "the query log at " in line
    assert "postgresql://pambot@127.0.0.1:9/pambot?sslmode=disable" in line
    assert "Connection refused" in line
    assert "hunter2" not in result.output


def test_export_csv_and_json_have_every_query_and_its_votes(known_log, pambot_log):
    result = pambot_log("export", "--format", "csv")
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 10
    assert [r["id"] for r in rows[:2]] == ["1", "2"]
    first = next(r for r in rows if r["id"] == str(known_log["up"][0]))
    assert (first["helpful_votes"], first["not_helpful_votes"]) == ("2", "1")
    assert first["text"] == "upgrade 6.5.4" and first["source"] == "slash"

    result = pambot_log("export", "--format", "json", "--since", "7d")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert len(data) == 8
    assert {d["rule"] for d in data} == {"up-6", "support-old", "unknown", "help"}
    assert sum(d["not_helpful_votes"] for d in data) == 2


def test_prune_deletes_exactly_the_older_rows(known_log, db_path, pambot_log, count_rows):
    result = pambot_log("prune", "--older-than", "5d")
    assert result.exit_code == 0
    assert "Deleted 2 queries, 1 votes and 0 checklists older than" in result.stdout
    assert count_rows(db_path) == 8
    assert count_rows(db_path, "feedback") == 4
    result = pambot_log("prune", "--older-than", "5d")
    assert "Deleted 0 queries, 0 votes and 0 checklists" in result.stdout


@pytest.mark.parametrize(("text", "expected"), [
    ("30m", datetime(2026, 11, 25, 11, 30, tzinfo=UTC)),
    ("24h", datetime(2026, 11, 24, 12, tzinfo=UTC)),
    ("7d", datetime(2026, 11, 18, 12, tzinfo=UTC)),
    (" 4W ", datetime(2026, 10, 28, 12, tzinfo=UTC)),
    ("90d", datetime(2026, 8, 27, 12, tzinfo=UTC)),
    ("0d", datetime(2026, 11, 25, 12, tzinfo=UTC)),
    ("2026-11-01", datetime(2026, 11, 1, tzinfo=UTC)),
    ("2026-11-01T10:30", datetime(2026, 11, 1, 10, 30, tzinfo=UTC)),
    ("2026-11-01T10:30+01:00", datetime(2026, 11, 1, 9, 30, tzinfo=UTC)),
])
def test_parse_since(text, expected):
    assert querylog.parse_since(text, now=datetime(2026, 11, 25, 12, tzinfo=UTC)) == expected


@pytest.mark.parametrize("text", ["", "7", "d", "-7d", "7 days", "7y", "2026-13-01", "yesterday",
                                  "9999999d"])
def test_parse_since_rejects_with_one_line(text):
    with pytest.raises(querylog.DurationError) as caught:
        querylog.parse_since(text)
    assert "\n" not in str(caught.value)


# SQLite's planner is told which index to use; PostgreSQL's needs no hint.
@pytest.mark.parametrize("target", ["sqlite"], indirect=True)
def test_top_unanswered_is_the_same_with_or_without_the_partial_index(known_log, db_path):
    since = querylog.utc_iso(querylog.parse_since("7d"))
    db = querylog.open_existing(db_path)
    assert "idx_queries_unanswered" in db.index_names("queries")
    through_index = querylog.summarize(db, since).top_unanswered
    db.close()
    # A file without the partial index, read without upgrading it (as `pambot log stats` does).
    raw = sqlite3.connect(db_path)
    raw.execute("DROP INDEX idx_queries_unanswered")
    raw.execute(f"PRAGMA user_version = {querylog.SCHEMA_VERSION}")
    raw.commit()
    raw.close()
    db = querylog.open_existing(db_path)
    without_index = querylog.summarize(db, since).top_unanswered
    db.close()
    assert through_index == without_index == [("upgrade 5.1 to 9", 3), ("what is this", 1)]
