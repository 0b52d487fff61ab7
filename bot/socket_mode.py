"""`pambot socket`: Slack over Socket Mode, with Bolt's websocket-client Socket Mode handler.

Needs SLACK_APP_TOKEN (xapp-, scope connections:write) and SLACK_BOT_TOKEN; the WebSocket
URL comes from `apps.connections.open` at SLACK_API_URL.

Why websocket-client: measured against a local stand-in (bench/bench_socket_reconnect.py),
slack_sdk's built-in client spins a core and takes about a minute to notice a TCP
connection that ended without a WebSocket close frame; the websocket-client one notices at
once, reconnects in about half a second and sleeps meanwhile. It does not notice a
connection that has gone silent (half-open), so `watch` closes a connection whose pong is
late, which makes the client reconnect.

Health is the socket's connection state. Every change is logged. If the socket stays
disconnected for longer than the reconnect window (two ping intervals), the optional health
endpoint (`--health-port`) answers 503 so an orchestrator can restart pambot; if it stays
disconnected for DISCONNECTED_LIMIT_S the process exits with status 1 so a plain process
manager restarts it. The health port also serves GET /metrics (bot.metrics). SIGTERM
lets the requests and clicks in progress finish, flushes the query log and exits; SIGHUP
reloads the rule files (bot.reload).
"""

from __future__ import annotations

import logging
import random
import signal
import socket
import threading
import time
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.error import URLError

import uvicorn
from slack_bolt import App
from slack_bolt.adapter.socket_mode.base_handler import BaseSocketModeHandler
from slack_bolt.adapter.socket_mode.internals import run_bolt_app, send_response
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode import websocket_client

from bot import metrics
from bot.app import build_app, check_bot_token, check_database
from bot.ask import open_querylog, ruleset_for
from bot.config import Config, ConfigError
from bot.connections import Protocol, respond
from bot.querylog import install_signal_flush
from bot.reload import LiveRules
from rules import load_ruleset

log = logging.getLogger("pambot.socket")

# Seconds between pings. A pong later than half of it means the connection is dead.
PING_INTERVAL_S = 10.0
DISCONNECTED_LIMIT_S = 120.0
HEALTH_HOST = "127.0.0.1"
HEALTH_PATH = "/healthz"
# Connections the health endpoint holds at once; past that, the oldest idle one is closed.
HEALTH_CONNECTIONS = 64


@dataclass
class Health:
    """The socket's connection state, as `watch` sees it and /healthz reports it."""

    reconnect_window: float
    rules_version: str = ""
    # time.monotonic() since when the socket is down (not connected yet, at first).
    down_since: float | None = field(default_factory=time.monotonic)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def mark(self, connected: bool) -> bool:
        """Record the connection state; True if it changed."""
        with self.lock:
            if connected == (self.down_since is None):
                return False
            self.down_since = None if connected else time.monotonic()
            return True

    def down_for(self) -> float:
        """Seconds the socket has been down; 0 while connected."""
        with self.lock:
            down_since = self.down_since
        return 0.0 if down_since is None else time.monotonic() - down_since

    def report(self) -> tuple[bool, str]:
        """(healthy, one line): unhealthy once down for longer than the reconnect window."""
        with self.lock:
            connected = self.down_since is None
        down = self.down_for()
        rules = f", rules {self.rules_version}" if self.rules_version else ""
        if connected:
            return True, f"ok{rules}"
        if down <= self.reconnect_window:
            return True, f"ok (connecting for {down:.1f} s){rules}"
        return False, f"Socket Mode disconnected for {down:.0f} s"


