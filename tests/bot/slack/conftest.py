"""Fixtures for the Slack tests: a local stand-in for the Slack Web API and the real server.

`standin` answers `auth.test`, `chat.postMessage`, `chat.postEphemeral`, `chat.update`,
`views.publish`, `apps.connections.open` and posts to response_urls (`/respond/...`), and
records every call with its response. `pambot_server` is `pambot serve` itself (gunicorn,
two workers) pointed at the stand-in through SLACK_API_URL; `slack` sends it correctly
signed requests in the shapes Slack documents. Nothing here talks to slack.com.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import itertools
import json
import os
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import BACKENDS, POSTGRES_URL, need, postgres_schema

REPO = Path(__file__).resolve().parents[3]
# The installed console script: the package as installed, not this source tree.
PAMBOT = str(Path(sys.executable).with_name("pambot"))
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BOT_TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-test-token"
BOT_USER = "U0BOT"
BOT_ID = "B0BOT"
TEAM = "T0TEAM"
ADMIN = "U0ADMIN"
SLACK_VARIABLES = (
    "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_API_URL", "PORT",
    "PAMBOT_DB", "PAMBOT_RULES", "PAMBOT_ADMINS", "PAMBOT_LOG_RETENTION_DAYS",
    "PAMBOT_THREAD_HOURS",
    "GUNICORN_CMD_ARGS", "WEB_CONCURRENCY", "PAMBOT_LOG_FORMAT", "PAMBOT_LOG_LEVEL",
    "PAMBOT_HEALTH_PORT", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy",
    "NO_PROXY", "no_proxy",
)


@dataclass
class Call:
    """One request the stand-in received."""

    path: str
    method: str
    headers: dict[str, str]
    body: dict
    failed: bool = False
    # What the stand-in answered (for chat.postMessage: the message's `ts`).
    response: dict = field(default_factory=dict)

    @property
    def api_method(self) -> str:
        return self.path.removeprefix("/api/")


@dataclass
class StandIn:
    """A local Slack Web API: records calls, can be told to fail the next few."""

    url: str = ""
    ws_url: str = "ws://127.0.0.1:9/unused"
    calls: list[Call] = field(default_factory=list)
    failures: dict[str, list[tuple[int, dict, dict]]] = field(default_factory=dict)
    # Seconds the next calls of a method wait before they are answered, in order.
    delays: dict[str, list[float]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _ts: itertools.count = field(default_factory=lambda: itertools.count(1))

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    def response_url(self, name: str) -> str:
        return f"{self.url}/respond/{name}"

    def fail_next(self, api_method: str, *, status: int = 200, body: dict | None = None,
                  headers: dict | None = None, after: float = 0.0) -> None:
        """Answer the next call of `api_method` with this failure instead of success, `after`
        seconds (as a slow Slack does)."""
        with self.lock:
            self.failures.setdefault(api_method, []).append(
                (status, body or {"ok": False, "error": "internal_error"}, headers or {})
            )
            if after:
                self.delays.setdefault(api_method, []).append(after)

    def slow_next(self, api_method: str, seconds: float) -> None:
        """Answer the next call of `api_method` (successfully) only after `seconds`."""
        with self.lock:
            self.delays.setdefault(api_method, []).append(seconds)

    def posted(self, predicate: Callable[[Call], bool] = lambda c: True,
               api_method: str = "chat.postMessage") -> list[Call]:
        """Calls of `api_method` that succeeded and match `predicate`."""
        with self.lock:
            return [c for c in self.calls
                    if c.api_method == api_method and not c.failed and predicate(c)]

    def responses(self, name: str) -> list[Call]:
        """Posts to the response_url `name`."""
        with self.lock:
            return [c for c in self.calls if c.path == f"/respond/{name}"]

    def wait_for(self, find: Callable[[], list], count: int = 1, timeout: float = 15) -> list:
        """`find()` once it returns at least `count` items (or what it returns at the deadline)."""
        deadline = time.monotonic() + timeout
        while True:
            found = find()
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.02)

    def handle(self, path: str, method: str, headers: dict, raw: bytes) -> tuple[int, dict, dict]:
        body = _parse(raw, headers.get("content-type", ""))
        call = Call(path=path, method=method, headers=headers, body=body)
        name = call.api_method
        with self.lock:
            delays = self.delays.get(name) or []
            delay = delays.pop(0) if delays else 0.0
        time.sleep(delay)
        with self.lock:
            self.calls.append(call)
            queued = self.failures.get(name) or []
            if queued:
                call.failed = True
                return queued.pop(0)
        call.response = self._answer(path, name, body)
        return 200, call.response, {}

    def _answer(self, path: str, name: str, body: dict) -> dict:
        if path.startswith("/respond/"):
            return {"ok": True}
        if name == "auth.test":
            return {"ok": True, "url": "https://standin.example/", "team": "Test",
                    "user": "pambot", "team_id": TEAM, "user_id": BOT_USER,
                    "bot_id": BOT_ID, "is_enterprise_install": False}
        if name in ("chat.postMessage", "chat.postEphemeral"):
            ts = f"1800000000.{next(self._ts):06d}"
            return {"ok": True, "channel": body.get("channel"), "ts": ts,
                    "message_ts": ts, "message": {"text": body.get("text"), "ts": ts}}
        if name == "chat.update":
            return {"ok": True, "channel": body.get("channel"), "ts": body.get("ts"),
                    "text": body.get("text")}
        if name == "views.publish":
            return {"ok": True, "view": {"id": "V0HOME", "type": "home"}}
        if name == "views.open":
            return {"ok": True, "view": {"id": f"V0MODAL{next(self._ts)}",
                                         **(body.get("view") or {})}}
        if name == "apps.connections.open":
            return {"ok": True, "url": self.ws_url}
        return {"ok": False, "error": "unknown_method"}


def _parse(raw: bytes, content_type: str) -> dict:
    text = raw.decode("utf-8") if raw else ""
    if "json" in content_type:
        return json.loads(text or "{}")
    return dict(urllib.parse.parse_qsl(text, keep_blank_values=True))


def start_standin() -> tuple[StandIn, ThreadingHTTPServer]:
    """A Slack Web API stand-in serving on a free 127.0.0.1 port in a background thread."""
    state = StandIn()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, body, extra = state.handle(self.path, "POST", headers, raw)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for key, value in extra.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST  # noqa: N815

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return state, server


@pytest.fixture(scope="session")
def standin():
    """The Slack Web API stand-in on a free 127.0.0.1 port, for the whole session."""
    state, server = start_standin()
    yield state
    server.shutdown()
    server.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SLACK_VARIABLES}
    env.update(extra)
    return env


@pytest.fixture
def slack_env(standin: StandIn, tmp_path: Path) -> dict[str, str]:
    """The environment of a pambot process pointed at the stand-in, its log in tmp_path."""
    return clean_env(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_APP_TOKEN=APP_TOKEN,
        SLACK_API_URL=standin.api_url,
        PAMBOT_DB=str(tmp_path / "pambot.db"),
        PAMBOT_ADMINS=ADMIN,
    )


@dataclass
class Server:
    """A running `pambot serve`."""

    url: str
    db_path: Path | str  # a PostgreSQL URL for a server on PostgreSQL
    process: subprocess.Popen
    log_path: Path

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(self.url + path, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def healthy(self) -> bool:
        return self.process.poll() is None and self.get("/healthz")[1].startswith("ok, rules ")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def metric(self, name: str, **labels: str) -> float:
        """One sample of GET /metrics (summed over every worker); 0 if it is not there yet."""
        from prometheus_client.parser import text_string_to_metric_families

        status, text = self.get("/metrics")
        assert status == 200, text
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == name and sample.labels == labels:
                    return sample.value
        return 0.0

    def rows(self, sql: str, params: tuple = (), *, count: int = 1,
             timeout: float = 15) -> list[tuple]:
        """Rows of `sql` in the query log once there are `count` (the writer is asynchronous)."""
        from tests.conftest import sql as run_sql

        deadline = time.monotonic() + timeout
        while True:
            rows: list[tuple] = []
            if isinstance(self.db_path, str):  # a PostgreSQL URL
                rows = run_sql(self.db_path, sql, params)
            elif self.db_path.exists():
                with sqlite3.connect(self.db_path, timeout=5) as db:
                    try:
                        rows = db.execute(sql, params).fetchall()
                    except sqlite3.OperationalError:
                        rows = []
            if len(rows) >= count or time.monotonic() > deadline:
                return rows
            time.sleep(0.05)


def start_server(standin: StandIn, tmp: Path, *, workers: int = 2,
                 db_path: Path | str | None = None, env: dict[str, str] | None = None,
                 limit_files: int | None = None, name: str = "server") -> Server:
    """`pambot serve --host 127.0.0.1 --port N`, waiting for /healthz; `limit_files`: the
    soft limit on open files (`ulimit -n`) it starts with; its output in tmp/NAME.log."""
    port = free_port()
    db_path = db_path or tmp / "pambot.db"
    log_path = tmp / f"{name}.log"
    env = clean_env(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=standin.api_url,
        PAMBOT_DB=str(db_path),
        PAMBOT_ADMINS=ADMIN,
        # gunicorn's own variable: two workers, to share the dedupe.
        GUNICORN_CMD_ARGS=f"--workers {workers}",
        **(env or {}),
    )
    def limit() -> None:
        import resource

        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit_files, hard))

    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [PAMBOT, "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
            preexec_fn=limit if limit_files else None, start_new_session=True,
        )
    server = Server(url=f"http://127.0.0.1:{port}", db_path=db_path, process=process,
                    log_path=log_path)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"pambot serve exited with {process.returncode}:\n{server.log()}")
        try:
            if server.get("/healthz")[0] == 200:
                return server
        except OSError:
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"pambot serve did not become healthy:\n{server.log()}")


def stop_server(server: Server) -> int:
    server.process.send_signal(signal.SIGTERM)
    try:
        return server.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.process.kill()
        return server.process.wait()


@pytest.fixture(scope="session", params=BACKENDS)
def pambot_server(request, standin: StandIn, tmp_path_factory: pytest.TempPathFactory):
    """`pambot serve` for the whole session (the tests use distinct channels and ids): on a
    SQLite file, then on a PostgreSQL database, so every test that uses it runs on both."""
    with contextlib.ExitStack() as stack:
        db_path = None
        if request.param == "postgresql":
            db_path = stack.enter_context(postgres_schema(need(POSTGRES_URL, "pambot serve on "
                                                               "PostgreSQL")))
        server = start_server(standin, tmp_path_factory.mktemp("serve"), db_path=db_path)
        yield server
        stop_server(server)


_IDS = itertools.count(1)


@pytest.fixture
def fresh_server(standin: StandIn, tmp_path: Path):
    """Start a `pambot serve` of this test's own (`fresh_server()`); stopped afterwards."""
    started: list[Server] = []

    def start(db_path: Path | None = None, env: dict[str, str] | None = None,
              limit_files: int | None = None) -> Server:
        started.append(start_server(standin, tmp_path, workers=1, db_path=db_path, env=env,
                                    limit_files=limit_files))
        return started[-1]

    start.stop = stop_server
    yield start
    for server in started:
        if server.process.poll() is None:
            stop_server(server)


