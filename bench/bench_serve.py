"""Load benchmark: signed slash commands from concurrent clients against `pambot serve`
and against a bare Bolt app that only acknowledges, under the same gunicorn setup.

    python bench/bench_serve.py [--requests 4000] [--rounds 4] [--clients 20] [--workers 1]
    python bench/bench_serve.py --postgres postgresql://USER:PASS@127.0.0.1:5432/DB [--events]

With `--postgres`, `pambot serve` on a SQLite file and `pambot serve` on that PostgreSQL
database (a database of its own: the benchmark writes to it) take the same load in
alternating rounds, and the goal is PostgreSQL's p99 within 1.5x of SQLite's. `--events`
sends @mentions instead of slash commands: each is claimed (Slack event dedupe), its thread
recalled and remembered, and its answer posted, the path where the database is on the way of
the acknowledgement.

Both servers are started here on 127.0.0.1 with the same gunicorn settings
(`bot.server.run_gunicorn`: uvicorn workers, the same front with signature checks),
and a local stand-in answers the Web API's auth.test, so nothing leaves the machine.
`pambot serve` runs as users run it, query log included; a third server runs pambot's app
with the query log off, to show what logging costs. Reports p50, p99 and throughput for
each; the goals are `pambot serve`'s p99 within 1.5x of the bare app's and its throughput
at least 0.85x. On a shared machine the figures move from run to run: run it twice.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import hmac
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SECRET = "benchbenchbenchbench0123456789ab"
QUESTIONS = ("upgrade 6.5.4", "restore leader", "upgrade from 6.5.4 to 7.1", "backup",
             "restore cluster", "upgrade 7.2", "help", "what is this")
# Hard bounds, whatever the arguments say.
MAX_REQUESTS = 20_000
MAX_SECONDS_PER_RUN = 120


def serve_unlogged(port: int) -> int:
    """pambot's own app with the query log off, behind run_gunicorn: what logging costs."""
    from bot.config import Config
    from bot.server import create_app, run_gunicorn

    config = Config.from_env()
    return run_gunicorn(functools.partial(create_app, config, log_queries=False),
                        host="127.0.0.1", port=port)


def serve_bare(port: int) -> int:
    """The baseline server: a Bolt app whose only listener acks /pam, behind run_gunicorn."""
    from slack_bolt import App

    from bot.app import build_client
    from bot.config import Config
    from bot.server import SlackAsgiApp, SlackEdge, run_gunicorn

    config = Config.from_env()

    def build(threads: int) -> SlackAsgiApp:
        app = App(name="bare", client=build_client(config), process_before_response=True,
                  request_verification_enabled=False)

        @app.command("/pam")
        def acknowledge(ack):
            ack()

        return SlackAsgiApp(SlackEdge(app, config.slack_signing_secret), threads=threads)

    return run_gunicorn(build, host="127.0.0.1", port=port)


