"""The writer: rows arrive; a bad path, a corrupt file or a lock never stops an answer."""

from __future__ import annotations

import logging
import sqlite3
from datetime import UTC, datetime, timedelta

from sqlite_utils import Database

from bot import querylog
from tests.conftest import sql


def _warnings(caplog, text: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "pambot.querylog"
            and r.levelno == logging.WARNING and text in r.getMessage()]


def _queries(target) -> dict[int, dict]:
    columns = querylog.schema.QUERY_COLUMNS
    names = ", ".join(f'"{c}"' for c in columns)
    return {row[0]: dict(zip(columns, row, strict=True))
            for row in sql(target, f"SELECT {names} FROM queries ORDER BY id")}


def test_a_query_and_its_vote_are_written_as_given(target, open_log, make_answer):
    log = open_log(target)
    answer = make_answer("Upgrade 6.5.4 please", outcome="support", rule="r-support")
    query_id = log.record_query(answer, source="slash", elapsed_ms=12.3456, team="T1",
                                channel="C1", user="U1", thread_ts="1.2", event_id="Ev1")
    generated = log.record_query(answer, source="cli", elapsed_ms=1)
    given = log.record_query(answer, source="dm", elapsed_ms=1, query_id="123")
    log.record_feedback(query_id, helpful=False, user="U2", team="T1", channel="C1")
    assert log.flush()
    assert log.healthy

    rows = _queries(target)
    row = rows[query_id]
    assert {k: row[k] for k in ("source", "team", "channel", "user", "thread_ts", "event_id",
                                "text", "intent", "from_version", "rule", "outcome",
                                "elapsed_ms")} == {
        "source": "slash", "team": "T1", "channel": "C1", "user": "U1", "thread_ts": "1.2",
        "event_id": "Ev1", "text": "Upgrade 6.5.4 please", "intent": "upgrade",
        "from_version": "6.5.4", "rule": "r-support", "outcome": "support",
        "elapsed_ms": 12.346,
    }
    assert datetime.fromisoformat(row["ts"]) > datetime.now(UTC) - timedelta(minutes=1)
    assert row["ts"].endswith("Z")
    assert rows[generated]["source"] == "cli"
    assert given == 123 and rows[123]["source"] == "dm"
    assert sql(target, 'SELECT query_id, helpful, "user" FROM feedback') == [(query_id, 0, "U2")]


def test_a_path_under_a_regular_file_warns_once_keeps_rows_and_recovers(
    tmp_path, open_log, make_answer, count_rows, caplog
):
    blocker = tmp_path / "data"
    blocker.write_text("a regular file where the directory should be")
    path = blocker / "pambot.db"
    log = open_log(path, max_pending=5)
    assert not log.flush(timeout=0.3)  # the writer has tried, and failed, once
    ids = [log.record_query(make_answer(f"q{i}"), source="slash", elapsed_ms=1)
           for i in range(8)]
    for _ in range(3):  # each flush makes the writer try again at once
        assert not log.flush(timeout=0.3)
    assert not log.healthy
    assert len(ids) == 8
    assert len(_warnings(caplog, "cannot be written")) == 1
    assert "data" in _warnings(caplog, "cannot be written")[0].getMessage()

    blocker.unlink()
    blocker.mkdir()
    assert log.flush(timeout=10)
    assert log.healthy
    # At most 5 rows wait in the queue (and 5 more in the writer's batch); the rest were
    # dropped, and the log says how many.
    kept = [r["text"] for r in Database(path)["queries"].rows_where(order_by="id")]
    assert kept == [f"q{i}" for i in range(len(kept))] and 5 <= len(kept) < 8
    assert _warnings(caplog, f"dropped {8 - len(kept)} new rows")
    assert count_rows(path) == len(kept)


def test_a_directory_as_the_path_does_not_stop_answers(tmp_path, open_log, make_answer):
    log = open_log(tmp_path)
    assert log.record_query(make_answer(), source="shell", elapsed_ms=1)
    log.record_feedback("x", helpful=True)
    assert not log.flush(timeout=0.3)
    assert not log.healthy
    assert log.claim_event("Ev1") is True
    log.finish_event("Ev1", answered=True)
    assert log.claim_event("Ev1") is False


def test_a_corrupt_file_is_reported_and_left_alone(db_path, open_log, make_answer, caplog):
    garbage = b"this is not an SQLite database\n" * 200
    db_path.write_bytes(garbage)
    log = open_log(db_path)
    assert log.record_query(make_answer(), source="slash", elapsed_ms=1)
    assert not log.flush(timeout=0.3)
    [warning] = _warnings(caplog, "cannot be written")
    assert "not a database" in warning.getMessage()
    log.close(timeout=1)
    assert db_path.read_bytes() == garbage


