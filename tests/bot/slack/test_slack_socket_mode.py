"""Socket Mode end to end: `pambot socket` against a local apps.connections.open and WebSocket.

The stand-ins (tests/bot/slack/conftest.py) speak enough RFC 6455 for slack_sdk's Socket
Mode clients, and can cut a connection the ways a network does.
"""

from __future__ import annotations

import json
import re
import socket
import sqlite3
import subprocess
import threading
import time
import urllib.error
import urllib.request

import pytest

from bot.config import Config, ConfigError
from bot.socket_mode import run_socket
from tests.bot.slack.conftest import PAMBOT, free_port, mention_envelope, start_socket, wait

# Starts real processes or servers: skipped by a quick `pytest -m "not slow"`.
pytestmark = pytest.mark.slow

# Short pings, so that a lost connection is noticed in tests within a second or two.
PING = 0.5


def test_socket_mode_answers_mentions_and_commands_and_flushes_on_sigterm(
        standin, websocket, slack_env, tmp_path):
    process, log_path = start_socket(slack_env, tmp_path)
    try:
        assert websocket.connected.wait(20), log_path.read_text()
        # A mention, then Slack's redelivery of the same event: one answer, both acked.
        websocket.send(mention_envelope("env-1", "C0SOCKET", "EvSOCKET1"))
        assert wait(lambda: websocket.acks("env-1"))
        websocket.send(mention_envelope("env-2", "C0SOCKET", "EvSOCKET1", retry=1))
        assert wait(lambda: websocket.acks("env-2"))
        [post] = standin.posted(lambda c: c.body.get("channel") == "C0SOCKET")
        assert post.body["thread_ts"] == "1700000040.000100"
        assert "backup" in post.body["blocks"][0]["text"]["text"].lower()

        # A slash command: the answer travels back in the envelope's acknowledgement.
        websocket.send({
            "envelope_id": "env-3", "type": "slash_commands", "accepts_response_payload": True,
            "payload": {"command": "/pam", "text": "restore leader", "user_id": "U0ASKER",
                        "channel_id": "C0SOCKET", "team_id": "T0TEAM",
                        "response_url": standin.response_url("socket-cmd"),
                        "api_app_id": "A0PAMBOT", "trigger_id": "1.2.3"},
        })
        [ack] = wait(lambda: websocket.acks("env-3"))
        assert ack["payload"]["response_type"] == "ephemeral"
        assert "restore-leader" in json.dumps(ack["payload"]["blocks"])
    finally:
        process.terminate()
        code = process.wait(timeout=20)
    log = log_path.read_text()
    assert code in (0, 143), log
    assert "Socket Mode connected" in log
    # SIGTERM flushed the query log.
    with sqlite3.connect(slack_env["PAMBOT_DB"]) as db:
        rows = db.execute("SELECT source, event_id FROM queries ORDER BY ts").fetchall()
    assert ("mention", "EvSOCKET1") in rows and ("slash", None) in rows


class RunningSocket:
    """`run_socket` in a thread of this process, stopped at the end of the test."""

    def __init__(self, config: Config, **options) -> None:
        self.stop = threading.Event()
        self.result: list[int] = []
        self.thread = threading.Thread(target=lambda: self.result.append(run_socket(
            config, stop=self.stop, **options)), daemon=True)
        self.thread.start()

    def finish(self) -> list[int]:
        self.stop.set()
        self.thread.join(30)
        return self.result


def refuse_new_connections(standin, websocket) -> None:
    """Slack will not hand out a new WebSocket URL, nor honour the old one."""
    for _ in range(200):
        standin.fail_next("apps.connections.open", body={"ok": False, "error": "invalid_auth"})
    websocket.refusing = True


def test_socket_mode_exits_when_the_connection_cannot_be_kept(standin, websocket, slack_env):
    running = RunningSocket(Config.from_env(slack_env), ping_interval=PING,
                            disconnected_limit=1.0)
    try:
        assert websocket.connected.wait(20)
        refuse_new_connections(standin, websocket)
        websocket.drop()
        running.thread.join(30)
        assert running.result == [1]
    finally:
        running.finish()
        standin.failures.pop("apps.connections.open", None)


