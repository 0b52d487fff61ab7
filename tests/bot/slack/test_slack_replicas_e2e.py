"""Two replicas on one PostgreSQL database, each on its own port as if on its own machine.

Real `pambot serve` processes (gunicorn, uvicorn workers) and real `pambot socket`
processes, one real PostgreSQL, signed requests and the local Slack stand-ins. Slack's side
is played as Slack plays it: a load balancer URL that sends each request to one replica, a
retry that may reach the other, and for Socket Mode one connection per process with the
app's events spread over them.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.bot.slack.conftest import (
    ADMIN,
    PAMBOT,
    Slack,
    StandIn,
    free_port,
    start_server,
    start_socket,
    stop_server,
    wait,
)
from tests.bot.slack.test_slack_socket_mode import events_envelope
from tests.conftest import sql

# Starts real processes or servers: skipped by a quick `pytest -m "not slow"`.
pytestmark = pytest.mark.slow


@pytest.fixture
def replicas(standin, pg_target, tmp_path):
    """Start `pambot serve` replicas on this test's PostgreSQL database: `replicas(2)`."""
    started = []

    def start(count: int = 2, env: dict[str, str] | None = None, workers: int = 2):
        for _ in range(count):
            started.append(start_server(standin, tmp_path, db_path=pg_target, env=env,
                                        workers=workers, name=f"replica-{len(started)}"))
        return started[-count:]

    yield start
    for server in started:
        if server.process.poll() is None:
            stop_server(server)


def mention(channel: str, text: str, ts: str, **extra) -> dict:
    return {"type": "app_mention", "user": "U0ASKER", "channel": channel, "ts": ts,
            "text": f"<@U0BOT> {text}", **extra}


def posts(standin: StandIn, channel: str) -> list:
    return standin.posted(lambda c: c.body.get("channel") == channel)


def at_once(*calls):
    """Run `calls` in threads started together; their results in order."""
    with ThreadPoolExecutor(len(calls)) as pool:
        return [f.result() for f in [pool.submit(call) for call in calls]]


def test_each_event_is_answered_once_whichever_replica_a_retry_reaches(
        replicas, slack_to, standin):
    a, b = (slack_to(server) for server in replicas(2))
    channel = a.unique("C")
    statuses = []
    for n in range(12):
        event, event_id = mention(channel, "upgrade 6.5.4", f"17000100{n:02d}.000100"), f"EvR{n}"
        # Slack's retry of a slow delivery reaches the other replica while the first answers.
        first, retry = at_once(lambda e=event, i=event_id: a.event(e, event_id=i),
                               lambda e=event, i=event_id: b.event(e, event_id=i, retry=1))
        statuses.append((first.status, retry.status))
        # Later retries, to either, find it answered.
        assert b.event(event, event_id=event_id, retry=2).status == 200
        assert a.event(event, event_id=event_id, retry=3).status == 200
    time.sleep(0.5)
    answered = [p.body["thread_ts"] for p in posts(standin, channel)]
    assert sorted(answered) == [f"17000100{n:02d}.000100" for n in range(12)]  # each once
    # The one that lost the race was told to come back later (503), never "done".
    assert all(200 in pair and set(pair) <= {200, 503} for pair in statuses), statuses
    assert wait(lambda: sql(a.server.db_path, "SELECT count(*) FROM queries WHERE "
                            "channel = ?", [channel]) == [(12,)])


def test_a_click_on_both_replicas_at_once_is_answered_once(replicas, slack_to, standin):
    a, b = (slack_to(server) for server in replicas(2))
    channel = a.unique("C")
    a.event(mention(channel, "restore", "1700002000.000100"))
    [asking] = standin.wait_for(lambda: posts(standin, channel))
    at_once(lambda: a.click_on(asking, "pam_choice_0", user="U0ALICE"),
            lambda: b.click_on(asking, "pam_choice_0", user="U0BOB"))
    standin.wait_for(lambda: posts(standin, channel), count=2)
    time.sleep(1.0)  # a second answer, if there were one, would be posted by now
    [_, answer] = posts(standin, channel)
    assert "restore" in json.dumps(answer.body["blocks"]).lower()
    assert sql(a.server.db_path, "SELECT count(*) FROM queries WHERE channel = ? AND "
               "source = 'button'", [channel]) == [(1,)]


