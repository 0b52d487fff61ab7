"""Socket Mode end to end: `pambot socket` against a local apps.connections.open and WebSocket.

The WebSocket stand-in is a few dozen lines of RFC 6455 (handshake, text frames, ping/pong,
close), enough for slack_sdk's built-in Socket Mode client.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import socket
import struct
import subprocess
import sys
import threading
import time

import pytest

from bot.config import Config
from bot.socket_mode import run_socket

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

# Starts real processes or servers: skipped by a quick `pytest -m "not slow"`.
pytestmark = pytest.mark.slow


class WebSocketStandIn:
    """Slack's Socket Mode server, locally: sends envelopes, records what the app sends back."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"ws://127.0.0.1:{self.server.getsockname()[1]}/link/?ticket=test"
        self.received: list[dict] = []
        self.connections: list[socket.socket] = []
        self.lock = threading.Lock()
        self.connected = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def send(self, message: dict) -> None:
        """A text frame with `message` to the newest connection."""
        with self.lock:
            connection = self.connections[-1]
        data = json.dumps(message).encode()
        connection.sendall(self._frame(0x1, data))

    def acks(self, envelope_id: str) -> list[dict]:
        with self.lock:
            return [m for m in self.received if m.get("envelope_id") == envelope_id]

    def drop(self) -> None:
        """Close every connection as Slack does: a close frame ("going away"), then hang up."""
        with self.lock:
            for connection in self.connections:
                try:
                    connection.sendall(self._frame(0x8, struct.pack("!H", 1001) + b"bye"))
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                connection.close()
            self.connections.clear()
            self.connected.clear()

    def close(self) -> None:
        self.drop()
        self.server.close()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        request = b""
        while b"\r\n\r\n" not in request:
            chunk = connection.recv(4096)
            if not chunk:
                return
            request += chunk
        fields = (line.split(": ", 1) for line in request.decode().split("\r\n")[1:])
        headers = {pair[0].lower(): pair[1] for pair in fields if len(pair) == 2}
        key = headers["sec-websocket-key"].strip()
        accept = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
        connection.sendall(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + f"Sec-WebSocket-Accept: {accept}\r\n\r\n".encode()
        )
        hello = {"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0PAMBOT"},
                 "debug_info": {"host": "standin", "approximate_connection_time": 3600}}
        with contextlib.suppress(OSError, ValueError):
            connection.sendall(self._frame(0x1, json.dumps(hello).encode()))
            with self.lock:
                self.connections.append(connection)
            self.connected.set()
            self._read(connection)

    def _read(self, connection: socket.socket) -> None:
        stream = connection.makefile("rb")
        while True:
            head = stream.read(2)
            if len(head) < 2:
                return
            opcode, length = head[0] & 0x0F, head[1] & 0x7F
            if length == 126:
                length = struct.unpack("!H", stream.read(2))[0]
            elif length == 127:
                length = struct.unpack("!Q", stream.read(8))[0]
            mask = stream.read(4) if head[1] & 0x80 else b"\0\0\0\0"
            payload = bytes(b ^ mask[i % 4] for i, b in enumerate(stream.read(length)))
            if opcode == 0x1:
                with self.lock:
                    self.received.append(json.loads(payload))
            elif opcode == 0x9:
                connection.sendall(self._frame(0xA, payload))
            elif opcode == 0x8:
                connection.sendall(self._frame(0x8, payload[:2]))
                return

    @staticmethod
    def _frame(opcode: int, data: bytes) -> bytes:
        if len(data) < 126:
            header = struct.pack("!BB", 0x80 | opcode, len(data))
        elif len(data) < 1 << 16:
            header = struct.pack("!BBH", 0x80 | opcode, 126, len(data))
        else:
            header = struct.pack("!BBQ", 0x80 | opcode, 127, len(data))
        return header + data


def wait(condition, timeout: float = 15):
    deadline = time.monotonic() + timeout
    while not (result := condition()) and time.monotonic() < deadline:
        time.sleep(0.02)
    return result


@pytest.fixture
def websocket(standin):
    ws = WebSocketStandIn()
    standin.ws_url = ws.url
    yield ws
    ws.close()


