"""`pambot serve`: Slack over HTTP, the Bolt app behind uvicorn workers run by gunicorn.

    POST /slack/events   events, slash commands and interactivity, all on one URL
    GET  /healthz        200 "ok, rules VERSION" once this worker's app is built
    GET  /metrics        Prometheus metrics, summed over every worker (bot.metrics)

SIGHUP to the gunicorn master reloads the rule files (bot.reload): checked first, then
gunicorn's graceful reload starts new workers with them and retires the old ones.

Each gunicorn worker is one uvicorn event loop, so a slow or idle connection costs a socket,
never a thread; bot.connections gives each request one deadline, headers and body, and caps
a worker's connections at gunicorn's `worker_connections` (fewer if its open-file limit
would not leave room for its own files and Slack calls). Bolt's listeners are synchronous
(they wait on Slack's Web API),
so each request's Bolt work runs on a pool of threads (gunicorn's `--threads`, default
THREADS). Each worker builds its own query log and Bolt app after the fork and closes the log
when it stops, so a SIGTERM flushes queued rows. gunicorn reads its own GUNICORN_CMD_ARGS
(e.g. "--workers 4 --threads 16") and gunicorn.conf.py over pambot's defaults.

pambot's own part is small: the body limit, /healthz, the early 401 for a request without a
valid signature, the body parser (Bolt's own reads any form whose text merely contains
the word "payload" as an interactivity payload, and answers it 404) and the 400 for a signed
body of a shape Slack does not send (bot.payloads). Bolt does the rest, including Slack's
`ssl_check` and `url_verification`. Whatever happens, a request gets an answer of pambot's
and is counted in /metrics, never a bare 500 from the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import hashlib
import hmac
import json
import logging
import resource
import socket
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from gunicorn.app.base import Application
from slack_bolt.request import BoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.signature import SignatureVerifier
from uvicorn_worker import UvicornWorker

from bot import metrics
from bot.app import build_app, check_bot_token, check_database
from bot.ask import open_querylog, ruleset_for
from bot.config import Config, ConfigError
from bot.connections import Protocol, connection_cap, out_of_files, respond
from bot.logs import gunicorn_logconfig
from bot.payloads import check_payload
from bot.reload import LiveRules
from rules import load_ruleset

if TYPE_CHECKING:
    from slack_bolt import App

    from rules import RuleSet

log = logging.getLogger("pambot.server")

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
DEFAULT_HOST = "0.0.0.0"
# Slack's largest payloads (a long message with blocks) are far below this.
MAX_BODY_BYTES = 1 << 20
# Threads per worker for Bolt's listeners, which wait on Slack's Web API.
THREADS = 8
TIMEOUT_S = 30
# A graceful stop or reload waits this long for requests and clicks in progress (a click's
# answer waits on Slack); below gunicorn's `timeout`, as a stopping worker sends no heartbeat.
GRACEFUL_TIMEOUT_S = 25


class SlackEdge:
    """One request, start to finish, on a pool thread: signature, body, then Bolt's dispatch."""

    def __init__(self, app: App, signing_secret: str) -> None:
        self.app = app
        self.verifier = _BytesVerifier(signing_secret)

    def handle(self, body: bytes, headers: dict[str, str], query: str) -> BoltResponse:
        if not self._signed(body, headers):
            if _is_ssl_check(body, headers):
                # Slack's certificate check is unsigned; Bolt answers it, and only it, with 200.
                return self._dispatch(_form(body), headers, query)
            log.warning("rejected a request to %s with a missing, wrong or stale signature",
                        EVENTS_PATH)
            return BoltResponse(status=401, body="invalid signature")
        try:
            payload = parse_body(body, headers.get("content-type"))
            check_payload(payload)
        except ValueError as exc:
            log.warning("rejected a signed request to %s: malformed payload (%s)", EVENTS_PATH,
                        exc)
            return BoltResponse(status=400, body={"ok": False, "error": "malformed payload"})
        return self._dispatch(payload, headers, query)

    def _dispatch(self, payload: dict, headers: dict[str, str], query: str) -> BoltResponse:
        try:
            # Bolt takes a parsed body as its "socket_mode" request (for Bolt, the only
            # difference is that it does not check the signature again); it is verified above.
            request = BoltRequest(body=payload, query=query, headers=headers, mode="socket_mode")
            return self.app.dispatch(request)
        except Exception:
            # A defect of pambot's or Bolt's: still an answer, and one log line with the cause.
            log.exception("could not answer a signed request to %s", EVENTS_PATH)
            return BoltResponse(status=500, body={"ok": False, "error": "internal error"})

    def _signed(self, body: bytes, headers: dict[str, str]) -> bool:
        try:
            return self.verifier.is_valid_request(body, headers)
        except ValueError:
            # A timestamp that is not a number.
            return False


