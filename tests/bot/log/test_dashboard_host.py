"""`pambot log serve` answers only requests for the host it serves: a page of another site
that resolves its own name to 127.0.0.1 (DNS rebinding) cannot read the query log."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import time

import pytest

from bot.querylog import QueryLog
from rules import answer
from tests.conftest import PAMBOT

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dashboard_port(tmp_path_factory):
    """`pambot log serve` on a log with one question, at a free port."""
    tmp = tmp_path_factory.mktemp("dashboard-host")
    db_path = tmp / "pambot.db"
    log = QueryLog(db_path)
    log.record_query(answer("upgrade 6.5.4"), source="cli", elapsed_ms=1.0)
    log.close()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "PAMBOT_"))}
    env["PAMBOT_DB"] = str(db_path)
    with open(tmp / "dashboard.log", "wb") as out:
        process = subprocess.Popen([PAMBOT, "log", "serve", "--port", str(port)], env=env,
                                   stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while get(port, "/-/versions.json", f"127.0.0.1:{port}")[0] != 200:
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError((tmp / "dashboard.log").read_text())
        time.sleep(0.1)
    yield port
    process.terminate()
    process.wait(timeout=20)


def get(port: int, path: str, host: str) -> tuple[int, str]:
    """GET `path` with the Host header `host`; (status, body), (0, "") if nobody answers."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers={"Host": host})
        response = connection.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    except OSError:
        return 0, ""
    finally:
        connection.close()


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "LOCALHOST:{port}"])
def test_the_dashboard_answers_for_the_host_it_serves(dashboard_port, host):
    status, body = get(dashboard_port, "/pambot/queries.json",
                       host.format(port=dashboard_port))
    assert status == 200 and "upgrade 6.5.4" in body


@pytest.mark.parametrize("host", ["attacker.example:{port}", "attacker.example",
                                  "127.0.0.1.attacker.example:{port}", ""])
def test_the_dashboard_refuses_another_host(dashboard_port, host):
    status, body = get(dashboard_port, "/pambot/queries.json",
                       host.format(port=dashboard_port))
    assert status == 400
    assert "upgrade 6.5.4" not in body
