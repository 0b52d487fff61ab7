"""The query log: every question, answer and vote in one SQLite file or one PostgreSQL
database (`PAMBOT_DB`), written off the answer's path.

    >>> log = QueryLog("pambot.db", retention_days=90)
    >>> query_id = log.record_query(answer, source="slash", elapsed_ms=3.2, user="U123")
    >>> log.record_feedback(query_id, helpful=False, user="U123")
    >>> log.close()

`QueryLog` hands rows to a background writer thread through a bounded queue and returns at
once; the writer inserts them in batches, one transaction each. A file is in WAL mode with a
busy timeout, so several worker processes can share it; a PostgreSQL database is shared by
replicas on several machines too. When the database cannot be written (bad path, locked,
disk full, corrupt, a database server that is down) the bot keeps answering: the writer says
so once in the log and retries with backoff while rows wait in the queue.

This package owns the database, and nothing else in pambot writes SQL:
`store` (the two backends, their dialect layer, table definitions), `schema` (connecting,
migrations, ids), `writer` (QueryLog), `claims` (Slack event dedupe), `read` (queries behind
`pambot log` and `/pam stats`), `report` (the stats table, durations) and `snapshot` (a
PostgreSQL log copied to a SQLite file, for Datasette). The conversation state that Slack
threads share between workers lives beside it, in tables of its own: `state` (the tables),
`threads` (what each thread has established), `runbooks` (checklists and their ticks) and
`clicks` (the first click of each button).
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
)
from bot.querylog.state import STATE_TABLES, StateStore, StateUnavailable
from bot.querylog.store import Index, Table, errors, is_postgres, shown
from bot.querylog.threads import Thread, Threads
from bot.querylog.writer import SOURCES, QueryLog, install_signal_flush

__all__ = [
    "CLAIM_LEASE",
    "SCHEMA_VERSION",
    "SOURCES",
    "STATE_TABLES",
    "UNANSWERED_OUTCOMES",
    "Clicks",
    "DurationError",
    "EventClaimBusy",
    "EventDeferred",
    "EventInProgress",
    "Index",
    "NoLog",
    "PastQuestion",
    "QueryLog",
    "Runbook",
    "Runbooks",
    "StateStore",
    "StateUnavailable",
    "Summary",
    "Table",
    "Thread",
    "Threads",
    "connect",
    "errors",
    "export_rows",
    "install_signal_flush",
    "is_postgres",
    "list_runbooks",
    "migrate",
    "new_id",
    "open_existing",
    "parse_since",
    "printable",
    "prune",
    "recent_questions",
    "schema_version",
    "shown",
    "stats_text",
    "summarize",
    "took",
    "utc_iso",
]
