"""Slow and idle clients: many connections that send part of a request and then wait."""

from __future__ import annotations

import contextlib
import socket
import time

import pytest

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
