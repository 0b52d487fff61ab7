"""`pambot socket`: Slack over Socket Mode, with Bolt's built-in Socket Mode client.

Needs SLACK_APP_TOKEN (xapp-, scope connections:write) and SLACK_BOT_TOKEN; the WebSocket
URL comes from `apps.connections.open` at SLACK_API_URL.

Health is the socket's connection state. Every change is logged ("connected",
"disconnected"). The client reconnects by itself; if it stays disconnected for
DISCONNECTED_LIMIT_S the process exits with status 1, so the process manager (a Procfile
platform, systemd, Kubernetes) restarts it and its restart count shows the trouble.
SIGTERM flushes the query log and exits.
"""

from __future__ import annotations

import logging
import threading
import time

from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk.errors import SlackApiError

from bot.app import build_app
from bot.ask import open_querylog, ruleset_for
from bot.config import Config, ConfigError
from bot.querylog import install_signal_flush

log = logging.getLogger("pambot.socket")

CHECK_EVERY_S = 5.0
DISCONNECTED_LIMIT_S = 120.0
# How often the client pings Slack; a missed pong is how it notices a dead socket.
PING_INTERVAL_S = 10.0


def run_socket(config: Config, *, stop: threading.Event | None = None,
               check_every: float = CHECK_EVERY_S,
               disconnected_limit: float = DISCONNECTED_LIMIT_S,
               ping_interval: float = PING_INTERVAL_S) -> int:
    """Answer Slack over Socket Mode until `stop` is set or SIGTERM; the exit status."""
    config.require("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN")
    ruleset = ruleset_for(config)
    querylog = open_querylog(config)
    if threading.current_thread() is threading.main_thread():
        install_signal_flush(querylog)
    handler = None
    try:
        app = build_app(config, ruleset=ruleset, querylog=querylog, socket_mode=True)
        handler = SocketModeHandler(app, app_token=config.slack_app_token,
                                    ping_interval=ping_interval)
        handler.client.on_close_listeners.append(_log_close)
        try:
            handler.connect()
        except SlackApiError as exc:
            raise ConfigError(
                "SLACK_APP_TOKEN was refused by apps.connections.open "
                f"({exc.response.get('error', 'no reason given')})."
            ) from None
        return watch(handler.client, stop=stop or threading.Event(), check_every=check_every,
                     disconnected_limit=disconnected_limit)
    finally:
        if handler is not None:
            handler.close()
        querylog.close()


def watch(client, *, stop: threading.Event, check_every: float,
          disconnected_limit: float) -> int:
    """Log every change of `client.is_connected()`; 1 if down for `disconnected_limit` seconds."""
    connected = client.is_connected()
    log.info("Socket Mode %s", "connected" if connected else "not connected yet")
    down_since = None if connected else time.monotonic()
    while not stop.wait(check_every):
        now_connected = client.is_connected()
        if now_connected != connected:
            if now_connected:
                log.info("Socket Mode connected again")
            else:
                log.warning("Socket Mode disconnected; reconnecting")
            connected = now_connected
        if connected:
            down_since = None
            continue
        down_since = down_since or time.monotonic()
        if time.monotonic() - down_since >= disconnected_limit:
            log.error("Socket Mode disconnected for %.0f s; exiting so the process manager "
                      "restarts pambot", time.monotonic() - down_since)
            return 1
    return 0


def _log_close(code: int, reason: str | None) -> None:
    log.warning("Socket Mode connection closed by the server (code %s%s)",
                code, f", {reason}" if reason else "")
