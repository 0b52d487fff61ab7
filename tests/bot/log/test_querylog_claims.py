"""Slack event claims: one answer per event across the processes that share a log (a file,
or a PostgreSQL database shared by replicas)."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from bot import querylog
from bot.config import Config
from tests.conftest import sql


def _stale_claims(db_path, age: timedelta) -> None:
    old = querylog.utc_iso(datetime.now(UTC) - age)
    fresh = querylog.utc_iso(datetime.now(UTC))
    sql(db_path, "INSERT INTO events (event_id, ts, state) VALUES (?, ?, 'claimed'), "
        "(?, ?, 'claimed'), (?, ?, 'answered')",
        ["Ev-dead", old, "Ev-busy", fresh, "Ev-done", old])


def test_a_claim_abandoned_by_a_dead_worker_is_taken_over_after_the_lease(target, open_log):
    db_path = target
    log = open_log(db_path)
    assert log.flush()
    _stale_claims(db_path, querylog.CLAIM_LEASE + timedelta(seconds=5))
    assert log.claim_event("Ev-dead") is True
    with pytest.raises(querylog.EventInProgress):  # Slack is told to deliver it again
        log.claim_event("Ev-busy")
    assert log.claim_event("Ev-done") is False


def test_the_lease_is_configurable(target, open_log, monkeypatch):
    db_path = target
    config = Config.from_env({"PAMBOT_EVENT_LEASE_SECONDS": "600"})
    assert config.event_lease_seconds == 600
    log = open_log(db_path, claim_lease=timedelta(seconds=config.event_lease_seconds))
    assert log.flush()
    _stale_claims(db_path, timedelta(seconds=60))  # a retry a minute after a worker died
    with pytest.raises(querylog.EventInProgress):
        log.claim_event("Ev-dead")


def test_a_lock_held_longer_than_50_ms_does_not_let_two_processes_answer(db_path, open_log):
    # Two QueryLogs on one file behave as two worker processes do.
    first, second = open_log(db_path), open_log(db_path)
    assert first.flush() and second.flush()
    holder = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")  # another process's long write
    threading.Timer(0.5, holder.execute, ["ROLLBACK"]).start()
    granted = [first.claim_event("Ev1")]
    with pytest.raises(querylog.EventInProgress):
        second.claim_event("Ev1")
    holder.close()
    assert granted == [True]


def test_a_claim_store_locked_past_the_wait_leaves_the_event_to_slacks_retry(
        db_path, open_log, caplog, monkeypatch):
    monkeypatch.setattr("bot.querylog.claims.CLAIM_WAIT_S", 0.2)
    log = open_log(db_path)
    assert log.flush()
    holder = sqlite3.connect(db_path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(querylog.EventClaimBusy):
            log.claim_event("Ev1")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert any("not answering this event now" in r.getMessage() for r in caplog.records
               if r.levelno == logging.WARNING)
    # Slack's redelivery, once the lock is gone, is answered, once.
    assert log.claim_event("Ev1") is True
    log.finish_event("Ev1", answered=True)
    assert log.claim_event("Ev1") is False


def test_an_unusable_claim_store_dedupes_in_memory_and_says_so(tmp_path, open_log, caplog):
    log = open_log(tmp_path)  # a directory: no log file can be made there
    assert log.claim_event("Ev1") is True
    with pytest.raises(querylog.EventInProgress):
        log.claim_event("Ev1")
    log.finish_event("Ev1", answered=True)
    assert log.claim_event("Ev1") is False
    [warning] = [r for r in caplog.records if "cannot record Slack event claims" in r.getMessage()]
    assert "may be answered twice" in warning.getMessage()


def test_a_finished_claim_reaches_the_file_even_when_it_was_locked_at_the_time(
        db_path, open_log, monkeypatch):
    monkeypatch.setattr("bot.querylog.claims.CLAIM_WAIT_S", 0.1)
    log = open_log(db_path)
    assert log.claim_event("Ev1") is True
    holder = sqlite3.connect(db_path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    log.finish_event("Ev1", answered=True)  # cannot update now: queued for the writer
    time.sleep(0.2)
    holder.execute("ROLLBACK")
    holder.close()
    assert log.flush(timeout=10)
    assert sql(db_path, "SELECT state FROM events WHERE event_id = 'Ev1'") == [("answered",)]


def test_pambot_event_lease_seconds_reaches_the_servers_query_log(target):
    # The log `pambot serve` and `pambot socket` open, from the environment as they read it.
    from bot.ask import open_querylog

    db_path = target
    config = Config.from_env({"PAMBOT_EVENT_LEASE_SECONDS": "600", "PAMBOT_DB": str(db_path)})
    log = open_querylog(config)
    try:
        assert log.flush()
        _stale_claims(db_path, timedelta(seconds=60))  # a retry a minute after a worker died
        # Taken over after the default 30 s lease; not within the 600 s one configured.
        with pytest.raises(querylog.EventInProgress):
            log.claim_event("Ev-dead")
    finally:
        log.close()


def test_a_claim_released_by_a_failed_answer_is_claimed_by_the_next_delivery(target,
                                                                            open_log):
    db_path = target
    first, second = open_log(db_path), open_log(db_path)  # two worker processes
    assert first.claim_event("Ev1") is True
    with pytest.raises(querylog.EventInProgress):
        second.claim_event("Ev1")
    first.finish_event("Ev1", answered=False)  # the post failed
    assert second.claim_event("Ev1") is True
    second.finish_event("Ev1", answered=True)
    assert first.claim_event("Ev1") is False


def test_a_postgresql_claim_waiting_on_a_lock_past_the_wait_leaves_the_event_to_slack(
        pg_target, open_log, caplog):
    # Another replica's transaction holds the event's row (a long write): not answered now,
    # so that two replicas never both answer it; Slack redelivers it.
    import psycopg

    log = open_log(pg_target)
    assert log.flush()
    assert log.claim_event("Ev1") is True
    log.finish_event("Ev1", answered=False)  # released: the next delivery may claim it
    with psycopg.connect(pg_target) as holder:
        holder.execute("SELECT * FROM events WHERE event_id = 'Ev1' FOR UPDATE")
        started = time.monotonic()
        with pytest.raises(querylog.EventClaimBusy):
            open_log(pg_target).claim_event("Ev1")
        waited = time.monotonic() - started
    assert 1.5 < waited < 3.0  # Slack wants its answer within 3 seconds
    assert any("not answering this event now" in r.getMessage() for r in caplog.records)
    assert log.claim_event("Ev1") is True  # the redelivery, once the lock is gone


def test_a_postgresql_database_that_cannot_be_reached_dedupes_in_memory_and_says_so(
        open_log, caplog):
    # Nothing listens on port 9 of 127.0.0.1: as a database server that is down.
    log = open_log("postgresql://pambot:hunter2-not-logged@127.0.0.1:9/pambot")
    started = time.monotonic()
    assert log.claim_event("Ev1") is True
    with pytest.raises(querylog.EventInProgress):
        log.claim_event("Ev1")
    log.finish_event("Ev1", answered=True)
    assert log.claim_event("Ev1") is False
    assert time.monotonic() - started < 2.5
    [warning] = [r for r in caplog.records if "cannot record Slack event claims" in r.getMessage()]
    assert "postgresql://pambot@127.0.0.1:9/pambot" in warning.getMessage()
    assert "may be answered twice" in warning.getMessage()
    assert all("hunter2" not in r.getMessage() for r in caplog.records)