def sign(body: bytes, timestamp: int, secret: str = SIGNING_SECRET) -> str:
    """Slack's request signature: v0= HMAC-SHA256 of `v0:timestamp:body`."""
    base = b"v0:" + str(timestamp).encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


@dataclass
class Reply:
    status: int
    text: str
    headers: dict[str, str]

    def json(self) -> dict:
        return json.loads(self.text)


class Slack:
    """Sends signed requests to a server the way Slack does."""

    BOT_USER = BOT_USER
    BOT_ID = BOT_ID
    ADMIN = ADMIN
    SIGNING_SECRET = SIGNING_SECRET

    def __init__(self, server: Server, standin: StandIn) -> None:
        self.server = server
        self.standin = standin

    @staticmethod
    def signature(body: bytes, timestamp: int) -> str:
        """The X-Slack-Signature Slack would send for `body` at `timestamp`."""
        return sign(body, timestamp)

    def unique(self, prefix: str) -> str:
        """An id no other test uses, e.g. a channel ID."""
        return f"{prefix}0{next(_IDS)}"

    def post(self, body: bytes, *, content_type: str, headers: dict | None = None,
             timestamp: int | None = None, secret: str = SIGNING_SECRET,
             signed: bool = True) -> Reply:
        timestamp = int(time.time()) if timestamp is None else timestamp
        all_headers = {"Content-Type": content_type, "User-Agent": "Slackbot 1.0"}
        if signed:
            all_headers["X-Slack-Request-Timestamp"] = str(timestamp)
            all_headers["X-Slack-Signature"] = sign(body, timestamp, secret)
        all_headers.update(headers or {})
        request = urllib.request.Request(self.server.url + "/slack/events", data=body,
                                         headers=all_headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return Reply(response.status, response.read().decode(), dict(response.headers))
        except urllib.error.HTTPError as error:
            return Reply(error.code, error.read().decode(), dict(error.headers))

    def event_body(self, event: dict, *, event_id: str | None = None) -> dict:
        """An Events API `event_callback` envelope around `event`."""
        return {
            "token": "legacy-verification-token",
            "team_id": TEAM,
            "api_app_id": "A0PAMBOT",
            "event": {"event_ts": event.get("ts", "1"), **event},
            "type": "event_callback",
            "event_id": event_id or self.unique("Ev"),
            "event_time": int(time.time()),
            "authorizations": [{"team_id": TEAM, "user_id": BOT_USER, "is_bot": True,
                                "is_enterprise_install": False}],
            "is_ext_shared_channel": False,
        }

    def event(self, event: dict, *, event_id: str | None = None, retry: int | None = None,
              body: dict | None = None) -> Reply:
        """Deliver an event (a redelivery when `retry` is a number, as Slack marks it)."""
        body = body or self.event_body(event, event_id=event_id)
        headers = {}
        if retry is not None:
            headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
        return self.post(json.dumps(body).encode(), content_type="application/json",
                         headers=headers)

    def command(self, text: str, *, user: str = "U0ASKER", channel: str = "C0CMD",
                command: str = "/pam", response_url: str | None = None,
                **fields: str) -> Reply:
        """A slash command, form-encoded as Slack sends it; `fields` override the form's."""
        form = {
            "token": "legacy-verification-token",
            "team_id": TEAM,
            "team_domain": "example",
            "channel_id": channel,
            "channel_name": "incidents",
            "user_id": user,
            "user_name": "asker",
            "command": command,
            "text": text,
            "api_app_id": "A0PAMBOT",
            "is_enterprise_install": "false",
            "response_url": response_url or self.standin.response_url(self.unique("cmd")),
            "trigger_id": "1.2.3",
            **fields,
        }
        return self.post(urllib.parse.urlencode(form).encode(),
                         content_type="application/x-www-form-urlencoded")

    def click(self, action_id: str, value: str, *, response_url: str, user: str = "U0CLICK",
              channel: str = "C0CMD", ephemeral: bool = True) -> Reply:
        """A `block_actions` payload for a button click, form-encoded as `payload=`."""
        payload = {
            "type": "block_actions",
            "user": {"id": user, "username": "clicker", "name": "clicker", "team_id": TEAM},
            "api_app_id": "A0PAMBOT",
            "token": "legacy-verification-token",
            "container": {"type": "message", "message_ts": "1800000000.000001",
                          "channel_id": channel, "is_ephemeral": ephemeral},
            "trigger_id": "1.2.3",
            "team": {"id": TEAM, "domain": "example"},
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": channel, "name": "incidents"},
            "response_url": response_url,
            "actions": [{"action_id": action_id, "block_id": "pam_actions", "value": value,
                         "type": "button", "action_ts": f"{time.time():.6f}",
                         "text": {"type": "plain_text", "text": "x"}}],
        }
        if not ephemeral:
            payload["message"] = {"type": "message", "ts": "1800000000.000001", "text": "x"}
        body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
        return self.post(body, content_type="application/x-www-form-urlencoded")


    def interact(self, action: dict, *, user: str, container: dict,
                 channel: str | None = None, message: dict | None = None,
                 response_url: str | None = None) -> Reply:
        """A `block_actions` payload with one action, as Slack sends a click."""
        payload = {
            "type": "block_actions",
            "user": {"id": user, "username": "clicker", "name": "clicker", "team_id": TEAM},
            "api_app_id": "A0PAMBOT",
            "token": "legacy-verification-token",
            "container": container,
            "trigger_id": "1.2.3",
            "team": {"id": TEAM, "domain": "example"},
            "enterprise": None,
            "is_enterprise_install": False,
            "actions": [{"action_ts": f"{time.time():.6f}", **action}],
        }
        if channel:
            payload["channel"] = {"id": channel, "name": "incidents"}
        if message is not None:
            payload["message"] = message
        if response_url:
            payload["response_url"] = response_url
        body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
        return self.post(body, content_type="application/x-www-form-urlencoded")

    def click_on(self, post: Call, action_id: str, *, user: str = "U0CLICK",
                 value: str | None = None) -> str:
        """Click the button `action_id` on a message pambot posted with chat.postMessage;
        the name of the click's response_url (see `StandIn.responses`)."""
        block, button = _find_button(post.body["blocks"], action_id)
        ts = post.response["ts"]
        thread_ts = post.body.get("thread_ts")
        container = {"type": "message", "message_ts": ts, "channel_id": post.body["channel"],
                     "is_ephemeral": False, **({"thread_ts": thread_ts} if thread_ts else {})}
        message = {"type": "message", "user": BOT_USER, "bot_id": BOT_ID, "ts": ts,
                   "text": post.body.get("text"), "blocks": post.body["blocks"],
                   **({"thread_ts": thread_ts} if thread_ts else {})}
        name = self.unique("click")
        reply = self.interact(
            {"type": "button", "action_id": action_id, "block_id": block.get("block_id", "b"),
             "value": button["value"] if value is None else value, "text": button["text"]},
            user=user, container=container, channel=post.body["channel"], message=message,
            response_url=self.standin.response_url(name))
        assert reply.status == 200, reply.text
        return name

    def click_private(self, message: dict, action_id: str, *, channel: str,
                      user: str = "U0ASKER") -> str:
        """Click a button on a private (ephemeral) answer: Slack sends no `message` then."""
        block, button = _find_button(message["blocks"], action_id)
        name = self.unique("click")
        reply = self.interact(
            {"type": "button", "action_id": action_id, "block_id": block.get("block_id", "b"),
             "value": button["value"], "text": button["text"]},
            user=user, channel=channel, response_url=self.standin.response_url(name),
            container={"type": "message", "message_ts": "1800000000.999999",
                       "channel_id": channel, "is_ephemeral": True})
        assert reply.status == 200, reply.text
        return name

    def tick(self, checklist: Call, step: int, *, ticked: bool = True,
             user: str = "U0TICK") -> str:
        """Tick (or untick) a step's checkbox on a checklist pambot posted."""
        [block] = [b for b in checklist.body["blocks"]
                   if str(b.get("block_id", "")).endswith(f":{step}")
                   and b.get("accessory", {}).get("type") == "checkboxes"]
        option = block["accessory"]["options"][0]
        ts = checklist.response["ts"]
        name = self.unique("tick")
        container = {"type": "message", "message_ts": ts,
                     "channel_id": checklist.body["channel"], "is_ephemeral": False,
                     "thread_ts": checklist.body.get("thread_ts")}
        reply = self.interact(
            {"type": "checkboxes", "action_id": block["accessory"]["action_id"],
             "block_id": block["block_id"], "selected_options": [option] if ticked else []},
            user=user, container=container, channel=checklist.body["channel"],
            message={"type": "message", "ts": ts, "blocks": checklist.body["blocks"],
                     "bot_id": BOT_ID, "thread_ts": checklist.body.get("thread_ts")},
            response_url=self.standin.response_url(name))
        assert reply.status == 200, reply.text
        return name

    def click_home(self, action_id: str, value: str, *, user: str, label: str = "x") -> Reply:
        """Click a button on pambot's App Home tab: no channel, no response_url."""
        return self.interact(
            {"type": "button", "action_id": action_id, "block_id": "pam_examples",
             "value": value, "text": {"type": "plain_text", "text": label}},
            user=user, container={"type": "view", "view_id": "V0HOME"})

    def submit_view(self, view: dict, values: dict, *, user: str) -> Reply:
        """A `view_submission` of the modal `view` (as views.open returned it), with
        `values` ({block_id: {action_id: value}}) as its state, as Slack sends it."""
        payload = {
            "type": "view_submission",
            "team": {"id": TEAM, "domain": "example"},
            "user": {"id": user, "username": "admin", "name": "admin", "team_id": TEAM},
            "api_app_id": "A0PAMBOT",
            "token": "legacy-verification-token",
            "trigger_id": "1.2.4",
            "view": {**view, "state": {"values": values}, "hash": "1.abc"},
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": None,
        }
        body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
        return self.post(body, content_type="application/x-www-form-urlencoded")


def _find_button(blocks: list[dict], action_id: str) -> tuple[dict, dict]:
    for block in blocks:
        for element in block.get("elements", []):
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return block, element
    raise AssertionError(f"no {action_id} button in {json.dumps(blocks)[:400]}")


@pytest.fixture
def slack(pambot_server: Server, standin: StandIn) -> Slack:
    """Signed requests to the session's `pambot serve`."""
    return Slack(pambot_server, standin)


@pytest.fixture
def slack_to(standin: StandIn) -> Callable[[Server], Slack]:
    """Signed requests to a server of the test's own: `slack_to(server).event(...)`."""
    return lambda server: Slack(server, standin)


def start_socket(env: dict[str, str], tmp_path: Path,
                 *args: str, name: str = "socket") -> tuple[subprocess.Popen, Path]:
    """`pambot socket ARGS` started as a user would, its output in tmp_path/NAME.log."""
    log_path = tmp_path / f"{name}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen([PAMBOT, "socket", *args], env=env, stdout=log,
                                   stderr=subprocess.STDOUT)
    return process, log_path


