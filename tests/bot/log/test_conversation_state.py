"""Thread memory and checklists beside the query log, as several workers (and replicas on
PostgreSQL) share them: each test on both backends unless it is about SQLite's file."""

from __future__ import annotations

import doctest
import threading
from datetime import UTC, datetime, timedelta

import pytest

import bot.querylog.runbooks
import bot.querylog.threads
from bot.querylog import (
    SCHEMA_VERSION,
    Runbooks,
    StateStore,
    StateUnavailable,
    Threads,
    list_runbooks,
    open_existing,
    schema_version,
)
from bot.querylog.schema import connect, utc_iso
from tests.conftest import sql

STEPS = ("Take a backup", "Deploy a new server", "Restore the backup", "Rejoin the followers")


def start(runbooks: Runbooks, answer_ts: str = "1700000000.000200", **extra):
    return runbooks.start(channel="C0INC", thread_ts="1700000000.000100", answer_ts=answer_ts,
                          item=0, question="upgrade 6.5.4", rule="upgrade-6.5.4",
                          title="Backup and restore required", steps=STEPS,
                          started_by="U0ALICE", **extra)


def test_a_thread_remembered_by_one_worker_is_recalled_by_another(target):
    path = target
    first, second = Threads(StateStore(path)), Threads(StateStore(path))
    assert first.remember("C1", "1.1", {"intent": "restore", "asking": "x"}, query_id="q1",
                          team="T1")
    thread = second.recall("C1", "1.1")
    assert thread.context == {"intent": "restore", "asking": "x"} and thread.query_id == "q1"
    # The latest answer in the thread is what it remembers.
    second.remember("C1", "1.1", {"intent": "upgrade"}, query_id="q2")
    assert first.recall("C1", "1.1").context == {"intent": "upgrade"}
    assert first.recall("C1", "1.2") is None
    assert first.recall("C2", "1.1") is None


def test_a_dm_outside_a_thread_is_one_conversation(target):
    threads = Threads(StateStore(target))
    threads.remember("D1", None, {"intent": "restore"}, query_id="q1")
    assert threads.recall("D1", None).context == {"intent": "restore"}


def test_a_thread_is_forgotten_after_its_hours(target):
    path = target
    Threads(StateStore(path), hours=0).remember("C1", "1.1", {"intent": "x"}, query_id=None)
    assert Threads(StateStore(path)).recall("C1", "1.1") is None
    # ...and the expired row is deleted when a worker next opens the database.
    assert sql(path, "SELECT count(*) FROM threads") == [(0,)]


def test_the_state_lives_beside_the_query_log_and_leaves_its_schema_alone(target, open_log):
    log = open_log(target)
    log.flush()
    Threads(StateStore(target)).remember("C1", "1.1", {}, query_id=None)
    with open_existing(target) as db:
        tables = {name for name in ("queries", "feedback", "threads", "query_links",
                                    "runbooks", "runbook_ticks", "clicks")
                  if db.table_exists(name)}
        version = schema_version(db)
    assert tables == {"queries", "feedback", "threads", "query_links", "runbooks",
                      "runbook_ticks", "clicks"}
    assert version == SCHEMA_VERSION