def test_a_thread_reply_reaching_the_other_replica_is_answered_in_context(
        replicas, slack_to, standin):
    a, b = (slack_to(server) for server in replicas(2))
    channel, asked = a.unique("C"), "1700003000.000100"
    a.event(mention(channel, "restore", asked))
    [question] = standin.wait_for(lambda: posts(standin, channel))
    assert "which" in question.body["text"].lower() or "pam_choice_0" in json.dumps(
        question.body["blocks"])
    # The plain reply "the follower", with no mention, reaches the replica that never saw
    # the question: it knows the question from the database.
    reply = b.event({"type": "message", "channel_type": "channel", "user": "U0ASKER",
                     "channel": channel, "ts": "1700003000.000200", "thread_ts": asked,
                     "text": "the follower"})
    assert reply.status == 200
    [_, answer] = standin.wait_for(lambda: posts(standin, channel), count=2)
    assert answer.body["thread_ts"] == asked
    assert "Restore the follower" in answer.body["blocks"][0]["text"]["text"]


def test_checklist_ticks_from_both_replicas_are_all_kept(replicas, slack_to, standin,
                                                         pambot_cli, pg_target):
    a, b = (slack_to(server) for server in replicas(2))
    channel = a.unique("C")
    a.event(mention(channel, "upgrade 6.5.4", "1700004000.000100"))
    [answer] = standin.wait_for(lambda: posts(standin, channel))
    a.click_on(answer, "pam_checklist", user="U0ALICE")
    [_, checklist] = standin.wait_for(lambda: posts(standin, channel), count=2)
    at_once(lambda: a.tick(checklist, 1, user="U0ALICE"),
            lambda: b.tick(checklist, 2, user="U0BOB"))
    ts = checklist.response["ts"]

    def both_ticked():
        found = standin.posted(lambda c: c.body.get("ts") == ts, api_method="chat.update")
        last = json.dumps(found[-1].body["blocks"]) if found else ""
        return found if "U0ALICE" in last and "U0BOB" in last else []

    assert standin.wait_for(both_ticked)
    listed = pambot_cli("log", "runbooks", "--since", "1d", env={"PAMBOT_DB": pg_target})
    assert listed.exit_code == 0, listed.output
    assert " 2/" in listed.stdout and "U0ALICE" in listed.stdout


def test_stats_are_the_same_from_either_replica(replicas, slack_to, standin):
    a, b = (slack_to(server) for server in replicas(2))
    channel = a.unique("C")
    a.command("upgrade 6.5.4", channel=channel)
    b.command("restore leader", channel=channel)
    assert wait(lambda: sql(a.server.db_path, "SELECT count(*) FROM queries") == [(2,)])
    from_a = a.command("stats", user=ADMIN).json()
    from_b = b.command("stats", user=ADMIN).json()
    [text_a] = [blk["text"]["text"] for blk in from_a["blocks"] if blk["type"] == "section"]
    [text_b] = [blk["text"]["text"] for blk in from_b["blocks"] if blk["type"] == "section"]
    assert ": 2 queries since" in text_a
    assert text_a == text_b


