"""The schema: created on a fresh file, and an older file upgraded in place with its rows kept."""

from __future__ import annotations

import sqlite3

from sqlite_utils import Database

from bot import querylog

# Version 1 of the schema, written out by hand as an old pambot would have left it.
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
    assert querylog.schema_version(db) == querylog.SCHEMA_VERSION
    assert db.journal_mode == "wal"
    assert {"queries", "feedback", "events"} <= set(db.table_names())
    assert {("ts",), ("intent", "ts"), ("outcome", "ts"), ("rule", "ts"),
            ("event_id",)} <= _indexes(db, "queries")
    assert {("query_id",), ("ts",)} <= _indexes(db, "feedback")
    assert db["feedback"].foreign_keys[0].other_table == "queries"
    assert db["queries"].pks == ["id"]


def test_a_version_1_file_upgrades_itself_and_keeps_its_rows(db_path, open_log, make_answer,
                                                              count_rows):
    conn = sqlite3.connect(db_path)
    conn.executescript(V1_SQL)
    conn.close()

    log = open_log(db_path)
    new_id = log.record_query(make_answer(), source="slash", elapsed_ms=1.0, event_id="Ev9")
    assert log.flush()

    db = Database(db_path)
    assert querylog.schema_version(db) == querylog.SCHEMA_VERSION
    assert "event_id" in db["queries"].columns_dict
    assert ("event_id",) in _indexes(db, "queries")
    assert db["events"].exists()
    assert db["queries"].get("old1")["text"] == "upgrade 5.1"
    assert db["queries"].get("old2")["outcome"] == "path"
    assert db["queries"].get(new_id)["event_id"] == "Ev9"
    assert db["feedback"].get("f1")["query_id"] == "old1"
    assert count_rows(db_path) == 3


def test_a_file_with_other_tables_keeps_them(db_path, open_log, make_answer, count_rows):
    Database(db_path)["notes"].insert({"note": "kept"})
    log = open_log(db_path)
    log.record_query(make_answer(), source="cli", elapsed_ms=1.0)
    assert log.flush()
    assert count_rows(db_path, "notes") == 1
    assert count_rows(db_path) == 1


def test_migrating_twice_changes_nothing(db_path):
    db = querylog.connect(db_path)
    before = db.schema
    assert querylog.migrate(db) == querylog.SCHEMA_VERSION
    assert db.schema == before
    db.close()