class SocketModeClient(websocket_client.SocketModeClient):
    """slack_sdk's websocket-client Socket Mode client, with a back-off and less one race.

    While the WebSocket cannot connect, its reconnect loop asks apps.connections.open for a
    new URL and tries it twice a second, logging six lines each time. Here the first
    reconnect after a connection ends is at once, as before, and each further attempt waits
    twice as long as the one before (`retry_delay`), so a Slack that refuses is asked about
    once a minute at most; the library's lines about each attempt are left out
    (`_ConnectionChatter`), and `watch` logs each change of state once. `close` cuts a
    wait short.

    Its monitor takes a session that its runner has not started yet (for up to half a
    second after every reconnect) for a lost one, and replaces it, sometimes again and
    again; here a session that is starting counts as connected.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Attempts since the socket was last connected.
        self.attempts = 0
        self._closing = threading.Event()
        self.on_open_listeners.append(self._connected)

    def _connected(self, ws=None) -> None:
        self.attempts = 0

    def is_connected(self) -> bool:
        session = self.current_session
        if session is None:
            return False
        starting = not session.keep_running and not session.has_done_teardown
        return session.sock is not None or starting

    def connect_to_new_endpoint(self, force: bool = False) -> None:
        """A new URL and a new connection, after the back-off wait (none for the first try,
        nor when Slack asks for the reconnect). Called by the library when a connection
        ends, and by its monitor while there is none."""
        acquired = self.connect_operation_lock.acquire(blocking=True, timeout=5)
        try:
            if not (force or (acquired and not self.is_connected())):
                return
            if not force:
                delay = retry_delay(self.attempts)
                self.attempts += 1
                if self._closing.wait(delay) or self.closed:
                    return
            try:
                self.wss_uri = self.issue_new_wss_url()
            except (SlackApiError, URLError, OSError) as exc:
                for listener in self.on_error_listeners:  # `watch` reports it
                    listener(None, exc)
                return
            self.connect()
        finally:
            if acquired:
                self.connect_operation_lock.release()

    def close(self) -> None:
        self._closing.set()
        super().close()


# The wait before the second attempt to connect; it doubles each time, up to RETRY_MAX_S.
RETRY_FIRST_S = 1.0
RETRY_MAX_S = 60.0


def retry_delay(attempt: int) -> float:
    """Seconds to wait before attempt `attempt` (0: the first, at once) to connect: doubling
    from RETRY_FIRST_S up to RETRY_MAX_S, each a random time between half and all of it, so
    that several pambots do not all ask Slack at the same moment."""
    if attempt <= 0:
        return 0.0
    ceiling = min(RETRY_MAX_S, RETRY_FIRST_S * 2 ** (attempt - 1))
    return random.uniform(ceiling / 2, ceiling)


class _ConnectionChatter(logging.Filter):
    """Drops slack_sdk's and websocket-client's lines about each connection and each attempt
    to connect (six a try, twice a second while Slack refuses): `watch` logs each change of
    state once, with the reason. Their other lines (a listener that failed) stay."""

    PREFIXES = ("on_error invoked", "Received CLOSE event", "The session seems to be already",
                "A new session has been established", "Starting to receive messages",
                "Stopped receiving messages", "Failed to retrieve WSS URL", "Websocket connected",
                "tearing down on exception")
    SUFFIXES = (" - goodbye", " - reconnect")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not (message.startswith(self.PREFIXES) or message.endswith(self.SUFFIXES))


_CONNECTION_CHATTER = _ConnectionChatter()


class SocketModeHandler(BaseSocketModeHandler):
    """Bolt's websocket-client Socket Mode handler, with the client above."""

    def handle(self, client, req) -> None:
        """Bolt's dispatch and acknowledgement, counted by status."""
        start = time.time()
        response = run_bolt_app(self.app, req)
        send_response(client, req, response, start)
        metrics.slack_ack(response.status)

    def __init__(self, app: App, app_token: str, *, ping_interval: float) -> None:
        self.app = app
        for logger in (app.logger, logging.getLogger("websocket")):
            logger.addFilter(_CONNECTION_CHATTER)  # once: a filter is added once
        self.client = SocketModeClient(app_token=app_token, logger=app.logger,
                                       web_client=app.client, ping_interval=ping_interval)
        self.client.socket_mode_request_listeners.append(self.handle)


