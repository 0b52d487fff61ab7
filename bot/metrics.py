"""Prometheus metrics: what pambot answers and how fast, and how its Slack link and log fare.

    GET /metrics    on `pambot serve`'s port, and on `pambot socket`'s health port

Off until `enable()` (`pambot serve` and `pambot socket` call it), so the command-line tools
never import prometheus_client; until then every recording function does nothing.

Under `pambot serve` each gunicorn worker counts its own share. `use_multiprocess_dir()`,
called in the gunicorn master before any worker starts, points prometheus_client's
multiprocess mode at a fresh directory of pambot's own (PROMETHEUS_MULTIPROC_DIR); /metrics,
whichever worker answers it, sums every worker's files, those of workers that have stopped
included (counters never go back), while gauges count only live workers (`process_dead`,
called by the master for each worker that exits). The master removes the directory when it
stops.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from typing import Any

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
METRICS_PATH = "/metrics"
# Answers take milliseconds; a slow one waits on the query log's state or the disk.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


@dataclass(frozen=True)
class _Metrics:
    questions: Any
    answer_seconds: Any
    slack_acks: Any
    events_deduplicated: Any
    queue_depth: Any
    rows_written: Any
    rows_not_written: Any
    rules_info: Any
    rules_loaded: Any
    rules_reloads: Any
    socket_connected: Any
    socket_reconnects: Any


_metrics: _Metrics | None = None
# The multiprocess directory this process made, and which process may remove it.
_owned_dir: tuple[str, int] | None = None


def use_multiprocess_dir() -> str:
    """Make a fresh directory for prometheus_client's multiprocess mode and point
    PROMETHEUS_MULTIPROC_DIR at it; call before `enable()`. Returns its path."""
    global _owned_dir
    if _metrics is not None:
        raise RuntimeError("use_multiprocess_dir() must come before enable()")
    path = tempfile.mkdtemp(prefix="pambot-metrics-")
    # prometheus_client reads the variable when it is first imported, in `enable()`.
    os.environ[MULTIPROC_ENV] = path
    _owned_dir = (path, os.getpid())
    return path


def remove_multiprocess_dir() -> None:
    """Remove the directory `use_multiprocess_dir` made, in the process that made it only
    (a gunicorn worker leaves through the same code as its master)."""
    global _owned_dir
    if _owned_dir is not None and _owned_dir[1] == os.getpid():
        shutil.rmtree(_owned_dir[0], ignore_errors=True)
        os.environ.pop(MULTIPROC_ENV, None)
        _owned_dir = None


def process_dead(pid: int) -> None:
    """Forget the live gauges of a worker process that has exited (the master calls it)."""
    if _metrics is not None and os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)


def enable(*, socket_mode: bool = False) -> None:
    """Create pambot's metrics (once); recording functions count from now on. The Socket
    Mode connection's are only in `pambot socket` (`socket_mode`)."""
    global _metrics
    if _metrics is not None:
        return
    from prometheus_client import Counter, Gauge, Histogram

    _metrics = _Metrics(
        questions=Counter(
            "pambot_questions", "Questions answered, by where they came from and outcome.",
            ["source", "outcome"]),
        answer_seconds=Histogram(
            "pambot_answer_seconds", "Seconds from a question's arrival to its answer.",
            ["source"], buckets=LATENCY_BUCKETS),
        slack_acks=Counter(
            "pambot_slack_acks", "Answers to Slack's requests (HTTP) or envelopes "
            "(Socket Mode), by HTTP status.", ["status"]),
        events_deduplicated=Counter(
            "pambot_events_deduplicated", "Slack events not answered again: a redelivery "
            "of one already answered."),
        queue_depth=Gauge(
            "pambot_querylog_queue_depth", "Rows waiting for the query log's writer.",
            multiprocess_mode="livesum"),
        rows_written=Counter(
            "pambot_querylog_rows_written", "Rows written to the query log, by table.",
            ["table"]),
        rows_not_written=Counter(
            "pambot_querylog_rows_not_written", "Rows the query log did not write: dropped "
            "(queue full), set_aside (SQLite refused the row), lost (the file was "
            "unwritable when pambot stopped).", ["reason"]),
        rules_info=Gauge(
            "pambot_rules_info", "The rule set in force (1), by version (a content hash of "
            "the rule files).", ["version"], multiprocess_mode="livemax"),
        rules_loaded=Gauge(
            "pambot_rules_loaded_timestamp_seconds", "When the rule set in force was loaded "
            "(Unix time).", multiprocess_mode="livemax"),
        rules_reloads=Counter(
            "pambot_rules_reloads", "Rule reloads (SIGHUP), by result: applied or refused.",
            ["result"]),
        socket_connected=Gauge(
            "pambot_socket_connected", "1 while the Socket Mode WebSocket is connected, else 0.",
            multiprocess_mode="livemax") if socket_mode else None,
        socket_reconnects=Counter(
            "pambot_socket_reconnects", "Socket Mode connections made again after one was "
            "lost.") if socket_mode else None,
    )
    for result in ("applied", "refused"):
        _metrics.rules_reloads.labels(result)


def exposition() -> tuple[bytes, str]:
    """The metrics in Prometheus' text format, and its content type; every worker's under
    multiprocess mode."""
    enable()
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

    registry = REGISTRY
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    return generate_latest(registry), CONTENT_TYPE_LATEST


# -- recording: each a no-op until enable() ----------------------------------------------------


def question(source: str, outcome: str, seconds: float) -> None:
    if _metrics is not None:
        _metrics.questions.labels(source, outcome).inc()
        _metrics.answer_seconds.labels(source).observe(seconds)


def slack_ack(status: int) -> None:
    if _metrics is not None:
        _metrics.slack_acks.labels(str(status)).inc()


def event_deduplicated() -> None:
    if _metrics is not None:
        _metrics.events_deduplicated.inc()


def queue_depth(rows: int) -> None:
    if _metrics is not None:
        _metrics.queue_depth.set(rows)


def rows_written(table: str, rows: int) -> None:
    if _metrics is not None and rows:
        _metrics.rows_written.labels(table).inc(rows)


def rows_not_written(reason: str, rows: int = 1) -> None:
    if _metrics is not None and rows:
        _metrics.rows_not_written.labels(reason).inc(rows)


def rules_in_force(version: str, loaded_at: float) -> None:
    if _metrics is not None:
        if not os.environ.get(MULTIPROC_ENV):
            # One version at a time: `pambot socket` reloads in place. (A `pambot serve`
            # worker never changes rules: a reload replaces the workers.)
            _metrics.rules_info.clear()
        _metrics.rules_info.labels(version).set(1)
        _metrics.rules_loaded.set(loaded_at)


def rules_reload(result: str) -> None:
    if _metrics is not None:
        _metrics.rules_reloads.labels(result).inc()


def socket_connected(connected: bool, *, reconnect: bool = False) -> None:
    if _metrics is not None and _metrics.socket_connected is not None:
        _metrics.socket_connected.set(1 if connected else 0)
        if reconnect:
            _metrics.socket_reconnects.inc()