class _BytesVerifier(SignatureVerifier):
    """slack_sdk's verifier, signing the body's bytes as sent: slack_sdk decodes them as
    UTF-8 first, so a correctly signed body that is not UTF-8 read as unsigned (401), not as
    what it is, a signed body that is malformed (400)."""

    def generate_signature(self, *, timestamp: str, body: str | bytes) -> str | None:
        if isinstance(body, bytes) and timestamp is not None:
            base = b"v0:" + str(timestamp).encode() + b":" + body
            digest = hmac.new(self.signing_secret.encode(), base, hashlib.sha256).hexdigest()
            return f"v0={digest}"
        return super().generate_signature(timestamp=timestamp, body=body)


def parse_body(body: bytes, content_type: str | None) -> dict:
    """Slack's request body as a dict: JSON, an interactivity form (`payload=` JSON) or a form.

    Only a form whose *field* is named `payload` carries JSON; a slash command's text, channel
    or user name may contain the word itself. ValueError for anything that is not UTF-8, a
    JSON object or a form, or is nested too deeply to parse.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("not UTF-8") from None
    try:
        if (content_type or "").startswith("application/json") or text.startswith("{"):
            payload = json.loads(text)
        else:
            form = _form(body)
            payload = json.loads(form["payload"]) if "payload" in form else form
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    if not isinstance(payload, dict):
        raise ValueError("not a JSON object or a form")
    return payload


def _form(body: bytes) -> dict[str, str]:
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


def _is_ssl_check(body: bytes, headers: dict[str, str]) -> bool:
    return (headers.get("content-type", "").startswith("application/x-www-form-urlencoded")
            and _form(body).get("ssl_check") == "1")


class SlackAsgiApp:
    """The ASGI app: health on the event loop; Slack requests read whole, then on the pool."""

    def __init__(self, edge: SlackEdge, *, threads: int = THREADS,
                 on_close: Callable[[], None] | None = None, rules_version: str = "",
                 background: ThreadPoolExecutor | None = None) -> None:
        self.edge = edge
        self.health = f"ok, rules {rules_version}" if rules_version else "ok"
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="pambot-http")
        # Bolt's lazy listeners (the follow-ups of clicks), run after their acknowledgement.
        self.background = background
        self._on_close = on_close

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path, method = scope["path"], scope["method"]
        if path in (HEALTH_PATH, metrics.METRICS_PATH) and method not in ("GET", "HEAD"):
            await respond(send, 405, "use GET", [("allow", "GET, HEAD")])
            return
        if path == HEALTH_PATH:
            await respond(send, 200, self.health)
            return
        if path == metrics.METRICS_PATH:
            # Reads every worker's files: off the event loop.
            data, content_type = await asyncio.get_running_loop().run_in_executor(
                self.pool, metrics.exposition)
            await respond(send, 200, data.decode("utf-8"), [("content-type", content_type)])
            return
        if path != EVENTS_PATH:
            await respond(send, 404, "not found")
            return
        if method != "POST":
            await respond(send, 405, "use POST", [("allow", "POST")])
            return
        try:
            body = await _read_body(receive)
        except _TooLarge:
            await respond(send, 413, "request body too large", [("connection", "close")])
            return
        if body is None:
            return  # the client went away, or missed the request deadline (bot.connections)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        query = scope.get("query_string", b"").decode("latin-1")
        try:
            response = await asyncio.get_running_loop().run_in_executor(
                self.pool, self.edge.handle, body, headers, query)
        except Exception:
            log.exception("could not answer a request to %s", EVENTS_PATH)
            response = BoltResponse(status=500, body={"ok": False, "error": "internal error"})
        metrics.slack_ack(response.status)
        await respond(send, response.status, response.body,
                       [(k, v) for k, values in response.headers.items() for v in values])

    def close(self) -> None:
        """Finish the requests in hand and the follow-ups they started (a click's answer, its
        choices marked, its row), then release what the app holds (flushes the log)."""
        self.pool.shutdown(wait=True)
        if self.background is not None:
            self.background.shutdown(wait=True)
        if self._on_close is not None:
            self._on_close()

    async def _lifespan(self, receive: Callable, send: Callable) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await asyncio.get_running_loop().run_in_executor(None, self.close)
                await send({"type": "lifespan.shutdown.complete"})
                return


class _TooLarge(Exception):
    """The request body is over MAX_BODY_BYTES."""


async def _read_body(receive: Callable) -> bytes | None:
    """The request body; None if the connection ended first; _TooLarge past MAX_BODY_BYTES.

    A body that trickles in is cut off by the request deadline (`bot.connections`), which ends the
    connection.
    """
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _TooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def create_app(config: Config, *, ruleset: RuleSet | LiveRules | None = None,
               log_queries: bool = True, threads: int = THREADS) -> SlackAsgiApp:
    """This process's ASGI app: query log (unless `log_queries` is False), Bolt app, edge.

    Build it after any fork. Needs SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET.
    """
    config.require("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")
    if ruleset is None:
        ruleset = ruleset_for(config)
    if isinstance(ruleset, LiveRules):
        # This worker answers from the set in force when it started; a reload replaces it.
        rules = LiveRules(ruleset.current)
        rules.loaded_at = ruleset.loaded_at
        ruleset = ruleset.current
    else:
        rules = LiveRules(ruleset)
    metrics.enable()
    rules.publish()
    querylog = open_querylog(config) if log_queries else None
    background = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="pambot-lazy")
    try:
        app = build_app(config, ruleset=ruleset, querylog=querylog,
                        listener_executor=background)
    except BaseException:
        background.shutdown(wait=False)
        if querylog is not None:
            querylog.close()
        raise
    return SlackAsgiApp(SlackEdge(app, config.slack_signing_secret), threads=threads,
                        on_close=querylog.close if querylog is not None else None,
                        rules_version=ruleset.version, background=background)


def serve(config: Config, port: int, *, host: str = DEFAULT_HOST) -> int:
    """Run HTTP mode on `host`:`port` until stopped; the exit status.

    Checks the settings, the rules and the bot token before starting any worker, so a
    mistake stops start-up with one sentence instead of a worker crash loop.
    """
    config.require("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")
    rules = LiveRules(ruleset_for(config), load=lambda: load_ruleset(config.rules_path))
    check_bot_token(config)
    check_database(config)
    with gunicorn_argv():
        server = _gunicorn(functools.partial(create_app, config, ruleset=rules),
                           host=host, port=port, rules=rules)
    check_addresses(server.cfg.address)
    log.info("pambot serve: Slack requests at POST %s, health at GET %s, metrics at GET %s; "
             "rules %s", EVENTS_PATH, HEALTH_PATH, metrics.METRICS_PATH, rules.version)
    # Before any worker exists and before prometheus_client is first imported.
    log.info("pambot serve: metrics of every worker in %s (removed on exit)",
             metrics.use_multiprocess_dir())
    try:
        metrics.enable()
        return _run(server)
    finally:
        metrics.remove_multiprocess_dir()


def check_addresses(addresses: list[Any]) -> None:
    """ConfigError naming the address if gunicorn could not listen on one of `addresses`
    (gunicorn would say so in ten lines over five seconds, then exit)."""
    for address in addresses:
        if not isinstance(address, tuple):
            continue  # a Unix socket or an inherited file descriptor: gunicorn's own business
        host, port = address[0], address[1]
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        try:
            socket.create_server((host, port), family=family).close()
        except OSError as exc:
            shown = f"[{host}]:{port}" if family == socket.AF_INET6 else f"{host}:{port}"
            if exc.errno == errno.EADDRINUSE:
                raise ConfigError(
                    f"port {port} is in use ({shown}): another program, perhaps another pambot, "
                    "is listening there; stop it or choose another port with --port or PORT."
                ) from None
            raise ConfigError(f"cannot listen on {shown} ({exc.strerror or exc}).") from None


def run_gunicorn(factory: Callable[..., Any], *, host: str, port: int,
                 rules: LiveRules | None = None) -> int:
    """Serve the ASGI app each worker gets from `factory(threads=N)` (called after the fork).

    SIGHUP (gunicorn's graceful reload: new workers, then the old ones retire) reloads
    `rules` first; the new workers answer from the new set if it loads, else from the set in
    force.
    """
    with gunicorn_argv():
        server = _gunicorn(factory, host=host, port=port, rules=rules)
    check_addresses(server.cfg.address)
    return _run(server)


@contextlib.contextmanager
def gunicorn_argv() -> Iterator[None]:
    """gunicorn reads its command line from sys.argv; pambot's own has been read already."""
    argv = sys.argv
    sys.argv = argv[:1]
    try:
        yield
    finally:
        sys.argv = argv


def _gunicorn(factory: Callable[..., Any], *, host: str, port: int,
              rules: LiveRules | None) -> _Gunicorn:
    """gunicorn with pambot's settings, its own (GUNICORN_CMD_ARGS, gunicorn.conf.py) read."""
    return _Gunicorn(factory, {
        "bind": f"{host}:{port}",
        "worker_class": "bot.server.Worker",
        "threads": THREADS,
        "timeout": TIMEOUT_S,
        "graceful_timeout": GRACEFUL_TIMEOUT_S,
        "proc_name": "pambot",
        # gunicorn 24+: no control socket in $HOME; pambot does not use one, and two
        # servers on one host would fight over it.
        "control_socket_disable": True,
        "logconfig_dict": gunicorn_logconfig(),  # gunicorn's lines in pambot's format
        # A worker that exits takes its live gauges (queue depth, rules) with it.
        "child_exit": _child_exit,
        "on_reload": functools.partial(_reload_rules, rules),
    })


def _run(server: _Gunicorn) -> int:
    """Run gunicorn until it stops; its exit status."""
    with gunicorn_argv():
        try:
            server.run()
        except SystemExit as exc:
            return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0


def _child_exit(server: Any, worker: Any) -> None:
    metrics.process_dead(worker.pid)


def _reload_rules(rules: LiveRules | None, server: Any) -> None:
    """gunicorn's on_reload hook: in the master, before the new workers start."""
    if rules is not None:
        rules.reload()


class _Gunicorn(Application):
    """gunicorn with pambot's defaults under its own GUNICORN_CMD_ARGS and config file."""

    def __init__(self, factory: Callable[..., Any], defaults: dict[str, Any]) -> None:
        self.factory = factory
        self.defaults = defaults
        super().__init__()

    def init(self, parser: Any, opts: Any, args: Any) -> dict[str, Any]:
        return {k: v for k, v in self.defaults.items() if k in self.cfg.settings}

    def load(self) -> Any:
        return self.factory(threads=max(self.cfg.threads, 1))


class Worker(UvicornWorker):
    """gunicorn's worker for pambot: one uvicorn event loop with `Protocol`."""

    CONFIG_KWARGS = {"loop": "asyncio", "http": Protocol, "lifespan": "on"}

    def init_process(self) -> None:
        cap = connection_cap(self.cfg.worker_connections)
        Protocol.max_connections = cap
        if cap < self.cfg.worker_connections:
            log.info("at most %d connections per worker: the open-file limit is %d",
                     cap, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
        super().init_process()

    async def _serve(self) -> None:
        asyncio.get_running_loop().set_exception_handler(out_of_files)
        await super()._serve()
