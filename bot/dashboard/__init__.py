"""`pambot log serve`: the query log in Datasette, read-only, with pambot's metadata.

    $ pambot log serve                   # http://127.0.0.1:8001/pambot

Datasette is the `pambot[dashboard]` extra. `metadata.yaml` (shipped beside this module)
describes the tables and columns, hides the internal ones and holds the canned queries; at
start the database's name in it is set to the log file's (Datasette names a database after
its file) and the "rules never hit" query gets the ids of the rules in use.
"""

from __future__ import annotations

import json
import signal
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


def serve(db_path: str, *, rule_ids: list[str], host: str = DEFAULT_HOST,
          port: int = DEFAULT_PORT) -> int:
    """Run Datasette on the log at `db_path` until stopped; the exit status."""
    try:
        from datasette.cli import serve as datasette_serve
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
            meta.write_text(json.dumps(metadata(path.stem, rule_ids)), encoding="utf-8")
            # A file Datasette opens is opened read-only (mode=ro); pambot may write it
            # meanwhile.
            args = [str(path), "--metadata", str(meta), "--host", host, "--port", str(port),
                    "--setting", "allow_download", "off"]
            datasette_serve.main(args=args, prog_name="pambot log serve",
                                 standalone_mode=False)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)