def wait(condition, timeout: float = 15):
    """What `condition()` returns once it is true, or at the deadline."""
    deadline = time.monotonic() + timeout
    while not (result := condition()) and time.monotonic() < deadline:
        time.sleep(0.02)
    return result


def mention_envelope(envelope_id: str, channel: str, event_id: str, retry: int = 0) -> dict:
    """A Socket Mode envelope around an app_mention event."""
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


WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class WebSocketStandIn:
    """Slack's Socket Mode server, locally: sends envelopes, records what the app sends back.

    A few dozen lines of RFC 6455 (handshake, text frames, ping/pong, close), enough for
    slack_sdk's Socket Mode clients. It can end a connection the ways a network does:
    `drop` (a close frame, as Slack does before it rotates a socket), `abort` (the TCP
    connection ends with no close frame, as when a proxy times it out), `reset` (a TCP
    RST) and `go_silent` (nothing more arrives, a half-open connection).
    """

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"ws://127.0.0.1:{self.server.getsockname()[1]}/link/?ticket=test"
        self.received: list[dict] = []
        self.connections: list[socket.socket] = []
        self.silenced: set[socket.socket] = set()
        # True: every new handshake gets 403, as Slack answers a URL it will not honour.
        self.refusing = False
        # time.monotonic() of every completed handshake, in order.
        self.handshakes: list[float] = []
        self.lock = threading.Lock()
        self.connected = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def send(self, message: dict, *, to: int = -1) -> None:
        """A text frame with `message` to the newest connection (or connection `to`, in the
        order they were made: one per `pambot socket` process, as Slack spreads an app's
        events over its open connections)."""
        with self.lock:
            connection = self.connections[to]
        connection.sendall(_ws_frame(0x1, json.dumps(message).encode()))

    def wait_for_connections(self, count: int, timeout: float = 20) -> bool:
        """True once `count` connections are open."""
        return wait(lambda: self._count(self.connections) >= count, timeout)

    def acks(self, envelope_id: str) -> list[dict]:
        with self.lock:
            return [m for m in self.received if m.get("envelope_id") == envelope_id]

    def wait_for_handshakes(self, count: int, timeout: float = 20) -> bool:
        """True once `count` handshakes in all have completed."""
        return wait(lambda: self._count(self.handshakes) >= count, timeout)

    def _count(self, items: list) -> int:
        with self.lock:
            return len(items)

    def drop(self) -> None:
        """Close every connection as Slack does: a close frame ("going away"), then hang up."""
        for connection in self._take_connections():
            with contextlib.suppress(OSError):
                connection.sendall(_ws_frame(0x8, struct.pack("!H", 1001) + b"bye"))
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()

    def abort(self) -> None:
        """End every TCP connection with no WebSocket close frame (a FIN, then nothing)."""
        for connection in self._take_connections():
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()

    def reset(self) -> None:
        """Abort every TCP connection with a RST."""
        for connection in self._take_connections():
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            # SHUT_RD sends nothing, but wakes this side's reader thread, so that the close
            # below really releases the socket (and sends the RST) at once.
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RD)
            connection.close()

    def go_silent(self) -> None:
        """Keep every connection open but send nothing more, not even pongs (half-open)."""
        with self.lock:
            self.silenced.update(self.connections)
        self._take_connections()

    def close(self) -> None:
        self.drop()
        self.server.close()

    def _take_connections(self) -> list[socket.socket]:
        with self.lock:
            taken, self.connections = self.connections, []
            self.connected.clear()
        return taken

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        with contextlib.suppress(OSError, ValueError, KeyError):
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = connection.recv(4096)
                if not chunk:
                    return
                request += chunk
            if self.refusing:
                connection.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                connection.close()
                return
            fields = (line.split(": ", 1) for line in request.decode().split("\r\n")[1:])
            headers = {pair[0].lower(): pair[1] for pair in fields if len(pair) == 2}
            key = headers["sec-websocket-key"].strip()
            accept = base64.b64encode(
                hashlib.sha1((key + WEBSOCKET_GUID).encode()).digest()).decode()
            connection.sendall(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                + f"Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n".encode()
            )
            hello = {"type": "hello", "num_connections": 1,
                     "connection_info": {"app_id": "A0PAMBOT"},
                     "debug_info": {"host": "standin", "approximate_connection_time": 3600}}
            connection.sendall(_ws_frame(0x1, json.dumps(hello).encode()))
            with self.lock:
                self.connections.append(connection)
                self.handshakes.append(time.monotonic())
            self.connected.set()
            self._read(connection)

    def _read(self, connection: socket.socket) -> None:
        def exactly(size: int) -> bytes:
            data = b""
            while len(data) < size:
                chunk = connection.recv(size - len(data))
                if not chunk:
                    raise EOFError
                data += chunk
            return data

        with contextlib.suppress(EOFError, OSError):
            while True:
                head = exactly(2)
                opcode, length = head[0] & 0x0F, head[1] & 0x7F
                if length == 126:
                    length = struct.unpack("!H", exactly(2))[0]
                elif length == 127:
                    length = struct.unpack("!Q", exactly(8))[0]
                mask = exactly(4) if head[1] & 0x80 else b"\0\0\0\0"
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(exactly(length)))
                if connection in self.silenced:
                    continue
                if opcode == 0x1:
                    with self.lock:
                        self.received.append(json.loads(payload))
                elif opcode == 0x9:
                    connection.sendall(_ws_frame(0xA, payload))
                elif opcode == 0x8:
                    connection.sendall(_ws_frame(0x8, payload[:2]))
                    return


def _ws_frame(opcode: int, data: bytes) -> bytes:
    """One unmasked (server-to-client) WebSocket frame."""
    if len(data) < 126:
        header = struct.pack("!BB", 0x80 | opcode, len(data))
    elif len(data) < 1 << 16:
        header = struct.pack("!BBH", 0x80 | opcode, 126, len(data))
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 127, len(data))
    return header + data


@pytest.fixture
def websocket(standin: StandIn):
    """The Socket Mode WebSocket stand-in; apps.connections.open at `standin` points at it."""
    ws = WebSocketStandIn()
    standin.ws_url = ws.url
    yield ws
    ws.close()