def test_two_socket_mode_processes_share_events_and_threads(standin, websocket, pg_target,
                                                           slack_env, tmp_path):
    env = {**slack_env, "PAMBOT_DB": pg_target}
    started = [start_socket(env, tmp_path, name=f"socket-{n}") for n in range(2)]
    channel, asked = "C0SOCKREPL", "1700005000.000100"
    try:
        assert websocket.wait_for_connections(2), [p.read_text() for _, p in started]
        # Slack delivers the question on one connection; its retry arrives on the other.
        # (A delivery that finds the event being answered is not acknowledged: Slack sends
        # it again.)
        question = events_envelope("env-r1", mention(channel, "restore", asked), "EvSOCKR1")
        websocket.send(question, to=0)
        websocket.send({**question, "envelope_id": "env-r2", "retry_attempt": 1}, to=1)
        assert wait(lambda: websocket.acks("env-r1") or websocket.acks("env-r2"))
        [asking] = standin.wait_for(lambda: posts(standin, channel))
        websocket.send({**question, "envelope_id": "env-r2b", "retry_attempt": 2}, to=1)
        assert wait(lambda: websocket.acks("env-r2b"))
        # The reply in the thread arrives on the other connection: answered in context.
        websocket.send(events_envelope("env-r3", {
            "type": "message", "channel_type": "channel", "user": "U0ASKER",
            "channel": channel, "ts": "1700005000.000200", "thread_ts": asked,
            "text": "the leader"}, "EvSOCKR3"), to=1)
        [_, answer] = standin.wait_for(lambda: posts(standin, channel), count=2)
        assert answer.body["thread_ts"] == asked == asking.body["thread_ts"]
        assert "Restore the leader" in answer.body["blocks"][0]["text"]["text"]
        time.sleep(0.5)
        assert len(posts(standin, channel)) == 2  # the retry was not answered again
    finally:
        for process, _ in started:
            process.terminate()
        codes = [process.wait(timeout=20) for process, _ in started]
    assert all(code in (0, 143) for code in codes), [p.read_text() for _, p in started]
    assert wait(lambda: sql(pg_target, "SELECT count(*) FROM queries WHERE channel = ?",
                            [channel]) == [(2,)])


# --- faults --------------------------------------------------------------------------------


def deliver(slack: Slack, event: dict, event_id: str, retry: int | None = None):
    """One delivery; None if the replica could not be reached (or died mid-request)."""
    try:
        return slack.event(event, event_id=event_id, retry=retry).status
    except OSError:
        return None


def test_a_replica_killed_mid_burst_the_other_answers_its_whole_share_and_keeps_its_rows(
        replicas, slack_to, standin):
    # A short lease: a claim of the killed replica's is taken over by a retry after 1 s.
    servers = replicas(2, env={"PAMBOT_EVENT_LEASE_SECONDS": "1"})
    a, b = (slack_to(server) for server in servers)
    channel = a.unique("C")
    count = 60
    events = [(mention(channel, "upgrade 6.5.4", f"17000060{n:02d}.000100"), f"EvK{n}")
              for n in range(count)]
    # The load balancer sends every other event to each replica.
    share = {n: (a if n % 2 == 0 else b) for n in range(count)}
    first: dict[int, int | None] = {}
    killed = threading.Event()

    def send(n: int) -> None:
        event, event_id = events[n]
        first[n] = deliver(share[n], event, event_id)
        if n == count // 3:
            os.killpg(servers[0].process.pid, signal.SIGKILL)  # the machine is gone
            killed.set()

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(send, range(count)))
    assert killed.is_set()
    servers[0].process.wait(timeout=10)
    # B's share: every one answered at once, whatever happened to A.
    assert all(first[n] == 200 for n in range(count) if share[n] is b), first
    # Slack retries what A did not answer; the load balancer now sends everything to B.
    unanswered = [n for n in range(count) if first[n] != 200]
    assert unanswered, "the kill came after the burst"
    deadline = time.monotonic() + 20
    while unanswered and time.monotonic() < deadline:
        time.sleep(0.5)
        unanswered = [n for n in unanswered
                      if deliver(b, *events[n], retry=1) != 200]
    assert not unanswered

    def answered() -> list[str]:
        return [p.body["thread_ts"] for p in posts(standin, channel)]

    standin.wait_for(lambda: set(answered()) == {e["ts"] for e, _ in events} and answered(),
                     timeout=20)
    found = answered()
    assert set(found) == {event["ts"] for event, _ in events}  # every question answered
    for n in range(count):
        if share[n] is b:
            assert found.count(events[n][0]["ts"]) == 1  # B's share: each exactly once
    # None of B's rows is lost.
    b_ids = [events[n][1] for n in range(count) if share[n] is b]
    marks = ", ".join("?" for _ in b_ids)
    assert wait(lambda: sql(servers[1].db_path, f"SELECT count(DISTINCT event_id) FROM "
                            f"queries WHERE event_id IN ({marks})", b_ids) == [(len(b_ids),)])
    assert "Traceback" not in servers[1].log()


