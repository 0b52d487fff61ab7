"""`pambot serve`: Slack over HTTP, Bolt's WSGI adapter behind gunicorn.

    POST /slack/events   events, slash commands and interactivity, all on one URL
    GET  /healthz        200 "ok" once this worker's app is built

gunicorn runs gthread workers. Each worker builds its own query log and Bolt app after the
fork (a writer thread does not survive a fork) and closes the log when it exits, so a
SIGTERM flushes queued rows. gunicorn's own GUNICORN_CMD_ARGS (e.g. "--workers 4
--threads 16", or "--bind 127.0.0.1:3000") is applied after pambot's defaults.
"""

from __future__ import annotations

import functools
import io
import logging
import urllib.parse
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any
from urllib.error import URLError

from gunicorn.app.base import BaseApplication
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.adapter.wsgi.http_request import WsgiHttpRequest
from slack_bolt.request import BoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier

from bot.app import build_app, build_client
from bot.ask import open_querylog, ruleset_for
from bot.config import Config, ConfigError
from bot.logs import gunicorn_logconfig

if TYPE_CHECKING:
    from slack_bolt import App

    from rules import RuleSet

log = logging.getLogger("pambot.server")

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
DEFAULT_HOST = "0.0.0.0"
# Slack's largest payloads (a long message with blocks) are far below this.
MAX_BODY_BYTES = 1 << 20
# The listeners wait on Slack's Web API; threads keep a worker busy meanwhile.
THREADS = 8
TIMEOUT_S = 30
GRACEFUL_TIMEOUT_S = 10

StartResponse = Callable[..., Any]


class SlackWsgiApp:
    """The WSGI app: health, then the signature check, then Bolt's adapter; 404 elsewhere.

    Requests are verified here before Bolt parses them, so a forged or garbled request gets
    401 and never reaches a listener (Bolt verifies again); a signed body that is not a
    Slack payload gets 400.
    """

    def __init__(self, app: App, signing_secret: str, *,
                 on_close: Callable[[], None] | None = None) -> None:
        self.bolt = _BoltHandler(app, path=EVENTS_PATH)
        self.verifier = SignatureVerifier(signing_secret)
        self._on_close = on_close

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or "/"
        method = environ.get("REQUEST_METHOD", "GET")
        if path == HEALTH_PATH:
            if method not in ("GET", "HEAD"):
                return _plain(start_response, "405 Method Not Allowed", "use GET",
                              [("Allow", "GET, HEAD")])
            return _plain(start_response, "200 OK", "ok")
        if path != EVENTS_PATH:
            return _plain(start_response, "404 Not Found", "not found")
        if method != "POST":
            return _plain(start_response, "405 Method Not Allowed", "use POST",
                          [("Allow", "POST")])
        body = _read_body(environ)
        if body is None:
            return _plain(start_response, "413 Content Too Large", "request body too large")
        if _is_ssl_check(body, environ.get("CONTENT_TYPE")):
            # Slack's certificate check is unsigned; it needs a 200 and nothing else.
            return _plain(start_response, "200 OK", "")
        headers = {key[5:].replace("_", "-").lower(): value
                   for key, value in environ.items() if key.startswith("HTTP_")}
        if not self._signed(body, headers):
            log.warning("rejected a request to %s with a missing, wrong or stale signature",
                        EVENTS_PATH)
            return _plain(start_response, "401 Unauthorized", "invalid signature")
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        return self.bolt(environ, start_response)

    def close(self) -> None:
        """Release what the app holds (flushes the query log)."""
        if self._on_close is not None:
            self._on_close()

    def _signed(self, body: bytes, headers: dict[str, str]) -> bool:
        try:
            return self.verifier.is_valid_request(body, headers)
        except (ValueError, UnicodeDecodeError):
            # A timestamp that is not a number, or a body that is not UTF-8.
            return False


def create_wsgi_app(config: Config, *, ruleset: RuleSet | None = None,
                    log_queries: bool = True) -> SlackWsgiApp:
    """This process's WSGI app: query log (unless `log_queries` is False), Bolt app, front.

    Build it after any fork. Needs SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET.
    """
    config.require("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")
    ruleset = ruleset if ruleset is not None else ruleset_for(config)
    querylog = open_querylog(config) if log_queries else None
    try:
        app = build_app(config, ruleset=ruleset, querylog=querylog)
    except BaseException:
        if querylog is not None:
            querylog.close()
        raise
    return SlackWsgiApp(app, config.slack_signing_secret,
                        on_close=querylog.close if querylog is not None else None)