def mention_envelope(envelope_id: str, channel: str, event_id: str, retry: int = 0) -> dict:
    return {
        "envelope_id": envelope_id,
        "type": "events_api",
        "accepts_response_payload": False,
        "retry_attempt": retry,
        "retry_reason": "timeout" if retry else "",
        "payload": {
            "team_id": "T0TEAM", "api_app_id": "A0PAMBOT", "type": "event_callback",
            "event_id": event_id, "event_time": int(time.time()),
            "authorizations": [{"team_id": "T0TEAM", "user_id": "U0BOT", "is_bot": True}],
            "event": {"type": "app_mention", "user": "U0ASKER", "channel": channel,
                      "text": "<@U0BOT> upgrade 6.5.4", "ts": "1700000040.000100",
                      "event_ts": "1700000040.000100"},
        },
    }


def test_socket_mode_answers_mentions_and_commands_and_flushes_on_sigterm(
        standin, websocket, slack_env, tmp_path):
    log_path = tmp_path / "socket.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "bot.cli", "socket"], env=slack_env,
                                   stdout=log, stderr=subprocess.STDOUT)
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
    import sqlite3

    with sqlite3.connect(slack_env["PAMBOT_DB"]) as db:
        rows = db.execute("SELECT source, event_id FROM queries ORDER BY ts").fetchall()
    assert ("mention", "EvSOCKET1") in rows and ("slash", None) in rows


def test_socket_mode_exits_when_the_connection_cannot_be_kept(standin, websocket, slack_env):
    config = Config.from_env(slack_env)
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(run_socket(
        config, check_every=0.05, disconnected_limit=0.5)), daemon=True)
    thread.start()
    assert websocket.connected.wait(20)
    # Slack drops the socket and will not hand out a new one.
    for _ in range(20):
        standin.fail_next("apps.connections.open", body={"ok": False, "error": "invalid_auth"})
    websocket.drop()
    thread.join(30)
    assert result == [1]
    standin.failures.pop("apps.connections.open", None)


def test_socket_mode_with_a_refused_app_token_stops_with_a_sentence(standin, slack_env):
    standin.fail_next("apps.connections.open", body={"ok": False, "error": "invalid_auth"})
    done = subprocess.run([sys.executable, "-m", "bot.cli", "socket"], env=slack_env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "SLACK_APP_TOKEN" in done.stderr and "invalid_auth" in done.stderr


def test_socket_mode_reconnects_when_slack_closes_the_socket(standin, websocket, slack_env):
    config = Config.from_env(slack_env)
    stop = threading.Event()
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(run_socket(
        config, stop=stop, check_every=0.05, disconnected_limit=30)), daemon=True)
    thread.start()
    try:
        assert websocket.connected.wait(20)
        websocket.drop()
        # The client asks apps.connections.open for a new URL and connects again by itself.
        assert websocket.connected.wait(20)
        websocket.send(mention_envelope("env-r1", "C0RECONNECT", "EvRECONNECT1"))
        assert wait(lambda: websocket.acks("env-r1"))
        assert len(standin.posted(lambda c: c.body.get("channel") == "C0RECONNECT")) == 1
    finally:
        stop.set()
        thread.join(30)
    assert result == [0]


def events_envelope(envelope_id: str, event: dict, event_id: str) -> dict:
    return {
        "envelope_id": envelope_id, "type": "events_api", "accepts_response_payload": False,
        "retry_attempt": 0, "retry_reason": "",
        "payload": {"team_id": "T0TEAM", "api_app_id": "A0PAMBOT", "type": "event_callback",
                    "event_id": event_id, "event_time": int(time.time()),
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
    config = Config.from_env(slack_env)
    stop = threading.Event()
    thread = threading.Thread(target=run_socket, args=(config,),
                              kwargs={"stop": stop, "check_every": 0.05}, daemon=True)
    thread.start()
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
        assert follow_up.body["thread_ts"] == first
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
        assert asking.body["thread_ts"] == first
    finally:
        stop.set()
        thread.join(30)
