"""Slow and idle clients: many connections that send part of a request and then wait."""

from __future__ import annotations

import contextlib
import socket
import threading
import time

import pytest

from tests.bot.slack.conftest import wait

pytestmark = pytest.mark.slow

HELD = 64


def hold(server, how: str) -> socket.socket:
    """A connection to `server` that sends part of a request and then says nothing."""
    port = int(server.url.rsplit(":", 1)[1])
    conn = socket.create_connection(("127.0.0.1", port), timeout=10)
    if how == "headers":
        conn.sendall(b"POST /slack/events HTTP/1.1\r\nHost: pambot\r\nContent-Ty")
    elif how == "body":
        conn.sendall(b"POST /slack/events HTTP/1.1\r\nHost: pambot\r\n"
                     b"Content-Type: application/json\r\nContent-Length: 5000\r\n\r\n{\"type\"")
    return conn


def closed_by_server(conn: socket.socket, within: float) -> bool:
    """True if the server closes `conn` (or answers and closes it) within `within` seconds."""
    conn.settimeout(within)
    deadline = time.monotonic() + within
    try:
        while time.monotonic() < deadline:
            if not conn.recv(65536):
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except TimeoutError:
        return False
    return False


def test_slow_and_idle_connections_do_not_starve_health_or_slack(fresh_server, slack_to):
    server = fresh_server()
    slack = slack_to(server)
    held = [hold(server, how) for how in ("headers", "body", "nothing") * (HELD // 3 + 1)]
    try:
        time.sleep(0.5)  # let the server take them all
        assert server.get("/healthz")[0] == 200
        reply = slack.command("upgrade 6.5.4")
        assert reply.status == 200 and "upgrade-6.5.4" in reply.text
    finally:
        for conn in held:
            with contextlib.suppress(OSError):
                conn.close()


def test_a_connection_that_sends_nothing_more_is_dropped(fresh_server):
    server = fresh_server()
    held = {how: hold(server, how) for how in ("headers", "body", "nothing")}
    try:
        for how, conn in held.items():
            assert closed_by_server(conn, within=30), how
    finally:
        for conn in held.values():
            conn.close()


class Drippers:
    """`count` connections to `server` that send a request's headers, then its body a byte a
    second (never finishing: the body is 100,000 bytes), until `stop()`."""

    def __init__(self, server, count: int) -> None:
        port = int(server.url.rsplit(":", 1)[1])
        self.conns = []
        for _ in range(count):
            conn = socket.create_connection(("127.0.0.1", port), timeout=10)
            conn.sendall(b"POST /slack/events HTTP/1.1\r\nHost: pambot\r\nContent-Type: "
                         b"application/json\r\nContent-Length: 100000\r\n\r\n{")
            conn.setblocking(False)
            self.conns.append(conn)
        self.open_for: list[float] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._drip, daemon=True)
        self.thread.start()

    def _drip(self) -> None:
        started = time.monotonic()
        live = list(self.conns)
        while live and not self.stopping.wait(1.0):
            for conn in list(live):
                try:
                    if conn.recv(65536) == b"":
                        raise ConnectionResetError
                except BlockingIOError:
                    pass
                except OSError:
                    live.remove(conn)
                    self.open_for.append(time.monotonic() - started)
                    continue
                with contextlib.suppress(OSError):
                    conn.send(b" ")

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(10)
        for conn in self.conns:
            conn.close()


def test_a_body_sent_a_byte_a_second_is_dropped_at_the_request_deadline(fresh_server):
    # Each byte arrives well within a per-read timeout; the request as a whole never ends.
    server = fresh_server()
    drippers = Drippers(server, 3)
    try:
        assert wait(lambda: len(drippers.open_for) == 3, timeout=20), drippers.open_for
        assert max(drippers.open_for) < 10
    finally:
        drippers.stop()


def test_slow_senders_past_the_file_limit_do_not_lock_slack_out(fresh_server, slack_to):
    # 300 connections dripping bodies at a worker allowed 256 open files (the case).
    server = fresh_server(limit_files=256)
    slack = slack_to(server)
    drippers = Drippers(server, 300)
    try:
        time.sleep(1.5)
        started = time.monotonic()
        reply = slack.command("upgrade 6.5.4")
        assert reply.status == 200 and "upgrade-6.5.4" in reply.text
        assert time.monotonic() - started < 3  # within Slack's own deadline
        assert server.get("/healthz")[0] == 200
    finally:
        drippers.stop()
    log = server.log()
    assert "connections open" in log and "Traceback" not in log
