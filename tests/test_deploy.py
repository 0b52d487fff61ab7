"""The deploy files agree with the README and the code: Dockerfile, systemd unit, Procfile.

What can be checked without a container runtime or systemd as PID 1: the image installs
with the README's server install line, runs as a non-root user with the query log on a
volume, and its HEALTHCHECK command (run here as is) asks the right /healthz; the unit
passes `systemd-analyze verify` and keeps its hardening.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
DOCKERFILE = (ROOT / "Dockerfile").read_text()
UNIT = (ROOT / "deploy" / "pambot.service").read_text()
PAMBOT = str(Path(sys.executable).with_name("pambot"))


def server_install_line() -> str:
    """The README's one-line install for a server (the block after "Install on a server")."""
    found = re.search(r"Install on a server.*?```sh\n(.*?)\n```", README, re.S)
    assert found, "the README's server install block"
    return found.group(1).strip()


def instructions(name: str) -> list[str]:
    """The arguments of every `name` instruction in the Dockerfile (continuations joined)."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    return [line.split(None, 1)[1].strip() for line in text.splitlines()
            if line.startswith(name + " ")]


def test_the_image_installs_with_the_readme_server_install_line():
    line = server_install_line()
    assert line == "python3 -m venv /opt/pambot && /opt/pambot/bin/pip install ."
    installs = [run for run in instructions("RUN") if "pip install" in run]
    assert installs == [line]


def test_the_image_copies_every_package_pip_installs():
    pyproject = (ROOT / "pyproject.toml").read_text()
    packages = re.search(r'include = \[(.*?)\]', pyproject).group(1)
    top_level = {name.split(".")[0] for name in re.findall(r'"([\w.*]+)"', packages)}
    copied = {copy.split()[0] for copy in instructions("COPY")}
    assert top_level <= copied
    assert {"pyproject.toml", "README.md"} <= {word for copy in instructions("COPY")
                                               for word in copy.split()[:-1]}


def test_the_image_runs_as_a_user_with_the_log_on_a_volume_and_the_mode_from_the_environment():
    [user] = instructions("USER")
    assert not user.startswith(("root", "0"))
    [volume] = instructions("VOLUME")
    [env_db] = [env for env in instructions("ENV") if "PAMBOT_DB=" in env]
    db = re.search(r"PAMBOT_DB=(\S+)", env_db).group(1)
    assert Path(db).parent == Path(json.loads(volume)[0])
    # Bare `pambot` picks HTTP or Socket Mode from the environment.
    assert instructions("CMD") == ['["pambot"]']


class Healthz:
    """A /healthz that answers `status`, like pambot's, on a free 127.0.0.1 port."""

    def __init__(self, status: int) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                self.send_response(status if self.path == "/healthz" else 404)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def run_healthcheck(env: dict[str, str]) -> int:
    [healthcheck] = instructions("HEALTHCHECK")
    command = json.loads(healthcheck[healthcheck.index("CMD ") + 4:])
    assert command[0] == "python3"
    done = subprocess.run([sys.executable, *command[1:]], env=env, capture_output=True,
                          timeout=30)
    return done.returncode


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["http", "socket"])
def test_the_image_healthcheck_asks_the_healthz_of_the_mode_it_runs_in(mode):
    up, down = Healthz(200), Healthz(503)
    try:
        def env(port: int) -> dict[str, str]:
            if mode == "http":
                return {"PORT": str(port), "PAMBOT_HEALTH_PORT": "9"}
            return {"SLACK_APP_TOKEN": "xapp-1", "PAMBOT_HEALTH_PORT": str(port), "PORT": "9"}

        assert run_healthcheck(env(up.port)) == 0
        assert run_healthcheck(env(down.port)) != 0
    finally:
        up.close()
        down.close()


def test_the_unit_runs_the_server_install_and_is_hardened():
    assert "ExecStart=/opt/pambot/bin/pambot\n" in UNIT
    assert server_install_line().startswith("python3 -m venv /opt/pambot ")
    for setting in ("DynamicUser=yes", "StateDirectory=pambot", "NoNewPrivileges=yes",
                    "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes",
                    "CapabilityBoundingSet=\n", "SystemCallFilter=@system-service",
                    "Environment=PAMBOT_DB=/var/lib/pambot/"):
        assert setting in UNIT, setting


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_the_unit_passes_systemd_analyze_verify(tmp_path):
    # The installed console script stands in for /opt/pambot/bin/pambot, which verify
    # wants to find; everything else is the unit as shipped.
    unit = tmp_path / "pambot.service"
    unit.write_text(UNIT.replace("/opt/pambot/bin/pambot", PAMBOT))
    done = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "", done.stderr