def test_postgresql_restarted_mid_service_answers_go_on_and_rows_are_written_after(
        replicas, slack_to, standin):
    from tests.conftest import postgres_stopped

    # One worker: while the database is away, a worker dedupes what it receives in memory, so
    # a retry that reached another worker (or replica) would be answered again (the policy
    # the log states).
    [server] = replicas(1, workers=1)
    slack = slack_to(server)
    channel = slack.unique("C")
    sent: list[str] = []

    def ask(n: int, retry: int | None = None) -> int:
        event_id = f"EvP{n}"
        sent.append(event_id)
        return slack.event(mention(channel, "upgrade 6.5.4", f"17000070{n:02d}.000100"),
                           event_id=event_id, retry=retry).status

    assert [ask(n) for n in range(3)] == [200] * 3
    assert wait(lambda: sql(server.db_path, "SELECT count(*) FROM queries WHERE channel = ?",
                            [channel]) == [(3,)])
    with postgres_stopped():
        started = time.monotonic()
        assert [ask(n) for n in range(3, 9)] == [200] * 6
        assert ask(8, retry=1) == 200  # Slack's retry of one: deduped in this process
        assert time.monotonic() - started < 10
        assert len(posts(standin, channel)) == 9
    time.sleep(1.5)  # pambot tries the database again at most once a second
    assert [ask(n) for n in range(9, 12)] == [200] * 3
    # Rows held while the database was away are written once it is back.
    assert wait(lambda: sql(server.db_path, "SELECT count(*) FROM queries WHERE channel = ?",
                            [channel]) == [(12,)], timeout=30)
    assert [p.body["thread_ts"] for p in posts(standin, channel)] == [
        f"17000070{n:02d}.000100" for n in range(12)]
    log = server.log()
    assert "cannot record Slack event claims" in log
    assert "dedupes the events it receives in memory" in log  # the claim policy meanwhile
    assert "cannot be written" in log and "wait in memory" in log
    assert "Slack event claims are shared across processes again" in server.log()
    assert wait(lambda: "is writable again" in server.log())
    # One line each, in pambot's words, not one per attempt to connect.
    assert server.log().count("psycopg.pool") == 0
    assert "Traceback" not in log
    password = server.db_path.split("://", 1)[1].split("@", 1)[0].partition(":")[2]
    assert password and password not in server.log()


def test_postgresql_unreachable_at_start_is_one_line_naming_it(standin, slack_env, tmp_path):
    # Nothing listens on port 9; and a server that accepts but never answers.
    silent = socket.create_server(("127.0.0.1", 0))
    try:
        for url in ("postgresql://pambot:hunter2-secret@127.0.0.1:9/pambot",
                    f"postgres://pambot:hunter2-secret@127.0.0.1:{silent.getsockname()[1]}"
                    "/pambot?connect_timeout=2"):
            for command in (["serve", "--port", str(free_port())], ["socket"]):
                started = time.monotonic()
                result = subprocess.run([PAMBOT, *command], capture_output=True, text=True,
                                        env={**slack_env, "PAMBOT_DB": url}, timeout=60)
                assert time.monotonic() - started < 10
                assert result.returncode == 2, result.stderr
                [line] = result.stderr.splitlines()
                shown = url.replace(":hunter2-secret", "")
                assert line.startswith(f"pambot: PAMBOT_DB names a PostgreSQL database, "
                                       f"{shown}, that cannot be used: "), line
                assert "hunter2" not in result.stderr + result.stdout
    finally:
        silent.close()