def run_socket(config: Config, *, stop: threading.Event | None = None,
               ping_interval: float = PING_INTERVAL_S,
               health_port: int | None = None, health_host: str = HEALTH_HOST,
               disconnected_limit: float = DISCONNECTED_LIMIT_S) -> int:
    """Answer Slack over Socket Mode until `stop` is set or SIGTERM; the exit status.

    `health_port`: serve GET /healthz on `health_host` (200 while connected or within
    the reconnect window, 503 after).
    """
    if not ping_interval > 0:
        raise ConfigError(f"the ping interval must be more than 0 seconds, not {ping_interval}.")
    if health_port is not None and not 1 <= health_port <= 65535:
        raise ConfigError(f"the health port must be between 1 and 65535, not {health_port}.")
    config.require("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN")
    rules = LiveRules(ruleset_for(config), load=lambda: load_ruleset(config.rules_path))
    check_bot_token(config)
    check_database(config)
    metrics.enable(socket_mode=True)
    rules.publish()
    metrics.socket_connected(False)
    health = Health(reconnect_window=2 * ping_interval, rules_version=rules.version)
    hup = threading.Event()
    health_server = serve_health(health, health_host, health_port) if health_port else None
    querylog = open_querylog(config)
    if threading.current_thread() is threading.main_thread():
        install_signal_flush(querylog)
        # The handler only asks; `watch` reloads, between two of its looks.
        signal.signal(signal.SIGHUP, lambda signum, frame: hup.set())
    handler = None
    # Bolt's lazy listeners (the follow-ups of clicks): finished before the log closes.
    background = ThreadPoolExecutor(max_workers=5, thread_name_prefix="pambot-lazy")
    try:
        try:
            app = build_app(config, ruleset=rules, querylog=querylog, socket_mode=True,
                            listener_executor=background)
        except URLError as exc:
            raise ConfigError(f"SLACK_API_URL ({config.slack_api_url}) cannot be reached "
                              f"({exc.reason}).") from None
        handler = SocketModeHandler(app, config.slack_app_token, ping_interval=ping_interval)
        try:
            handler.connect()
        except SlackApiError as exc:
            raise ConfigError(
                "SLACK_APP_TOKEN was refused by apps.connections.open "
                f"({exc.response.get('error', 'no reason given')})."
            ) from None
        return watch(handler.client, stop=stop or threading.Event(), health=health,
                     ping_interval=ping_interval, disconnected_limit=disconnected_limit,
                     rules=rules, hup=hup)
    finally:
        if health_server is not None:
            health_server.stop()
        if handler is not None:
            close(handler.client)
            handler.close()
        background.shutdown(wait=True)
        querylog.close()


def watch(client, *, stop: threading.Event, health: Health, ping_interval: float,
          disconnected_limit: float, rules: LiveRules | None = None,
          hup: threading.Event | None = None) -> int:
    """Keep `health`, the metrics and the log up to date, close a connection whose pong is
    late, and reload `rules` when `hup` is set.

    1 once the socket has been down for `disconnected_limit` seconds, 0 once `stop` is set.
    """
    connections = 0
    # Sessions that connected: an error on one of them is a lost connection, not a failed try.
    connected_sessions: weakref.WeakSet = weakref.WeakSet()
    last_failure: str | None = None

    def opened(ws=None) -> None:
        nonlocal connections, last_failure
        if ws is not None:
            connected_sessions.add(ws)
        last_failure = None
        if health.mark(True):
            connections += 1
            metrics.socket_connected(True, reconnect=connections > 1)
            log.info("Socket Mode connected")

    def failed(ws, error: Exception) -> None:
        nonlocal last_failure
        if (ws is not None and ws in connected_sessions) or not client.auto_reconnect_enabled:
            return  # a connection that ended (`closed` says so), or pambot is stopping
        # websocket-client adds the answer's headers (with the time) after " -+-+- ".
        reason = str(error).split(" -+-+- ")[0] or type(error).__name__
        if reason != last_failure:
            last_failure = reason
            log.warning("Socket Mode cannot connect (%s); trying again, waiting longer each "
                        "time, up to %.0f s", reason, RETRY_MAX_S)

    def closed(ws=None) -> None:
        if health.mark(False):
            metrics.socket_connected(False)
            if client.auto_reconnect_enabled:
                log.warning("Socket Mode disconnected; reconnecting")

    client.on_open_listeners.append(opened)
    client.on_close_listeners.append(closed)
    client.on_error_listeners.append(failed)
    if _live(client.current_session):
        opened()
    # A few looks per ping interval; at most one a second, so an idle pambot sleeps.
    check_every = min(1.0, ping_interval / 4)
    pong_timeout = ping_interval / 2
    while not stop.wait(check_every):
        if hup is not None and hup.is_set():
            hup.clear()
            if rules is not None and rules.reload():
                health.rules_version = rules.version
        session = client.current_session
        if not _live(session):
            # Also when a failed reconnect kept the close listener above from running.
            closed()
        elif _pong_is_late(session, pong_timeout):
            log.warning("Socket Mode: no pong within %.1f s; reconnecting", pong_timeout)
            _abort(session)
        down = health.down_for()
        if down >= disconnected_limit:
            log.error("Socket Mode disconnected for %.0f s; exiting so the process manager "
                      "restarts pambot", down)
            return 1
    return 0