def test_an_unusable_file_forgets_threads_quietly_and_refuses_checklists(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where a directory should be")
    store = StateStore(blocker / "pambot.db")
    threads = Threads(store)
    assert threads.remember("C1", "1.1", {}, query_id=None) is False
    assert threads.recall("C1", "1.1") is None
    assert threads.link("q2", "q1", "reply") is False
    with pytest.raises(StateUnavailable):
        start(Runbooks(store))


def test_a_link_says_which_question_a_click_answered(target):
    threads = Threads(StateStore(target))
    assert threads.link("q2", "q1", "choice")
    assert threads.link("q2", "q1", "choice")  # a retried click is one link
    assert threads.link(None, "q1", "choice") is False
    assert sql(target, "SELECT query_id, parent_id, how FROM query_links") == [
        ("q2", "q1", "choice")]


def test_one_checklist_per_answer(target):
    runbooks = Runbooks(StateStore(target))
    book = start(runbooks)
    assert book.steps == STEPS and book.done == 0 and not book.complete
    assert start(runbooks) is None
    assert start(runbooks, answer_ts="1700000000.000300") is not None


def test_ticks_and_unticks_the_latest_counts_and_every_one_is_kept(target):
    path = target
    runbooks = Runbooks(StateStore(path))
    book = start(runbooks)
    after = runbooks.tick(book.id, 2, user="U0BOB", ticked=True)
    assert after.done == 1 and after.ticks[2].user == "U0BOB" and after.ticks[2].ticked
    after = runbooks.tick(book.id, 2, user="U0CAROL", ticked=False)
    assert after.done == 0 and after.ticks[2].user == "U0CAROL"
    for step in range(1, 5):
        after = runbooks.tick(book.id, step, user="U0BOB", ticked=True)
    assert after.complete and after.finished is not None and after.took() >= 0
    rows = sql(path, 'SELECT channel, thread_ts, step, "user", ticked FROM runbook_ticks '
               "ORDER BY id")
    assert rows[:2] == [("C0INC", "1700000000.000100", 2, "U0BOB", 1),
                        ("C0INC", "1700000000.000100", 2, "U0CAROL", 0)]
    assert len(rows) == 6


def test_a_tick_on_a_checklist_that_is_gone_or_a_step_that_is_not_there(target):
    runbooks = Runbooks(StateStore(target))
    book = start(runbooks)
    assert runbooks.tick(book.id, 5, user="U1", ticked=True) is None
    assert runbooks.tick(book.id, 0, user="U1", ticked=True) is None
    runbooks.discard(book.id)
    assert runbooks.tick(book.id, 1, user="U1", ticked=True) is None
    assert runbooks.get(book.id) is None


def test_ticks_from_many_workers_at_once_are_all_kept(target):
    path = target
    book = start(Runbooks(StateStore(path)))
    workers = [Runbooks(StateStore(path)) for _ in range(4)]
    barrier = threading.Barrier(len(workers))

    def tick(runbooks: Runbooks, step: int) -> None:
        barrier.wait()
        runbooks.tick(book.id, step, user=f"U{step}", ticked=True)

    threads = [threading.Thread(target=tick, args=(w, n)) for n, w in enumerate(workers, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    final = Runbooks(StateStore(path)).get(book.id)
    assert final.complete and len(sql(path, "SELECT id FROM runbook_ticks")) == 4
    assert {tick.user for tick in final.ticks.values()} == {"U1", "U2", "U3", "U4"}


def test_checklists_are_listed_with_their_progress(target):
    path = target
    connect(path).close()
    runbooks = Runbooks(StateStore(path))
    first = start(runbooks)
    second = start(runbooks, answer_ts="1700000000.000900")
    for step in range(1, 5):
        runbooks.tick(first.id, step, user="U0BOB", ticked=True)
    runbooks.tick(second.id, 1, user="U0BOB", ticked=True)
    with open_existing(path) as db:
        listed = list_runbooks(db, None)
        tomorrow = utc_iso(datetime.now(UTC) + timedelta(days=1))
        assert list_runbooks(db, tomorrow) == []
    assert {(b.id, b.done, b.complete) for b in listed} == {
        (first.id, 4, True), (second.id, 1, False)}


def test_old_checklists_go_with_the_log_retention(target):
    path = target
    runbooks = Runbooks(StateStore(path))
    book = start(runbooks)
    runbooks.tick(book.id, 1, user="U1", ticked=True)
    sql(path, "UPDATE runbooks SET started = '2020-01-01T00:00:00.000Z'")
    Runbooks(StateStore(path, retention_days=90)).get(book.id)  # a worker starting up
    assert sql(path, "SELECT count(*) FROM runbooks") == [(0,)]
    assert sql(path, "SELECT count(*) FROM runbook_ticks") == [(0,)]


def test_the_examples_in_the_docstrings_run():
    for module in (bot.querylog.threads, bot.querylog.runbooks):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0, module.__name__


def test_log_prune_deletes_old_checklists_with_their_ticks_and_keeps_new_ones(
        target, pambot_cli):
    path = target
    connect(path).close()
    runbooks = Runbooks(StateStore(path))
    old, new = start(runbooks), start(runbooks, answer_ts="1700000000.000300")
    runbooks.tick(old.id, 0, user="U0ALICE", ticked=True)
    runbooks.tick(new.id, 1, user="U0BOB", ticked=True)
    # the first was started a month ago
    sql(path, "UPDATE runbooks SET started = ? WHERE id = ?",
        [utc_iso(datetime.now(UTC) - timedelta(days=30)), old.id])
    env = {"PAMBOT_DB": path}
    listed = pambot_cli("log", "runbooks", "--since", "90d", env=env).stdout
    assert listed.splitlines()[0].endswith(": 2")
    result = pambot_cli("log", "prune", "--older-than", "7d", env=env)
    assert result.exit_code == 0, result.output
    assert "Deleted 0 queries, 0 votes and 1 checklists older than" in result.stdout
    assert sql(path, "SELECT id FROM runbooks") == [(new.id,)]
    assert sql(path, "SELECT runbook_id FROM runbook_ticks") == [(new.id,)]
    listed = pambot_cli("log", "runbooks", "--since", "90d", env=env).stdout
    assert listed.splitlines()[0].endswith(": 1")
    assert "0/4" not in listed and "1/4" in listed  # the one left is the newer, ticked once
