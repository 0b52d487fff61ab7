"""The schema: created on a fresh file or PostgreSQL database, older versions brought up to
date, and a file from before the release converted in place."""

from __future__ import annotations

import sqlite3

from sqlite_utils import Database

from bot import querylog
from bot.querylog.schema import MIGRATIONS, _mark
from bot.querylog.store import SQLITE, Connection, pg_connect
from tests.conftest import sql

# A file from before the first release (text ids), as an early pambot left it.
V1_SQL = """
CREATE TABLE queries (id TEXT PRIMARY KEY, ts TEXT NOT NULL, source TEXT NOT NULL, team TEXT,
    channel TEXT, user TEXT, thread_ts TEXT, text TEXT NOT NULL, intent TEXT, from_version TEXT,
    to_version TEXT, node TEXT, rule TEXT, outcome TEXT NOT NULL, verdict TEXT, elapsed_ms FLOAT);
CREATE INDEX idx_queries_ts ON queries (ts);
CREATE TABLE feedback (id TEXT PRIMARY KEY, query_id TEXT NOT NULL REFERENCES queries(id),
    ts TEXT NOT NULL, helpful INTEGER NOT NULL, user TEXT, team TEXT, channel TEXT);
INSERT INTO queries (id, ts, source, text, intent, rule, outcome, elapsed_ms)
    VALUES ('old1', '2026-11-20T10:00:00.000Z', 'slash', 'upgrade 5.1', 'upgrade', 'r1',
            'support', 2.5),
           ('old2', '2026-11-21T10:00:00.000Z', 'dm', 'restore', 'restore', 'r2', 'path', 1.0);
INSERT INTO feedback (id, query_id, ts, helpful, user)
    VALUES ('f1', 'old1', '2026-11-20T10:01:00.000Z', 0, 'U1');
PRAGMA user_version = 1;
"""


def _indexes(db: Database, table: str) -> set[tuple[str, ...]]:
    return {tuple(index.columns) for index in db[table].indexes}


def test_a_fresh_file_gets_the_whole_schema_in_wal_mode(db_path, open_log, make_answer):
    log = open_log(db_path)
    log.record_query(make_answer(), source="cli", elapsed_ms=1.0)
    assert log.flush()
    db = Database(db_path)
    assert querylog.schema_version(db) == querylog.SCHEMA_VERSION == 3
    assert db.execute("PRAGMA application_id").fetchone()[0] == 0x70616D62
    assert db.journal_mode == "wal"
    assert {"queries", "feedback", "events"} <= set(db.table_names())
    assert db["queries"].pks == ["id"] and db["queries"].columns_dict["id"] is int
    # Three indexes on queries: time, and the counts and unanswered questions of `log stats`.
    assert {i.name for i in db["queries"].indexes} == {
        "idx_queries_unanswered", "idx_queries_counts", "idx_queries_ts"}
    assert {("query_id",), ("ts",)} <= _indexes(db, "feedback")
    assert db["feedback"].foreign_keys[0].other_table == "queries"


def test_a_file_from_before_the_release_is_converted_and_keeps_its_rows(
        db_path, open_log, make_answer, count_rows):
    conn = sqlite3.connect(db_path)
    conn.executescript(V1_SQL)
    conn.close()

    log = open_log(db_path)
    new_id = log.record_query(make_answer(), source="slash", elapsed_ms=1.0, event_id="Ev9")
    assert log.flush()

    db = Database(db_path)
    assert querylog.schema_version(db) == querylog.SCHEMA_VERSION
    assert db["events"].exists()
    rows = {r["text"]: r for r in db["queries"].rows}
    assert set(rows) == {"upgrade 5.1", "restore", "upgrade 6.5.4"}
    assert rows["upgrade 5.1"]["outcome"] == "support" and rows["restore"]["source"] == "dm"
    assert db["queries"].get(new_id)["event_id"] == "Ev9"
    [vote] = db["feedback"].rows
    assert vote["query_id"] == rows["upgrade 5.1"]["id"] and vote["user"] == "U1"
    assert count_rows(db_path) == 3
    assert {i.name for i in db["queries"].indexes} == {
        "idx_queries_unanswered", "idx_queries_counts", "idx_queries_ts"}