def serve(config: Config, port: int, *, host: str = DEFAULT_HOST) -> int:
    """Run HTTP mode on `host`:`port` until stopped; the exit status.

    Checks the settings, the rules and the bot token before starting any worker, so a
    mistake stops start-up with one sentence instead of a worker crash loop.
    """
    config.require("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")
    ruleset = ruleset_for(config)
    check_bot_token(config)
    log.info("pambot serve: Slack requests at POST %s, health at GET %s",
             EVENTS_PATH, HEALTH_PATH)
    return run_gunicorn(functools.partial(create_wsgi_app, config, ruleset=ruleset),
                        host=host, port=port)


def check_bot_token(config: Config) -> None:
    """ConfigError naming SLACK_BOT_TOKEN or SLACK_API_URL unless `auth.test` accepts the token."""
    try:
        build_client(config).auth_test()
    except SlackApiError as exc:
        raise ConfigError(
            f"SLACK_BOT_TOKEN was refused by the Slack Web API at {config.slack_api_url} "
            f"({exc.response.get('error', 'no reason given')})."
        ) from None
    except (URLError, OSError) as exc:
        raise ConfigError(
            f"SLACK_API_URL ({config.slack_api_url}) cannot be reached to check "
            f"SLACK_BOT_TOKEN ({exc})."
        ) from None


def run_gunicorn(factory: Callable[[], Any], *, host: str, port: int) -> int:
    """Serve the WSGI app each worker gets from `factory()` (called after the fork)."""
    options = {
        "bind": f"{host}:{port}",
        "worker_class": "gthread",
        "threads": THREADS,
        "timeout": TIMEOUT_S,
        "graceful_timeout": GRACEFUL_TIMEOUT_S,
        "proc_name": "pambot",
        "preload_app": False,
        "worker_exit": _close_worker_app,
        "logconfig_dict": gunicorn_logconfig(),  # gunicorn's lines in pambot's format
    }
    try:
        _Gunicorn(factory, options).run()
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0


class _Gunicorn(BaseApplication):
    """gunicorn, configured in code rather than from its command line."""

    def __init__(self, factory: Callable[[], Any], options: dict[str, Any]) -> None:
        self.factory = factory
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)
        if "control_socket_disable" in self.cfg.settings:
            # gunicorn 24+: no control socket in $HOME; pambot does not use one, and two
            # servers on one host would fight over it.
            self.cfg.set("control_socket_disable", True)
        # gunicorn's own documented variable, for operators: applied after our defaults.
        parser = self.cfg.parser()
        for key, value in vars(parser.parse_args(self.cfg.get_cmd_args_from_env())).items():
            if value is not None and key not in ("args", "config"):
                self.cfg.set(key.lower(), value)

    def load(self) -> Any:
        return self.factory()


def _close_worker_app(server: Any, worker: Any) -> None:
    app = getattr(worker, "wsgi", None)
    if isinstance(app, SlackWsgiApp):
        app.close()


def _read_body(environ: dict) -> bytes | None:
    """The request body, or None if it is larger than MAX_BODY_BYTES."""
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    try:
        length = int(environ.get("CONTENT_LENGTH") or -1)
    except ValueError:
        length = -1
    if length > MAX_BODY_BYTES:
        return None
    body = stream.read(length) if length >= 0 else stream.read(MAX_BODY_BYTES + 1)
    return body if len(body) <= MAX_BODY_BYTES else None


def _is_ssl_check(body: bytes, content_type: str | None) -> bool:
    """True for Slack's SSL check (`ssl_check=1&token=...`, form-encoded)."""
    if b"ssl_check=" not in body or not (content_type or "").startswith(
            "application/x-www-form-urlencoded"):
        return False
    try:
        form = urllib.parse.parse_qs(body.decode("utf-8"), strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        return False
    return form.get("ssl_check") == ["1"]


class _BoltHandler(SlackRequestHandler):
    """Bolt's WSGI adapter, answering 400 to a body Bolt cannot parse instead of raising."""

    def dispatch(self, request: WsgiHttpRequest) -> BoltResponse:
        try:
            bolt_request = BoltRequest(body=request.get_body(), query=request.query_string,
                                       headers=request.get_headers())
        except (ValueError, AttributeError, TypeError, KeyError, IndexError):
            # Bolt's parser on JSON that is not an object, or an object of the wrong shape.
            log.warning("rejected a signed request to %s whose body is not a Slack payload",
                        EVENTS_PATH)
            return BoltResponse(status=400, body="malformed payload")
        try:
            return self.app.dispatch(bolt_request)
        except Exception:
            # Bolt's own error path can fail on a payload Slack would never send (for
            # example block_actions with an empty actions list); answer for it here.
            log.exception("Bolt could not dispatch a signed request to %s", EVENTS_PATH)
            return BoltResponse(status=500, body="")


def _plain(start_response: StartResponse, status: str, text: str,
           headers: list[tuple[str, str]] | None = None) -> list[bytes]:
    data = text.encode("utf-8")
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"),
                            ("Content-Length", str(len(data))), *(headers or [])])
    return [data]
