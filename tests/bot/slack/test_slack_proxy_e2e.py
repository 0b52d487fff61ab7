"""Sites that reach Slack through a proxy: `pambot socket` with HTTPS_PROXY set goes through it.

A small HTTP proxy on 127.0.0.1 (absolute-form requests and CONNECT tunnels) records what
passes; the Web API and WebSocket stand-ins sit behind it.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time

import pytest

from tests.bot.slack.conftest import mention_envelope, start_socket, wait

# Starts real processes or servers: skipped by a quick `pytest -m "not slow"`.
pytestmark = pytest.mark.slow


class Proxy:
    """A forwarding HTTP proxy that records each request line it is sent."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}"
        self.requests: list[str] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self.server.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        with contextlib.suppress(OSError, ValueError), client:
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = client.recv(65536)
                if not chunk:
                    return
                head += chunk
            request_line = head.split(b"\r\n", 1)[0].decode()
            self.requests.append(request_line)
            method, target, version = request_line.split(" ")
            if method == "CONNECT":
                host, port = target.rsplit(":", 1)
                upstream = socket.create_connection((host, int(port)))
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                rest = head.split(b"\r\n\r\n", 1)[1]
            else:
                # Absolute form, http://host:port/path: pass it on in origin form.
                authority, _, path = target.removeprefix("http://").partition("/")
                host, port = authority.rsplit(":", 1)
                upstream = socket.create_connection((host, int(port)))
                rest = f"{method} /{path} {version}".encode() + head[len(request_line):]
            with upstream:
                upstream.sendall(rest)
                threading.Thread(target=_pipe, args=(upstream, client), daemon=True).start()
                _pipe(client, upstream)


def _pipe(source: socket.socket, target: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            target.sendall(data)
        target.shutdown(socket.SHUT_WR)


def test_socket_mode_reaches_slack_through_https_proxy(standin, websocket, slack_env, tmp_path):
    proxy = Proxy()
    env = {
        **slack_env,
        "HTTPS_PROXY": proxy.url,
        # Only because the local stand-ins speak plain http:// and ws://, which
        # websocket-client proxies through HTTP_PROXY; Slack's wss:// uses HTTPS_PROXY.
        "HTTP_PROXY": proxy.url,
        # websocket-client never proxies 127.0.0.1 unless NO_PROXY says otherwise.
        "NO_PROXY": "nothing.invalid",
    }
    process, log_path = start_socket(env, tmp_path)
    try:
        assert websocket.connected.wait(20), log_path.read_text()
        websocket.send(mention_envelope("env-proxy", "C0PROXY", "EvPROXY1"))
        assert wait(lambda: standin.posted(lambda c: c.body.get("channel") == "C0PROXY"))
    finally:
        process.terminate()
        process.wait(timeout=20)
        proxy.close()
    api = standin.api_url
    ws_host = websocket.url.removeprefix("ws://").split("/")[0]
    deadline = time.monotonic() + 5
    while f"POST {api}chat.postMessage HTTP/1.1" not in proxy.requests \
            and time.monotonic() < deadline:
        time.sleep(0.05)
    assert f"POST {api}auth.test HTTP/1.1" in proxy.requests
    assert f"POST {api}apps.connections.open HTTP/1.1" in proxy.requests
    assert f"POST {api}chat.postMessage HTTP/1.1" in proxy.requests
    assert f"CONNECT {ws_host} HTTP/1.1" in proxy.requests