def test_log_stats_reads_a_file_from_before_the_release(db_path, pambot_log):
    conn = sqlite3.connect(db_path)
    conn.executescript(V1_SQL)
    conn.close()
    result = pambot_log("stats", "--since", "2026-01-01")
    assert result.exit_code == 0, result.output
    assert "2 queries since" in result.stdout
    assert "Helpful votes: 0 of 1" in result.stdout


def test_a_file_with_other_tables_keeps_them(db_path, open_log, make_answer, count_rows):
    Database(db_path)["notes"].insert({"note": "kept"})
    log = open_log(db_path)
    log.record_query(make_answer(), source="cli", elapsed_ms=1.0)
    assert log.flush()
    assert count_rows(db_path, "notes") == 1
    assert count_rows(db_path) == 1


def _shape(db) -> dict[str, tuple[list[str], set[str]]]:
    return {table: (db.columns(table), db.index_names(table))
            for table in ("queries", "feedback", "events")}


def test_migrating_twice_changes_nothing(target):
    db = querylog.connect(target)
    before = _shape(db)
    assert querylog.migrate(db) == querylog.SCHEMA_VERSION
    assert _shape(db) == before
    db.close()


def test_a_fresh_postgresql_database_gets_the_same_schema_as_a_file(pg_target, tmp_path):
    with querylog.connect(pg_target) as pg, querylog.connect(tmp_path / "p.db") as file:
        assert querylog.schema_version(pg) == querylog.SCHEMA_VERSION == 3
        assert _shape(pg) == _shape(file)
    assert sql(pg_target, "SELECT version FROM pambot_schema") == [(3,)]


def _at_version(target, version: int) -> None:
    """A database as an older pambot left it: the released steps up to `version`."""
    raw = target if target.startswith("postgresql") else None
    db = pg_connect(raw) if raw else Connection(
        sqlite3.connect(target, isolation_level=None), SQLITE, target)
    for step in range(1, version + 1):
        MIGRATIONS[step](db)
    _mark(db, version)
    db.close()


def test_a_version_1_log_gains_the_rules_version_column_and_keeps_its_rows(
        target, open_log, make_answer):
    _at_version(target, 1)
    sql(target, "INSERT INTO queries (id, ts, source, text, outcome) "
        "VALUES (1, '2026-11-20T10:00:00.000Z', 'cli', 'upgrade 5.1', 'support')")
    log = open_log(target)
    log.record_query(make_answer(), source="cli", elapsed_ms=1.0, rules_version="9f24a1f00544")
    assert log.flush()
    with querylog.connect(target) as db:
        assert querylog.schema_version(db) == querylog.SCHEMA_VERSION
    assert sql(target, "SELECT text, rules_version FROM queries ORDER BY id") == [
        ("upgrade 5.1", None), (make_answer().query, "9f24a1f00544")]


def test_a_version_2_log_gains_the_typed_column_and_keeps_its_rows(
        target, open_log, make_answer):
    _at_version(target, 2)
    sql(target, "INSERT INTO queries (id, ts, source, text, outcome) "
        "VALUES (1, '2026-11-20T10:00:00.000Z', 'shell', '2', 'support')")
    log = open_log(target)
    picked = make_answer()
    log.record_query(picked, source="shell", elapsed_ms=1.0, typed="2")
    log.record_query(picked, source="shell", elapsed_ms=1.0, typed=picked.query)
    assert log.flush()
    with querylog.connect(target) as db:
        assert querylog.schema_version(db) == querylog.SCHEMA_VERSION
    # What was typed is kept only where it is not the question itself.
    assert sql(target, "SELECT text, typed FROM queries ORDER BY id") == [
        ("2", None), (picked.query, "2"), (picked.query, None)]


def test_replicas_starting_together_on_a_fresh_database_create_its_schema_once(target):
    # Each connection is another process: on PostgreSQL, another replica.
    import threading

    from bot.querylog import StateStore

    failures: list[BaseException] = []

    def start() -> None:
        try:
            querylog.connect(target).close()
            with StateStore(target).reading():
                pass
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    starting = [threading.Thread(target=start) for _ in range(4)]
    for thread in starting:
        thread.start()
    for thread in starting:
        thread.join(30)
    assert failures == []
    with querylog.connect(target) as db:
        assert querylog.schema_version(db) == querylog.SCHEMA_VERSION