def start_auth_standin() -> ThreadingHTTPServer:
    """The Web API, as far as booting needs it: auth.test."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            data = json.dumps({"ok": True, "team_id": "T0BENCH", "user_id": "U0BOT",
                               "bot_id": "B0BOT", "user": "pambot", "team": "bench",
                               "url": "https://bench.example/"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(command: list[str], port: int, env: dict[str, str], log: Path) -> subprocess.Popen:
    with open(log, "wb") as out:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=out,
                                   stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{command} exited:\n{log.read_text()}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return process
        except OSError:
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{command} did not become healthy:\n{log.read_text()}")


RUN = f"{os.getpid()}-{int(time.time())}"


def event_body(n: int) -> bytes:
    """An @mention in a thread of its own, with an event id no run has used."""
    ts = f"{1_700_000_000 + n}.{n % 1_000_000:06d}"
    return json.dumps({
        "token": "x", "team_id": "T0BENCH", "api_app_id": "A0BENCH", "type": "event_callback",
        "event_id": f"Ev{RUN}-{n}", "event_time": int(time.time()),
        "authorizations": [{"team_id": "T0BENCH", "user_id": "U0BOT", "is_bot": True}],
        "event": {"type": "app_mention", "user": f"U0{n % 50}", "channel": "C0BENCH",
                  "text": f"<@U0BOT> {QUESTIONS[n % len(QUESTIONS)]}", "ts": ts,
                  "event_ts": ts},
    }).encode()


def command_body(n: int) -> bytes:
    return urllib.parse.urlencode({
        "command": "/pam", "text": QUESTIONS[n % len(QUESTIONS)], "team_id": "T0BENCH",
        "channel_id": "C0BENCH", "user_id": f"U0{n % 50}", "api_app_id": "A0BENCH",
        "response_url": "http://127.0.0.1:9/respond", "trigger_id": "1.2.3",
    }).encode()


_sent = iter(range(10**9))  # every request of the run its own number (event ids are unique)


def load(port: int, *, requests: int, clients: int,
         events: bool = False) -> tuple[list[float], int, float]:
    """`requests` signed slash commands (or @mention events) from `clients` keep-alive
    connections.

    Returns the latencies (seconds) of the 200 answers, the number of failures, the wall time.
    """
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    counter = (next(_sent) for _ in range(requests))
    content_type = "application/json" if events else "application/x-www-form-urlencoded"
    make_body = event_body if events else command_body
    deadline = time.monotonic() + MAX_SECONDS_PER_RUN

    def client() -> None:
        nonlocal errors
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine: list[float] = []
        failed = 0
        for n in counter:
            if time.monotonic() > deadline:
                break
            body = make_body(n)
            timestamp = str(int(time.time()))
            signature = "v0=" + hmac.new(SECRET.encode(), f"v0:{timestamp}:".encode() + body,
                                         hashlib.sha256).hexdigest()
            headers = {"Content-Type": content_type,
                       "X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": signature}
            started = time.perf_counter()
            try:
                connection.request("POST", "/slack/events", body=body, headers=headers)
                response = connection.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                ok = False
            if ok:
                mine.append(time.perf_counter() - started)
            else:
                failed += 1
        connection.close()
        with lock:
            latencies.extend(mine)
            errors += failed

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, errors, time.perf_counter() - started


class SlowClients:
    """`count` connections to each port that send part of a request and then wait, reopened
    whenever the server drops one (a slowloris), until `stop()`."""

    def __init__(self, ports: list[int], count: int) -> None:
        self.ports = ports
        self.count = count
        self.stopping = threading.Event()
        self.reopened = 0
        self.thread = threading.Thread(target=self._run, daemon=True)
        if count:
            self.thread.start()

    def _open(self, port: int) -> socket.socket | None:
        try:
            conn = socket.create_connection(("127.0.0.1", port), timeout=5)
            conn.sendall(b"POST /slack/events HTTP/1.1\r\nHost: bench\r\nContent-Ty")
            conn.setblocking(False)
            return conn
        except OSError:
            return None

    def _run(self) -> None:
        held = [(port, self._open(port)) for port in self.ports for _ in range(self.count)]
        deadline = time.monotonic() + MAX_SECONDS_PER_RUN * 20
        while not self.stopping.wait(0.2) and time.monotonic() < deadline:
            for n, (port, conn) in enumerate(held):
                try:
                    if conn is not None and conn.recv(1) == b"":
                        raise ConnectionResetError
                except BlockingIOError:
                    continue
                except OSError:
                    pass
                if conn is not None:
                    conn.close()
                held[n] = (port, self._open(port))
                self.reopened += 1
        for _, conn in held:
            if conn is not None:
                conn.close()

    def stop(self) -> None:
        self.stopping.set()
        if self.count:
            self.thread.join(10)


def figures(latencies: list[float], errors: int, wall: float) -> dict:
    latencies = sorted(latencies)
    if not latencies:
        return {"requests": 0, "errors": errors, "p50_ms": float("nan"),
                "p99_ms": float("nan"), "throughput_rps": 0.0}
    return {
        "requests": len(latencies),
        "errors": errors,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))],
        "throughput_rps": len(latencies) / wall if wall else 0.0,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=4000, help="per server (default 4000)")
    parser.add_argument("--rounds", type=int, default=4,
                        help="alternate the servers this many times, so drift in the "
                        "machine's load hits both alike (default 4)")
    parser.add_argument("--clients", type=int, default=20, help="concurrent clients (20)")
    parser.add_argument("--workers", type=int, default=1, help="gunicorn workers (1)")
    parser.add_argument("--slow-clients", type=int, default=0, metavar="N",
                        help="hold N half-sent requests open against each server during the "
                        "load, reopening any the server drops (default 0)")
    parser.add_argument("--postgres", metavar="URL",
                        help="also run pambot serve on this PostgreSQL database, and compare "
                        "it with pambot serve on a SQLite file")
    parser.add_argument("--events", action="store_true",
                        help="send @mention events instead of slash commands")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--serve-bare", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--serve-unlogged", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_bare:
        return serve_bare(args.serve_bare)
    if args.serve_unlogged:
        return serve_unlogged(args.serve_unlogged)
    requests = max(1, min(args.requests, MAX_REQUESTS))

    standin = start_auth_standin()
    processes: list[subprocess.Popen] = []
    with tempfile.TemporaryDirectory(prefix="pambot-bench-") as tmp:
        try:
            ports = {"pambot serve": free_port(), "pambot, no log": free_port(),
                     "bare Bolt ack": free_port()}
            base_env = {k: v for k, v in os.environ.items()
                        if not k.startswith(("SLACK_", "PAMBOT_", "GUNICORN_"))}
            base_env.update(
                SLACK_BOT_TOKEN="xoxb-bench", SLACK_SIGNING_SECRET=SECRET,
                SLACK_API_URL=f"http://127.0.0.1:{standin.server_address[1]}/api/",
                PAMBOT_DB=str(Path(tmp) / "bench.db"),
            )
            commands = {
                "pambot serve": [sys.executable, "-m", "bot.cli", "serve", "--port",
                                 str(ports["pambot serve"])],
                "pambot, no log": [sys.executable, str(Path(__file__).resolve()),
                                   "--serve-unlogged", str(ports["pambot, no log"])],
                "bare Bolt ack": [sys.executable, str(Path(__file__).resolve()),
                                  "--serve-bare", str(ports["bare Bolt ack"])],
            }
            if args.postgres:
                # Only the two to compare: pambot on a file, and the same on PostgreSQL.
                del commands["pambot, no log"], commands["bare Bolt ack"]
                ports = {"pambot serve": ports["pambot serve"],
                         "pambot, PostgreSQL": ports["pambot, no log"]}
                commands["pambot, PostgreSQL"] = [sys.executable, "-m", "bot.cli", "serve",
                                                  "--port", str(ports["pambot, PostgreSQL"])]
            for name, command in commands.items():
                env = {**base_env, "GUNICORN_CMD_ARGS":
                       f"--bind 127.0.0.1:{ports[name]} --workers {args.workers}"}
                if name == "pambot, PostgreSQL":
                    env["PAMBOT_DB"] = args.postgres
                processes.append(start(command, ports[name], env, Path(tmp) / f"{ports[name]}.log"))
            for port in ports.values():  # warm up: imports, caches, connections
                load(port, requests=200, clients=args.clients, events=args.events)
            slow = SlowClients(list(ports.values()), max(0, min(args.slow_clients, 500)))
            rounds = max(1, min(args.rounds, 20))
            pooled = {name: ([], 0, 0.0) for name in ports}
            for round_ in range(rounds):
                # Rotate the order, so no server always runs right after another.
                names = list(ports)
                turn = round_ % len(names)
                order = [(n, ports[n]) for n in names[turn:] + names[:turn]]
                for name, port in order:
                    latencies, errors, wall = load(port, requests=requests // rounds,
                                                   clients=args.clients, events=args.events)
                    done, failed, took = pooled[name]
                    pooled[name] = (done + latencies, failed + errors, took + wall)
            slow.stop()
            results = {name: figures(*pooled[name]) for name in ports}
        finally:
            for process in processes:
                process.send_signal(signal.SIGTERM)
            for process in processes:
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
            standin.shutdown()

    what = "@mention events" if args.events else "signed slash commands"
    if args.postgres:
        return report_postgres(results, args, requests, rounds, what)
    ratio = results["pambot serve"]["p99_ms"] / results["bare Bolt ack"]["p99_ms"]
    unlogged_ratio = results["pambot, no log"]["p99_ms"] / results["bare Bolt ack"]["p99_ms"]
    bare_rps = results["bare Bolt ack"]["throughput_rps"]
    throughput = results["pambot serve"]["throughput_rps"] / bare_rps if bare_rps else 0.0
    if args.json:
        print(json.dumps({"clients": args.clients, "workers": args.workers, "rounds": rounds,
                          **results, "p99_ratio": ratio,
                          "p99_ratio_without_log": unlogged_ratio,
                          "throughput_ratio": throughput}, indent=2))
    else:
        print(f"{requests} {what} per server in {rounds} alternating rounds, "
              f"{args.clients} concurrent clients, gunicorn + uvicorn, {args.workers} worker(s), "
              f"{os.cpu_count()} CPUs, {args.slow_clients} slow clients per server "
              f"(reopened {slow.reopened} times)")
        print(f"{'server':<16}{'p50 ms':>10}{'p99 ms':>10}{'req/s':>10}{'errors':>8}")
        for name, row in results.items():
            print(f"{name:<16}{row['p50_ms']:>10.2f}{row['p99_ms']:>10.2f}"
                  f"{row['throughput_rps']:>10.0f}{row['errors']:>8}")
        print(f"p99 ratio pambot serve/bare: {ratio:.2f} (goal: at most 1.5); "
              f"without the query log: {unlogged_ratio:.2f}")
        print(f"throughput ratio pambot serve/bare: {throughput:.2f} (goal: at least 0.85)")
    return 0 if ratio <= 1.5 and throughput >= 0.85 else 1


def report_postgres(results: dict, args: argparse.Namespace, requests: int, rounds: int,
                    what: str) -> int:
    """The figures of a run with --postgres: the goal is PostgreSQL's p99 within 1.5x of
    SQLite's, measured in the same run."""
    sqlite, postgres = results["pambot serve"], results["pambot, PostgreSQL"]
    ratio = postgres["p99_ms"] / sqlite["p99_ms"]
    throughput = (postgres["throughput_rps"] / sqlite["throughput_rps"]
                  if sqlite["throughput_rps"] else 0.0)
    if args.json:
        print(json.dumps({"clients": args.clients, "workers": args.workers, "rounds": rounds,
                          "load": what, **results, "p99_ratio_postgres_sqlite": ratio,
                          "throughput_ratio_postgres_sqlite": throughput}, indent=2))
    else:
        print(f"{requests} {what} per server in {rounds} alternating rounds, "
              f"{args.clients} concurrent clients, gunicorn + uvicorn, {args.workers} "
              f"worker(s), {os.cpu_count()} CPUs")
        print(f"{'server':<20}{'p50 ms':>10}{'p99 ms':>10}{'req/s':>10}{'errors':>8}")
        for name, row in results.items():
            shown = {"pambot serve": "pambot, SQLite"}.get(name, name)
            print(f"{shown:<20}{row['p50_ms']:>10.2f}{row['p99_ms']:>10.2f}"
                  f"{row['throughput_rps']:>10.0f}{row['errors']:>8}")
        print(f"p99 ratio PostgreSQL/SQLite: {ratio:.2f} (goal: at most 1.5)")
        print(f"throughput ratio PostgreSQL/SQLite: {throughput:.2f}")
    return 0 if ratio <= 1.5 else 1


if __name__ == "__main__":
    sys.exit(main())
