"""The query log: every question, answer and vote in one SQLite file, written off the answer's path.

    >>> log = QueryLog("pambot.db", retention_days=90)
    >>> query_id = log.record_query(answer, source="slash", elapsed_ms=3.2, user="U123")
    >>> log.record_feedback(query_id, helpful=False, user="U123")
    >>> log.close()

`QueryLog` hands rows to a background writer thread through a bounded queue and returns at
once; the writer inserts them in batches, one transaction each. The file is in WAL mode with a
busy timeout, so several worker processes can share it. When the file cannot be written (bad
path, locked, disk full, corrupt) the bot keeps answering: the writer says so once in the log
and retries with backoff while rows wait in the queue.

This package owns the database, and nothing else in pambot writes SQL:
`schema` (the file, its migrations, ids), `writer` (QueryLog), `forked` (the same, written by
a child process, for `pambot ask`), `claims` (Slack event dedupe),
`read` (queries behind `pambot log` and `/pam stats`) and `report` (the stats table, durations).
The conversation state that Slack threads share between workers lives in the same file, in
tables of its own: `state` (the tables), `threads` (what each thread has established) and
`runbooks` (checklists and their ticks) and `clicks` (the first click of each button).
"""

from bot.querylog.claims import CLAIM_LEASE, EventClaimBusy, EventDeferred, EventInProgress
from bot.querylog.clicks import Clicks
from bot.querylog.read import (
    NoLog,
    PastQuestion,
    Summary,
    export_rows,
    open_existing,
    prune,
    recent_questions,
    summarize,
)
from bot.querylog.report import DurationError, parse_since, printable, stats_text
from bot.querylog.runbooks import Runbook, Runbooks, list_runbooks, took
from bot.querylog.schema import (
    SCHEMA_VERSION,
    UNANSWERED_OUTCOMES,
    connect,
    migrate,
    new_id,
    schema_version,
    utc_iso,
    write_transaction,
)
from bot.querylog.state import StateStore, StateUnavailable
from bot.querylog.threads import Thread, Threads
from bot.querylog.writer import SOURCES, QueryLog, install_signal_flush

__all__ = [
    "CLAIM_LEASE",
    "SCHEMA_VERSION",
    "SOURCES",
    "UNANSWERED_OUTCOMES",
    "Clicks",
    "DurationError",
    "EventClaimBusy",
    "EventDeferred",
    "EventInProgress",
    "NoLog",
    "PastQuestion",
    "QueryLog",
    "Runbook",
    "Runbooks",
    "StateStore",
    "StateUnavailable",
    "Summary",
    "Thread",
    "Threads",
    "connect",
    "export_rows",
    "install_signal_flush",
    "list_runbooks",
    "migrate",
    "new_id",
    "open_existing",
    "parse_since",
    "printable",
    "prune",
    "recent_questions",
    "schema_version",
    "stats_text",
    "summarize",
    "took",
    "utc_iso",
    "write_transaction",
]
