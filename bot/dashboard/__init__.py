"""`pambot log serve`: the query log in Datasette, read-only, with pambot's metadata.

    $ pambot log serve                   # http://127.0.0.1:8001/pambot

Datasette is the `pambot[dashboard]` extra. `metadata.yaml` (shipped beside this module)
describes the tables and columns, hides the internal ones and holds the canned queries; at
start the database's name in it is set to the log file's (Datasette names a database after
its file) and the "rules never hit" query gets the ids of the rules in use.

Every request must name, in its `Host` header, the host the dashboard serves (`allowed_hosts`):
another site's page whose name an attacker points at 127.0.0.1 (DNS rebinding) gets 400,
not the query log. The check is a Datasette plugin (`hosts`), registered for the run, the
names it allows in the metadata's plugin settings.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import signal
import socket
import tempfile
from importlib import resources
from pathlib import Path

import yaml

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8001
SHIPPED_NAME = "pambot"
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class DashboardMissing(Exception):
    """Datasette is not installed."""


def metadata(database: str, rule_ids: list[str]) -> dict:
    """The shipped metadata for a database named `database`, with `rule_ids` filled in."""
    text = resources.files("bot.dashboard").joinpath("metadata.yaml").read_text("utf-8")
    data = yaml.safe_load(text)
    db = data["databases"].pop(SHIPPED_NAME)
    ids = json.dumps(sorted(rule_ids)).replace("'", "''")
    query = db["queries"]["rules_never_hit"]
    query["sql"] = query["sql"].replace(":rule_ids", f"'{ids}'")
    data["databases"][database] = db
    return data


def allowed_hosts(host: str) -> frozenset[str]:
    """The names a browser may use for the dashboard listening on `host`: that address,
    and `localhost` for a loopback one; for every interface (0.0.0.0), this machine's names
    and addresses too."""
    names = {host.lower().strip("[]")}
    if _loopback(host) or host in ("0.0.0.0", "::", ""):
        names |= {"localhost", "127.0.0.1", "::1"}
    if host in ("0.0.0.0", "::", ""):
        for name in {socket.gethostname(), socket.getfqdn()}:
            names.add(name.lower())
            with contextlib.suppress(OSError):
                names |= {info[4][0] for info in socket.getaddrinfo(name, None)}
    return frozenset(names)


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host.lower() == "localhost"


def serve(db_path: str, *, rule_ids: list[str], host: str = DEFAULT_HOST,
          port: int = DEFAULT_PORT) -> int:
    """Run Datasette on the log at `db_path` until stopped; the exit status."""
    try:
        from datasette.cli import serve as datasette_serve
        from datasette.plugins import pm

        from bot.dashboard import hosts
    except ImportError:
        raise DashboardMissing("pambot log serve needs Datasette: pip install "
                               "'pambot[dashboard]'") from None
    path = Path(db_path)
    # SIGTERM (a service manager's stop) or Ctrl-C ends pambot with 128 + the signal's number,
    # through the `with` below, which removes the temporary directory; left to the default,
    # SIGTERM ends the process at once and leaves it behind. The web server handles the
    # signal first (a graceful stop), then raises it again, here.
    previous = {sig: signal.signal(sig, _exit_on_signal) for sig in STOP_SIGNALS}
    try:
        with tempfile.TemporaryDirectory(prefix="pambot-dashboard-") as tmp:
            meta = Path(tmp) / "metadata.json"
            data = metadata(path.stem, rule_ids)
            data.setdefault("plugins", {})[hosts.PLUGIN] = {
                "hosts": sorted(allowed_hosts(host))}
            meta.write_text(json.dumps(data), encoding="utf-8")
            # A file Datasette opens is opened read-only (mode=ro); pambot may write it
            # meanwhile.
            args = [str(path), "--metadata", str(meta), "--host", host, "--port", str(port),
                    "--setting", "allow_download", "off"]
            pm.register(hosts, name=hosts.PLUGIN)
            try:
                datasette_serve.main(args=args, prog_name="pambot log serve",
                                     standalone_mode=False)
            finally:
                pm.unregister(name=hosts.PLUGIN)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)