def test_socket_mode_with_a_refused_app_token_stops_with_a_sentence(standin, slack_env):
    standin.fail_next("apps.connections.open", body={"ok": False, "error": "invalid_auth"})
    done = subprocess.run([PAMBOT, "socket"], env=slack_env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "SLACK_APP_TOKEN" in done.stderr and "invalid_auth" in done.stderr
    assert "Traceback" not in done.stderr


def test_socket_mode_connects_again_however_the_connection_is_lost(
        standin, websocket, slack_env):
    running = RunningSocket(Config.from_env(slack_env), ping_interval=PING,
                            disconnected_limit=60)
    try:
        assert websocket.wait_for_handshakes(1)
        # drop: Slack's close frame; abort: the TCP connection ends without one (a proxy
        # timing out); reset: a TCP RST; go_silent: nothing more arrives, not even pongs.
        for number, cut in enumerate(["drop", "abort", "reset", "go_silent"], start=2):
            getattr(websocket, cut)()
            # The client asks apps.connections.open for a new URL and connects again.
            assert websocket.wait_for_handshakes(number), f"no new connection after {cut}"
            channel, envelope = f"C0RECONNECT{number}", f"env-{cut}"
            websocket.send(mention_envelope(envelope, channel, f"Ev{cut.upper()}"))
            assert wait(lambda e=envelope: websocket.acks(e)), f"no answer after {cut}"
            assert len(standin.posted(lambda c, ch=channel: c.body.get("channel") == ch)) == 1
    finally:
        assert running.finish() == [0]


def connected(port: int) -> bool:
    """True if the health endpoint says the socket is connected (and names the rules)."""
    status, text = health(port)
    return status == 200 and re.fullmatch(r"ok, rules [0-9a-f]{12}", text) is not None


def health(port: int) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except OSError as error:
        return 0, str(error)


def test_socket_mode_health_fails_while_the_socket_stays_down_and_recovers(
        standin, websocket, slack_env, tmp_path):
    port = free_port()
    process, log_path = start_socket(slack_env, tmp_path, "--health-port", str(port),
                                     "--ping-interval", str(PING))
    try:
        assert wait(lambda: connected(port), timeout=30), log_path.read_text()
        assert health(port)[0] == 200
        # Slack is unreachable for longer than the reconnect window (two pings).
        refuse_new_connections(standin, websocket)
        websocket.abort()
        assert wait(lambda: health(port)[0] == 503, timeout=20), log_path.read_text()
        status, text = health(port)
        assert text.startswith("Socket Mode disconnected for ")
        # Slack is back: connected again, healthy again.
        standin.failures.pop("apps.connections.open", None)
        websocket.refusing = False
        assert wait(lambda: connected(port), timeout=30), log_path.read_text()
        assert process.poll() is None
    finally:
        standin.failures.pop("apps.connections.open", None)
        process.terminate()
        process.wait(timeout=20)
    log = log_path.read_text()
    assert f"Socket Mode health at http://127.0.0.1:{port}/healthz" in log
    assert "Socket Mode disconnected; reconnecting" in log


def test_socket_mode_stops_with_a_sentence_on_bad_options_or_an_unreachable_api(slack_env):
    config = Config.from_env(slack_env)
    with pytest.raises(ConfigError, match=r"^the health port must be between 1 and 65535"):
        run_socket(config, health_port=99999)
    with pytest.raises(ConfigError, match=r"^the ping interval must be more than 0 seconds"):
        run_socket(config, ping_interval=0)
    unreachable = Config.from_env({**slack_env, "SLACK_API_URL": "http://127.0.0.1:9/api/"})
    errors: list[BaseException] = []

    def run() -> None:  # in a thread, so that no SIGTERM handler is left in pytest
        try:
            run_socket(unreachable)
        except ConfigError as error:
            errors.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(60)
    [error] = errors
    assert str(error).startswith("SLACK_API_URL (http://127.0.0.1:9/api/) cannot be reached")


def events_envelope(envelope_id: str, event: dict, event_id: str) -> dict:
    return {
        "envelope_id": envelope_id, "type": "events_api", "accepts_response_payload": False,
        "retry_attempt": 0, "retry_reason": "",
        "payload": {"team_id": "T0TEAM", "api_app_id": "A0PAMBOT", "type": "event_callback",
                    "event_id": event_id, "event_time": 1700004000,
                    "authorizations": [{"team_id": "T0TEAM", "user_id": "U0BOT",
                                        "is_bot": True}],
                    "event": {"event_ts": event["ts"], **event}},
    }


def click_envelope(envelope_id: str, post, action_id: str, user: str, response_url: str) -> dict:
    """A button click on a message pambot posted, as Socket Mode delivers it."""
    [button] = [e for b in post.body["blocks"] if b["type"] == "actions"
                for e in b["elements"] if e["action_id"] == action_id]
    ts, channel = post.response["ts"], post.body["channel"]
    thread_ts = post.body.get("thread_ts")
    return {
        "envelope_id": envelope_id, "type": "interactive", "accepts_response_payload": False,
        "payload": {
            "type": "block_actions", "user": {"id": user, "team_id": "T0TEAM"},
            "api_app_id": "A0PAMBOT", "team": {"id": "T0TEAM"},
            "container": {"type": "message", "message_ts": ts, "channel_id": channel,
                          "is_ephemeral": False, "thread_ts": thread_ts},
            "channel": {"id": channel}, "response_url": response_url,
            "message": {"type": "message", "ts": ts, "thread_ts": thread_ts, "bot_id": "B0BOT",
                        "text": post.body["text"], "blocks": post.body["blocks"]},
            "actions": [{"type": "button", "action_id": action_id, "block_id": "b",
                         "value": button["value"], "text": button["text"],
                         "action_ts": "1.1"}],
        },
    }


def test_socket_mode_clicks_and_thread_follow_ups(standin, websocket, slack_env):
    running = RunningSocket(Config.from_env(slack_env), ping_interval=PING)
    channel, first, second = "C0SOCKCONV", "1700004000.000100", "1700004000.000900"

    def posts():
        return standin.posted(lambda c: c.body.get("channel") == channel)

    try:
        assert websocket.connected.wait(20)
        # A mention that asks back, then a plain reply in its thread: answered there.
        websocket.send(events_envelope("env-c1", {
            "type": "app_mention", "user": "U0ASKER", "channel": channel, "ts": first,
            "text": "<@U0BOT> restore"}, "EvSOCKC1"))
        [asking] = standin.wait_for(posts)
        websocket.send(events_envelope("env-c2", {
            "type": "message", "channel_type": "channel", "user": "U0ASKER",
            "channel": channel, "ts": "1700004000.000200", "thread_ts": first,
            "text": "the follower"}, "EvSOCKC2"))
        [_, follow_up] = standin.wait_for(posts, count=2)
        assert follow_up.body["thread_ts"] == first == asking.body["thread_ts"]
        assert "Restore the follower" in follow_up.body["blocks"][0]["text"]["text"]

        # A click on a clarifying answer's choice, in another thread.
        websocket.send(events_envelope("env-c3", {
            "type": "app_mention", "user": "U0ASKER", "channel": channel, "ts": second,
            "text": "<@U0BOT> how do we upgrade?"}, "EvSOCKC3"))
        [*_, question] = standin.wait_for(posts, count=3)
        websocket.send(click_envelope("env-c4", question, "pam_choice_1", "U0CLICK",
                                      standin.response_url("socket-click")))
        assert wait(lambda: websocket.acks("env-c4"))
        [*_, clicked] = standin.wait_for(posts, count=4)
        assert clicked.body["thread_ts"] == second
        assert clicked.body["blocks"][0]["text"]["text"] == "Backup and restore required"
        assert "<@U0CLICK> picked “6.5.4”" in json.dumps(clicked.body["blocks"],
                                                         ensure_ascii=False)
    finally:
        assert running.finish() == [0]


def threads_of(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return int(next(line for line in status if line.startswith("Threads:")).split()[1])


def test_idle_connections_to_the_health_port_are_dropped_and_pin_no_thread(
        standin, websocket, slack_env, tmp_path):
    port = free_port()
    process, log_path = start_socket(slack_env, tmp_path, "--health-port", str(port))
    held = []
    try:
        assert wait(lambda: connected(port), timeout=30), log_path.read_text()
        before = threads_of(process.pid)
        for n in range(500):  # half-sent requests, and connections that send nothing
            conn = socket.create_connection(("127.0.0.1", port), timeout=10)
            if n % 2:
                conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: pambot\r\n")
            held.append(conn)
        time.sleep(1)
        assert threads_of(process.pid) <= before + 10
        assert connected(port)
        # The Slack listener is not starved: a mention is answered.
        websocket.send(mention_envelope("env-idle", "C0IDLEHEALTH", "EvIDLEHEALTH"))
        assert wait(lambda: standin.posted(lambda c: c.body.get("channel") == "C0IDLEHEALTH"))
        # Dropped after a few seconds, as `pambot serve` drops them.
        for conn in held:
            conn.settimeout(10)
        assert all(closed(conn) for conn in held)
    finally:
        for conn in held:
            conn.close()
        process.terminate()
        process.wait(timeout=20)


def closed(conn: socket.socket) -> bool:
    try:
        while conn.recv(65536):
            pass
        return True
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def test_a_websocket_that_cannot_connect_is_retried_with_back_off_and_logged_once(
        standin, websocket, slack_env, tmp_path):
    websocket.refusing = True  # every handshake gets 403, as Slack refuses a URL
    before = len(standin.posted(api_method="apps.connections.open"))
    process, log_path = start_socket(slack_env, tmp_path)
    try:
        time.sleep(12)
        opens = standin.posted(api_method="apps.connections.open")[before:]
        # Not twice a second: at once, then after about 1, 2, 4 and 8 seconds.
        assert 3 <= len(opens) <= 7, len(opens)
        log = log_path.read_text()
        assert log.count("Socket Mode cannot connect") == 1, log
        assert len(log.splitlines()) < 15, log
        assert "Traceback" not in log
        websocket.refusing = False
        assert wait(lambda: "Socket Mode connected" in log_path.read_text(), timeout=30)
    finally:
        websocket.refusing = False
        process.terminate()
        process.wait(timeout=20)