def test_a_locked_database_delays_rows_but_not_answers(db_path, open_log, make_answer,
                                                       count_rows):
    querylog.connect(db_path).close()
    holder = sqlite3.connect(db_path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        log = open_log(db_path)
        ids = [log.record_query(make_answer(), source="mention", elapsed_ms=1)
               for _ in range(50)]
        assert len(set(ids)) == 50
        assert not log.flush(timeout=0.3)
        assert count_rows(db_path) == 0
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert log.flush(timeout=10)
    assert count_rows(db_path) == 50


def test_close_flushes_is_idempotent_and_later_records_do_not_raise(target, open_log,
                                                                    make_answer, count_rows):
    db_path = target
    log = open_log(db_path)
    for _ in range(20):
        log.record_query(make_answer(), source="cli", elapsed_ms=1)
    log.close()
    log.close()
    assert count_rows(db_path) == 20
    assert log.record_query(make_answer(), source="cli", elapsed_ms=1)
    log.record_feedback(1, helpful=True)
    # Rows that come after close are not kept: nothing waits, nothing more is written.
    assert log.pending == 0
    assert count_rows(db_path) == 20 and count_rows(db_path, "feedback") == 0


def test_retention_prunes_old_queries_and_their_votes(target, open_log, make_answer,
                                                      count_rows):
    db_path = target
    querylog.connect(db_path).close()
    old = querylog.utc_iso(datetime.now(UTC) - timedelta(days=40))
    recent = querylog.utc_iso(datetime.now(UTC) - timedelta(days=5))
    sql(db_path, "INSERT INTO queries (id, ts, source, text, outcome) VALUES "
        "(1, ?, 'slash', 't', 'path'), (2, ?, 'slash', 't', 'path')", [old, recent])
    sql(db_path, "INSERT INTO feedback (id, query_id, ts, helpful) VALUES "
        "(10, 1, ?, 1), (20, 2, ?, 0)", [recent, recent])
    sql(db_path, "INSERT INTO events (event_id, ts, state) VALUES ('Ev-old', ?, 'answered')",
        [old])

    log = open_log(db_path, retention_days=30)
    log.record_query(make_answer(), source="cli", elapsed_ms=1)
    assert log.flush()
    assert sql(db_path, "SELECT count(*) FROM queries WHERE id IN (1, 2)") == [(1,)]
    assert sql(db_path, "SELECT count(*) FROM queries WHERE id = 2") == [(1,)]
    assert count_rows(db_path) == 2
    assert sql(db_path, "SELECT id FROM feedback") == [(20,)]
    assert count_rows(db_path, "events") == 0


def test_no_retention_keeps_everything(target, open_log, make_answer, count_rows):
    db_path = target
    querylog.connect(db_path).close()
    sql(db_path, "INSERT INTO queries (id, ts, source, text, outcome) "
        "VALUES (1, '2001-01-01T00:00:00.000Z', 'cli', 't', 'path')")
    log = open_log(db_path)
    log.record_query(make_answer(), source="cli", elapsed_ms=1)
    assert log.flush()
    assert count_rows(db_path) == 2


def test_an_unexpected_source_is_recorded_and_warned_about_once(db_path, open_log, make_answer,
                                                                caplog):
    log = open_log(db_path)
    for _ in range(3):
        log.record_query(make_answer(), source="carrier-pigeon", elapsed_ms=1)
    assert log.flush()
    assert len(_warnings(caplog, "carrier-pigeon")) == 1


def test_a_row_that_cannot_be_built_is_skipped_not_the_batch(target, open_log, make_answer,
                                                             count_rows, caplog):
    db_path = target
    log = open_log(db_path)
    log.record_query(make_answer("before"), source="cli", elapsed_ms=1)
    log.record_query(object(), source="cli", elapsed_ms=1)  # not an Answer
    log.record_query(make_answer("after"), source="cli", elapsed_ms="soon")  # not a number
    log.record_query(make_answer("last"), source="cli", elapsed_ms=1)
    assert log.flush()
    assert log.healthy
    assert sorted(r["text"] for r in _queries(db_path).values()) == ["before", "last"]
    assert len([r for r in caplog.records if "could not be built" in r.getMessage()]) == 2


def test_ids_are_unique_increasing_and_fit_sqlite():
    ids = [querylog.new_id() for _ in range(10_000)]
    assert ids == sorted(set(ids))
    assert all(0 < i < 2**63 for i in ids)


def test_text_that_cannot_be_encoded_is_repaired_and_later_rows_are_written(
        target, open_log, make_answer, caplog):
    # A lone surrogate, as `\ud800` in a Slack JSON event or a byte that is not UTF-8 in a
    # command-line argument arrives: it once made the writer retry the same batch forever.
    # A NUL, which SQLite keeps and PostgreSQL's text cannot hold, is U+FFFD there.
    db_path = target
    log = open_log(db_path)
    log.record_query(make_answer("upgrade \ud800 6.5.4"), source="mention", elapsed_ms=1,
                     user="U\udcff")
    log.record_query(make_answer("nul\x00here"), source="cli", elapsed_ms=1)
    log.record_query(make_answer("after"), source="cli", elapsed_ms=1)
    assert log.flush(timeout=10)
    log.record_query(make_answer("later"), source="cli", elapsed_ms=1)
    assert log.flush(timeout=10)
    assert log.healthy
    rows = {r["text"]: r for r in _queries(db_path).values()}
    nul = "nul\x00here" if not querylog.is_postgres(db_path) else "nul\ufffdhere"
    assert set(rows) == {"upgrade \ufffd 6.5.4", nul, "after", "later"}
    assert rows["upgrade \ufffd 6.5.4"]["user"] == "U\ufffd"


def test_a_row_the_database_refuses_is_set_aside_with_a_warning_and_the_rest_written(
        target, open_log, make_answer, caplog):
    db_path = target
    log = open_log(db_path)
    log.record_query(make_answer("before"), source="cli", elapsed_ms=1)
    # An id past 64 bits: neither SQLite nor PostgreSQL stores it.
    log.record_query(make_answer("refused"), source="cli", elapsed_ms=1, query_id=2**70)
    if not querylog.is_postgres(db_path):  # a list: PostgreSQL would store it as text
        log.record_query(make_answer("refused"), source="cli", elapsed_ms=1, user=["not", "x"])
    log.record_query(make_answer("after"), source="cli", elapsed_ms=1)
    assert log.flush(timeout=10)
    log.record_query(make_answer("later"), source="cli", elapsed_ms=1)
    assert log.flush(timeout=10)
    assert sorted(r["text"] for r in _queries(db_path).values()) == ["after", "before", "later"]
    assert _warnings(caplog, "set aside a queries row")


def test_a_log_file_deleted_while_running_is_recreated_with_a_warning(
        db_path, open_log, make_answer, count_rows, caplog):
    log = open_log(db_path)
    log.record_query(make_answer("first"), source="cli", elapsed_ms=1)
    assert log.flush()
    db_path.unlink()
    log.record_query(make_answer("second"), source="cli", elapsed_ms=1)
    assert log.flush(timeout=10)
    log.record_query(make_answer("third"), source="cli", elapsed_ms=1)
    assert log.flush(timeout=10)
    assert db_path.exists()
    assert querylog.schema_version(Database(db_path)) == querylog.SCHEMA_VERSION
    assert sorted(r["text"] for r in Database(db_path)["queries"].rows) == ["second", "third"]
    [warning] = _warnings(caplog, "was deleted or replaced")
    assert str(db_path) in warning.getMessage()


def test_rows_wait_while_postgresql_is_down_bounded_and_are_written_once_it_is_back(
        pg_target, open_log, make_answer, caplog):
    from tests.conftest import postgres_stopped

    caplog.set_level(logging.INFO, logger="pambot.querylog")
    log = open_log(pg_target, max_pending=5)
    assert log.flush()
    with postgres_stopped():
        for i in range(15):
            log.record_query(make_answer(f"q{i}"), source="slash", elapsed_ms=1)
        assert not log.flush(timeout=0.5)
        assert not log.healthy
    assert log.flush(timeout=30)
    assert log.healthy
    kept = [text for (text,) in sql(pg_target, "SELECT text FROM queries ORDER BY id")]
    # At most 5 rows wait in the queue (and 5 more in the writer's batch); the rest were
    # dropped, and the log says how many.
    assert kept == [f"q{i}" for i in range(len(kept))] and 5 <= len(kept) <= 10
    assert _warnings(caplog, f"dropped {15 - len(kept)} new rows")
    [down] = _warnings(caplog, "cannot be written")
    assert "wait in memory (up to 5;" in down.getMessage()
    assert any("is writable again" in r.getMessage() for r in caplog.records)
