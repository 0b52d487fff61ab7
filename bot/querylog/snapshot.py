"""A PostgreSQL log copied into a new SQLite file: what `pambot log serve` shows in Datasette,
which opens SQLite files only.

    >>> rows = snapshot("postgresql://pambot@db/pambot", Path("/tmp/x/pambot.db"))  # doctest: +SKIP

The copy has the same schema as any SQLite log (the same migrations and table definitions),
so the dashboard's metadata and canned queries apply to it unchanged. It is read-only in
spirit: nothing written to it reaches the database.
"""

from __future__ import annotations

from itertools import islice
from pathlib import Path

from bot.querylog.schema import open_log
from bot.querylog.state import STATE_TABLES, create_tables
from bot.querylog.store import close_quietly, pg_connect, quote

# The query log's own tables, then the conversation state's.
TABLES = ("queries", "feedback", "events", *(table.name for table in STATE_TABLES))
BATCH_ROWS = 5_000


def snapshot(target: str, path: Path) -> int:
    """Copy every table pambot keeps in the PostgreSQL database at `target` into a new
    SQLite file at `path`; the number of rows copied. Raises `store.errors()`."""
    source = pg_connect(target)
    copy = open_log(path)
    try:
        with copy.transaction():
            create_tables(copy)
        copied = 0
        for table in TABLES:
            if not source.table_exists(table):
                continue
            columns = [c for c in copy.columns(table) if c in set(source.columns(table))]
            names = ", ".join(map(quote, columns))
            rows = source.stream(f"SELECT {names} FROM {quote(table)}")
            insert = (f"INSERT INTO {quote(table)} ({names}) "
                      f"VALUES ({', '.join('?' for _ in columns)})")
            with copy.transaction():
                while batch := list(islice(rows, BATCH_ROWS)):
                    copy.executemany(insert, batch)
                    copied += len(batch)
        return copied
    finally:
        close_quietly(copy, str(path))
        close_quietly(source, target)
