"""How fast `pambot socket` is connected again after its WebSocket is cut, and what it burns.

    python bench/bench_socket_reconnect.py [--rounds 3] [--ping-interval 10] [--repo DIR]

Runs the real `pambot socket` (`python -m bot.cli socket` in --repo, default this checkout)
against the local stand-ins for the Slack Web API and the Socket Mode WebSocket
(tests/bot/slack/conftest.py), all on 127.0.0.1. Each round waits for the connection, cuts
it one way, and reports the seconds until the next WebSocket handshake and the process's
CPU time meanwhile (from /proc). The cuts:

    abort   the TCP connection ends with no WebSocket close frame (FIN), as a proxy does
    reset   the TCP connection is reset (RST)
    drop    a WebSocket close frame first, as Slack sends before rotating a socket
    silent  the connection stays open but nothing more arrives (half-open)

It also reports the idle CPU use while connected. `--repo` can point at an older checkout
(e.g. `git archive <commit> | tar -x -C /tmp/old`) to compare; `--ping-interval` is passed
only when given, as older versions have no such option. Linux only (/proc).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CUTS = ("abort", "reset", "drop", "silent")
TICK = os.sysconf("SC_CLK_TCK")


def load_standins():
    """tests/bot/slack/conftest.py, for its StandIn and WebSocketStandIn."""
    path = REPO / "tests" / "bot" / "slack" / "conftest.py"
    spec = importlib.util.spec_from_file_location("slack_standins", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--ping-interval", type=float)
    parser.add_argument("--repo", type=Path, default=REPO)
    parser.add_argument("--cuts", default=",".join(CUTS))
    parser.add_argument("--limit", type=float, default=90, help="give up on a round after this")
    args = parser.parse_args()

    standins = load_standins()
    standin, server = standins.start_standin()
    command = [sys.executable, "-m", "bot.cli", "socket"]
    if args.ping_interval is not None:
        command += ["--ping-interval", str(args.ping_interval)]
    print(f"pambot socket from {args.repo}, ping interval "
          f"{args.ping_interval if args.ping_interval is not None else 'its default'}")
    print(f"{'cut':8} {'round':>5} {'reconnected after':>18} {'CPU meanwhile':>22}")
    with tempfile.TemporaryDirectory() as tmp:
        for cut in args.cuts.split(","):
            for round_ in range(1, args.rounds + 1):
                websocket = standins.WebSocketStandIn()
                standin.ws_url = websocket.url
                env = standins.clean_env(
                    SLACK_BOT_TOKEN=standins.BOT_TOKEN, SLACK_APP_TOKEN=standins.APP_TOKEN,
                    SLACK_API_URL=standin.api_url, PAMBOT_DB=str(Path(tmp) / "pambot.db"),
                    PYTHONPATH=str(args.repo))
                with open(Path(tmp) / "socket.log", "wb") as log:
                    process = subprocess.Popen(command, cwd=args.repo, env=env, stdout=log,
                                               stderr=subprocess.STDOUT)
                try:
                    if not websocket.wait_for_handshakes(1, timeout=30):
                        print((Path(tmp) / "socket.log").read_text())
                        return 1
                    if cut == CUTS[0] and round_ == 1:
                        time.sleep(1)
                        idle_start = cpu_seconds(process.pid)
                        time.sleep(5)
                        idle = (cpu_seconds(process.pid) - idle_start) / 5
                        print(f"idle while connected: {100 * idle:.1f}% of a core")
                    time.sleep(1)
                    count = len(websocket.handshakes)
                    cpu_before = cpu_seconds(process.pid)
                    started = time.monotonic()
                    getattr(websocket, {"silent": "go_silent"}.get(cut, cut))()
                    back = websocket.wait_for_handshakes(count + 1, timeout=args.limit)
                    took = (websocket.handshakes[count] if back else time.monotonic()) - started
                    cpu = cpu_seconds(process.pid) - cpu_before
                    elapsed = time.monotonic() - started
                    result = f"{took:8.2f} s" if back else f"not in {args.limit:.0f} s"
                    print(f"{cut:8} {round_:>5} {result:>18} "
                          f"{cpu:6.2f} s ({100 * cpu / elapsed:5.1f}%)")
                finally:
                    process.terminate()
                    try:
                        process.wait(timeout=20)
                    except subprocess.TimeoutExpired:
                        process.kill()
                        process.wait()
                    websocket.close()
    server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