def _live(session) -> bool:
    """True if `session` (a websocket-client WebSocketApp) has an open connection."""
    return getattr(session, "sock", None) is not None


def _pong_is_late(session, pong_timeout: float) -> bool:
    """True if `session` (a websocket-client WebSocketApp) pinged and no pong came in time."""
    pinged = getattr(session, "last_ping_tm", 0) or 0
    ponged = getattr(session, "last_pong_tm", 0) or 0
    return bool(pinged) and ponged < pinged and time.time() - pinged > pong_timeout


def close(client: SocketModeClient, timeout: float = 2.0) -> None:
    """Stop reconnecting, and let the thread reading the socket see it end, before the
    handler closes it: a socket closed under that thread leaves it waiting out
    websocket-client's 10 s poll."""
    client.auto_reconnect_enabled = False
    session = client.current_session
    _abort(session)
    deadline = time.monotonic() + timeout
    while session is not None and not session.has_done_teardown \
            and time.monotonic() < deadline:
        time.sleep(0.01)


def _abort(session) -> None:
    """End `session`'s connection as a lost one ends, so the client reconnects at once.

    websocket-client's `WebSocket.abort` shuts the socket down, which wakes the thread
    reading it; closing the socket from here instead would leave that thread waiting.
    """
    websocket = getattr(session, "sock", None)
    if websocket is not None:
        websocket.abort()


class HealthServer:
    """GET /healthz and GET /metrics, served by uvicorn in one background thread."""

    def __init__(self, health: Health, sock: socket.socket) -> None:
        self.address = sock.getsockname()[:2]
        config = uvicorn.Config(
            _health_app(health), http=_HealthProtocol, loop="asyncio", lifespan="off",
            log_config=None, log_level="warning", access_log=False,
            timeout_graceful_shutdown=1)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        name="pambot-health", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(5)


class _HealthProtocol(Protocol):
    """pambot serve's connections (a deadline per request), fewer of them: a probe or two at
    a time is what an orchestrator sends."""

    max_connections = HEALTH_CONNECTIONS


def serve_health(health: Health, host: str, port: int) -> HealthServer:
    """GET /healthz on `host`:`port` in a background thread: 200 or 503, one line of text.

    One thread whatever the clients: a connection that has not sent its request within a few
    seconds is dropped, as `pambot serve` drops it (bot.connections).
    """
    try:
        sock = socket.create_server((host, port))
    except OSError as exc:
        raise ConfigError(f"the health endpoint cannot listen on {host}:{port} "
                          f"({exc.strerror or exc}).") from None
    server = HealthServer(health, sock)
    log.info("Socket Mode health at http://%s:%s%s, metrics at %s", host,
             server.address[1], HEALTH_PATH, metrics.METRICS_PATH)
    return server


def _health_app(health: Health):
    """The health endpoint as an ASGI app."""

    async def app(scope: dict, receive, send) -> None:
        if scope["type"] != "http":
            return
        if scope["method"] not in ("GET", "HEAD"):
            await respond(send, 405, "use GET", [("allow", "GET, HEAD")])
        elif scope["path"] == metrics.METRICS_PATH:
            data, content_type = metrics.exposition()
            await respond(send, 200, data.decode("utf-8"), [("content-type", content_type)])
        elif scope["path"] == HEALTH_PATH:
            healthy, line = health.report()
            await respond(send, 200 if healthy else 503, line)
        else:
            await respond(send, 404, "not found")

    return app
