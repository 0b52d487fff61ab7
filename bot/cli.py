"""The `pambot` command line: picks the local shell, HTTP or Socket Mode, and the tools.

    pambot                      the mode the environment asks for (see `pick_mode`)
    pambot ask [--json] [TEXT]  answer TEXT, or every line of standard input
    pambot shell                the local prompt, no Slack needed
    pambot rules check [PATH]   validate rule files
    pambot serve [--port N] [--host ADDR]  Slack over HTTP (gunicorn + Bolt's WSGI adapter)
    pambot socket [--health-port N]  Slack over Socket Mode
    pambot manifest --url URL | --socket   the Slack app manifest for a mode
    pambot log stats|export|prune
"""

from __future__ import annotations

import argparse
import logging
import sys

from bot.config import Config, ConfigError
from bot.logs import setup_logging
from rules import RuleFileError

log = logging.getLogger("pambot")


def pick_mode(config: Config) -> str:
    """`SLACK_APP_TOKEN` -> socket, `SLACK_SIGNING_SECRET` -> serve, neither -> shell."""
    if config.slack_app_token:
        return "socket"
    if config.slack_signing_secret:
        return "serve"
    return "shell"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pambot",
        description="Answers Osirium PAM Server upgrade and restore questions. "
        "With no command: Socket Mode if SLACK_APP_TOKEN is set, HTTP if "
        "SLACK_SIGNING_SECRET is set, else the local shell.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    ask = sub.add_parser("ask", help="answer a question (or every line of standard input)")
    ask.add_argument("--json", action="store_true", help="print JSON (JSON Lines for stdin)")
    ask.add_argument("text", nargs="*", help="the question; omit to read standard input")

    sub.add_parser("shell", help="interactive prompt, no Slack needed")

    rules_cmd = sub.add_parser("rules", help="rule file tools")
    rules_sub = rules_cmd.add_subparsers(dest="rules_command", metavar="SUBCOMMAND")
    check = rules_sub.add_parser("check", help="validate rule files; exit 1 on a problem")
    check.add_argument("path", nargs="?", help="a rule file or directory (default: PAMBOT_RULES "
                       "or the packaged rules)")

    serve = sub.add_parser("serve", help="Slack over HTTP at POST /slack/events")
    serve.add_argument("--port", type=int, help="port (default: PORT, else 3000)")
    serve.add_argument("--host", help="address to listen on (default: all, 0.0.0.0; "
                       "127.0.0.1 for local only)")

    socket = sub.add_parser("socket", help="Slack over Socket Mode (needs SLACK_APP_TOKEN)")
    socket.add_argument("--health-port", type=int, help="serve GET /healthz on this port "
                        "(default: PAMBOT_HEALTH_PORT, else off)")
    socket.add_argument("--health-host", help="address for the health endpoint "
                        "(default 127.0.0.1)")
    socket.add_argument("--ping-interval", type=float, help="seconds between WebSocket "
                        "pings (default 10)")

    manifest = sub.add_parser("manifest", help="print the Slack app manifest for a mode")
    mode = manifest.add_mutually_exclusive_group(required=True)
    mode.add_argument("--url", help="HTTP mode: the public https:// address of pambot serve")
    mode.add_argument("--socket", action="store_true", help="Socket Mode")

    log_cmd = sub.add_parser("log", help="the query log")
    log_sub = log_cmd.add_subparsers(dest="log_command", metavar="SUBCOMMAND")
    stats = log_sub.add_parser("stats", help="counts, top unanswered questions, helpful share")
    stats.add_argument("--since", default="7d", help="e.g. 24h, 7d, 4w, or an ISO date "
                       "(default 7d)")
    export = log_sub.add_parser("export", help="write the log as CSV or JSON to stdout")
    export.add_argument("--format", choices=("csv", "json"), default="csv")
    export.add_argument("--since", default=None, help="e.g. 7d or an ISO date (default: all)")
    prune = log_sub.add_parser("prune", help="delete queries older than a duration")
    prune.add_argument("--older-than", required=True, help="e.g. 90d")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = Config.from_env()
        command = args.command or pick_mode(config)
        setup_logging(config, command)
        return _dispatch(parser, args, command, config)
    except (ConfigError, RuleFileError) as exc:
        print(f"pambot: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _dispatch(parser: argparse.ArgumentParser, args: argparse.Namespace, command: str,
              config: Config) -> int:
    if command == "ask":
        from bot.ask import run_ask

        return run_ask(config, args.text, as_json=args.json)
    if command == "shell":
        from bot.shell import run_shell

        return run_shell(config)
    if command == "rules":
        if args.rules_command != "check":
            parser.parse_args(["rules", "--help"])
        from bot.ask import run_rules_check

        return run_rules_check(config, args.path)
    if command == "serve":
        from bot.server import serve

        # Bare `pambot` (SLACK_SIGNING_SECRET set) has no --port or --host: the defaults.
        host = getattr(args, "host", None)
        return serve(config, port=getattr(args, "port", None) or config.port,
                     **({"host": host} if host else {}))
    if command == "socket":
        from bot.socket_mode import run_socket

        # Bare `pambot` (SLACK_APP_TOKEN set) has no options: the defaults.
        options = {key: value for key, value in vars(args).items() if value is not None
                   and key in ("health_port", "health_host", "ping_interval")}
        options.setdefault("health_port", config.health_port)
        return run_socket(config, **options)
    if command == "manifest":
        from bot.ask import ruleset_for
        from bot.manifest import ManifestError, manifest_yaml

        try:
            print(manifest_yaml(url=args.url, socket=args.socket,
                                command=ruleset_for(config).settings.command), end="")
        except ManifestError as exc:
            print(f"pambot manifest: {exc}", file=sys.stderr)
            return 2
        return 0
    if command == "log":
        from bot import logcli

        if args.log_command == "stats":
            return logcli.stats(config, since=args.since)
        if args.log_command == "export":
            return logcli.export(config, fmt=args.format, since=args.since)
        if args.log_command == "prune":
            return logcli.prune(config, older_than=args.older_than)
        parser.parse_args(["log", "--help"])
    parser.print_help()
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
