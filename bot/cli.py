"""The `pambot` command line: picks the local shell, HTTP or Socket Mode, and the tools.

    pambot                      the mode the environment asks for (see `pick_mode`)
    pambot ask [--json] [--explain] [--blocks] [TEXT]  answer TEXT, or every line of stdin
    pambot shell                the local prompt, no Slack needed
    pambot rules check [PATH]   validate rule files
    pambot rules init DIR       a copy of the packaged rule files to keep and edit
    pambot serve [--port N] [--host ADDR]  Slack over HTTP
    pambot socket [--health-port N] [--ping-interval S]  Slack over Socket Mode
    pambot manifest --url URL | --socket   the Slack app manifest for a mode
    pambot log stats|export|prune

Exit status: 0 done, 1 the work failed (a rule problem, an unreadable log), 2 a usage or
configuration mistake (with one line saying which), 130 interrupted. A new command is one
decorated function: `@main.command()`, `@rules.command()` or, in `bot.logcli`, `@log.command()`.
"""

from __future__ import annotations

import sys

import click

from bot import learncli
from bot.config import Config, ConfigError
from bot.exit import UsageProblem
from bot.logcli import log
from bot.logs import setup_logging
from rules import RuleFileError


class PambotGroup(click.Group):
    """Every command's configuration and rule-file errors become one line and exit 2."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (ConfigError, RuleFileError) as exc:
            raise UsageProblem(str(exc)) from None
        except KeyboardInterrupt:
            raise click.exceptions.Exit(130) from None


def pick_mode(config: Config) -> str:
    """`SLACK_APP_TOKEN` -> socket, `SLACK_SIGNING_SECRET` -> serve, neither -> shell."""
    if config.slack_app_token:
        return "socket"
    if config.slack_signing_secret:
        return "serve"
    return "shell"


@click.group(cls=PambotGroup, invoke_without_command=True,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="pambot", prog_name="pambot")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Answers Osirium PAM Server upgrade and restore questions.

    With no command: Socket Mode if SLACK_APP_TOKEN is set, HTTP if SLACK_SIGNING_SECRET is
    set, else the local shell.
    """
    config = Config.from_env()
    ctx.obj = config
    command = ctx.invoked_subcommand or pick_mode(config)
    setup_logging(config, command)
    if ctx.invoked_subcommand is None:
        ctx.invoke({"shell": shell, "serve": serve, "socket": socket}[command])


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON (JSON Lines for stdin).")
@click.option("--explain", is_flag=True, help="Show how the question was read: its tokens, "
              "the slots they filled and why, and the rule that answered.")
@click.option("--blocks", is_flag=True, help="Print what pambot posts in Slack: the Block Kit "
              "payload as JSON (JSON Lines for stdin), and on standard error a Block Kit "
              "Builder link that shows it.")
@click.argument("text", nargs=-1)
@click.pass_obj
def ask(config: Config, as_json: bool, explain: bool, blocks: bool,
        text: tuple[str, ...]) -> None:
    """Answer TEXT, or every line of standard input when TEXT is omitted."""
    from bot.ask import run_ask

    if blocks and (as_json or explain):
        raise click.UsageError("--blocks prints Slack's payload; it does not go with "
                               f"{'--json' if as_json else '--explain'}.")
    sys.exit(run_ask(config, list(text), as_json=as_json, explain=explain, blocks=blocks))


@main.command()
@click.pass_obj
def shell(config: Config) -> None:
    """Interactive prompt, no Slack needed."""
    from bot.shell import run_shell

    sys.exit(run_shell(config))


@main.group(cls=PambotGroup)
def rules() -> None:
    """Rule file tools."""


@rules.command()
@click.argument("path", required=False)
@click.pass_obj
def check(config: Config, path: str | None) -> None:
    """Validate rule files (default: PAMBOT_RULES or the packaged rules); exit 1 on a problem."""
    from bot.ask import run_rules_check

    sys.exit(run_rules_check(config, path))


@rules.command()
@click.argument("directory")
def init(directory: str) -> None:
    """Write a copy of the packaged rule files to DIRECTORY, to edit and use with
    PAMBOT_RULES=DIRECTORY; never overwrites a file."""
    from bot.ask import run_rules_init

    sys.exit(run_rules_init(directory))


@rules.command()
@click.argument("path", required=False)
@click.pass_obj
def paths(config: Config, path: str | None) -> None:
    """Every upgrade path of the rules as a diagram (default: PAMBOT_RULES or the packaged
    rules); exit 1 if they have a problem."""
    from bot.ask import run_rules_paths

    sys.exit(run_rules_paths(config, path))


@main.command()
@click.option("--port", type=click.IntRange(1, 65535), help="Port (default: PORT, else 3000).")
@click.option("--host", help="Address to listen on (default: all, 0.0.0.0; 127.0.0.1 for "
              "local only).")
@click.pass_obj
def serve(config: Config, port: int | None = None, host: str | None = None) -> None:
    """Slack over HTTP at POST /slack/events."""
    from bot.server import serve as run_serve

    sys.exit(run_serve(config, port=port or config.port, **({"host": host} if host else {})))


@main.command()
@click.option("--health-port", type=int, help="Serve GET /healthz on this port (default: "
              "PAMBOT_HEALTH_PORT, else off).")
@click.option("--health-host", default="127.0.0.1", show_default=True,
              help="Address for the health endpoint.")
@click.option("--ping-interval", type=float, default=10.0, show_default=True,
              help="Seconds between WebSocket pings.")
@click.pass_obj
def socket(config: Config, health_port: int | None = None, health_host: str = "127.0.0.1",
           ping_interval: float = 10.0) -> None:
    """Slack over Socket Mode (needs SLACK_APP_TOKEN)."""
    from bot.socket_mode import run_socket

    sys.exit(run_socket(config, health_port=health_port or config.health_port,
                        health_host=health_host, ping_interval=ping_interval))


@main.command()
@click.option("--url", help="HTTP mode: the public https:// address of pambot serve.")
@click.option("--socket", "socket_mode", is_flag=True, help="Socket Mode.")
@click.pass_obj
def manifest(config: Config, url: str | None, socket_mode: bool) -> None:
    """Print the Slack app manifest for HTTP mode (--url) or Socket Mode (--socket)."""
    from bot.ask import ruleset_for
    from bot.manifest import ManifestError, manifest_yaml

    if (url is None) == (not socket_mode):
        raise click.UsageError("give one of --url https://... or --socket.")
    try:
        text = manifest_yaml(url=url, socket=socket_mode,
                             command=ruleset_for(config).settings.command)
    except ManifestError as exc:
        raise UsageProblem(str(exc)) from None
    click.echo(text, nl=False)


main.add_command(log)
main.add_command(learncli.learn)
log.add_command(learncli.review)
rules.add_command(learncli.diff)


if __name__ == "__main__":  # pragma: no cover
    main()
