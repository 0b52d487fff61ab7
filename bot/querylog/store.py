"""Where pambot keeps what it keeps: a SQLite file, or a PostgreSQL database shared by replicas.

`PAMBOT_DB` names either a file (the default, `pambot.db`) or a database URL
(`postgresql://user:pass@host:5432/db`, or `postgres://...`; libpq options such as
`?sslmode=require` pass through). Everything else in `bot.querylog` writes its SQL once, for
both, through the small dialect layer here:

    with connect("postgresql://pambot@db/pambot") as db:   # or a file's path
        db.execute("SELECT count(*) FROM queries WHERE ts >= ?", [since]).fetchone()

- SQL uses `?` placeholders; on PostgreSQL they become psycopg's `%s`.
- Tables are declared once (`Table`) and created on either (types, keys, indexes).
- `transaction()` is a write transaction (SQLite: `BEGIN IMMEDIATE`, which waits for the
  write lock up front); `savepoint()` nests one.
- `errors()` are what a database that cannot be used raises, whichever it is.

Why not SQLAlchemy Core with Alembic (measured once, side by side on one machine: 3,000
claim upserts each, the statement on every Slack event's path, one connection or pool):
the median was 18 µs on sqlite3 and 272 µs on psycopg 3 with psycopg_pool, against 97 µs and
674 µs through SQLAlchemy's `text()` (193 µs and 742 µs built with its
`insert().on_conflict_do_update()`); importing SQLAlchemy with its psycopg dialect and
Alembic costs 0.36 s, psycopg and its pool 0.18 s (paid only when PostgreSQL is used); and
the differences pambot meets (placeholders, a keyword, types, an identity column, where
the schema version lives, a lock for migrations) fit in this module. SQLite files keep
their `PRAGMA user_version` history as it was; sqlite-utils stays for what it serves on the
SQLite side (converting files from before the release).

A password in the URL is never shown: `shown(target)` is what logs and messages print.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import re
import sqlite3
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

logger = logging.getLogger("pambot.querylog")

POSTGRES_SCHEMES = ("postgresql://", "postgres://")
# A database that does not answer within this long at start-up is reported unreachable
# (libpq alone would wait for the operating system, minutes for a host that is down).
CONNECT_TIMEOUT_S = 5
# Connections per process for the answer's path (claims, thread memory, checklists, clicks):
# the HTTP worker's threads, its follow-ups, and room to spare.
POOL_MAX = 10
# How long a statement on the answer's path may wait for a connection or a lock: Slack wants
# its answer within 3 seconds.
POOL_WAIT_S = 2.0
# After a failed connection, the answer's path does not wait on the database again for this
# long: meanwhile, claims are kept in memory and threads answered without their memory.
PAUSE_S = 1.0
# Arbitrary, fixed: the key of the advisory lock that serialises schema changes.
SCHEMA_LOCK = 0x70616D62


def is_postgres(target: str | object) -> bool:
    """True if `target` (PAMBOT_DB) is a PostgreSQL URL rather than a file's path.

    >>> is_postgres("postgres://pambot@db/pambot"), is_postgres("pambot.db")
    (True, False)
    """
    return isinstance(target, str) and target.lower().startswith(POSTGRES_SCHEMES)


def shown(target: str | object) -> str:
    """`target` as logs and messages print it: a URL without its password.

    >>> shown("postgresql://pambot:s3cret@db:5432/pambot?sslmode=require&password=s3cret")
    'postgresql://pambot@db:5432/pambot?sslmode=require'
    """
    text = str(target)
    if not is_postgres(text):
        return text
    try:
        parts = urlsplit(text)
        userinfo, at, host = parts.netloc.rpartition("@")
        netloc = f"{userinfo.split(':', 1)[0]}@{host}" if at else host
        query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                           if k.lower() != "password"], safe="/:,=-")
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    except ValueError:
        return text.split("://", 1)[0] + "://(a URL that cannot be read)"


def errors() -> tuple[type[BaseException], ...]:
    """What a call raises when the database cannot be used (or refuses a statement), for
    either backend. psycopg's errors count only once psycopg is loaded: before, none can be
    raised, and `pambot ask` on a file never pays for importing it."""
    found: list[type[BaseException]] = [sqlite3.Error]
    psycopg = sys.modules.get("psycopg")
    if psycopg is not None:
        found.append(psycopg.Error)
    return tuple(found)


# --- tables --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Index:
    """An index on `columns`; named `idx_{table}_{columns}` (as sqlite-utils names them)
    unless `name` is given."""

    columns: tuple[str, ...]
    name: str | None = None
    unique: bool = False


@dataclass(frozen=True)
class Table:
    """A table as both backends create it: columns with Python types (`str`, `int`,
    `float`), the primary key, NOT NULL columns, indexes and foreign keys.

    A single `int` primary key is numbered by the database when a row gives none (SQLite's
    rowid, a PostgreSQL identity column). Foreign keys are declared on SQLite only, where
    they are documentation (SQLite does not enforce them unless asked): on PostgreSQL a vote
    may reach the table before its question does, written by another replica.

        Table("phrases", {"phrase": str, "meaning": str, "added": str}, pk="phrase",
              not_null=("meaning",), indexes=(Index(("added",)),))
    """

    name: str
    columns: dict[str, type]
    pk: str | tuple[str, ...]
    not_null: tuple[str, ...] = ()
    indexes: tuple[Index, ...] = ()
    foreign_keys: tuple[tuple[str, str, str], ...] = field(default=())

    def create(self, db: Connection, *, if_not_exists: bool = False) -> None:
        """Create the table and its indexes in `db` (where missing, with `if_not_exists`)."""
        for statement in db.dialect.create_table(self, if_not_exists=if_not_exists):
            db.execute(statement)


def index_name(table: str, index: Index) -> str:
    return index.name or f"idx_{table}_{'_'.join(index.columns)}"


def quote(name: str) -> str:
    """An identifier quoted for both backends (`user` is a keyword on PostgreSQL)."""
    return '"' + name.replace('"', '""') + '"'


# --- dialects ------------------------------------------------------------------------------


class Dialect:
    """What differs between the two backends, and nothing else."""

    name = ""
    types: dict[type, str] = {}

    def sql(self, text: str) -> str:
        return text

    def create_table(self, table: Table, *, if_not_exists: bool) -> list[str]:
        exists = "IF NOT EXISTS " if if_not_exists else ""
        keys = (table.pk,) if isinstance(table.pk, str) else table.pk
        serial = len(keys) == 1 and table.columns[keys[0]] is int
        columns = []
        for name, kind in table.columns.items():
            if serial and name == keys[0]:
                columns.append(f"{quote(name)} {self.serial_key}")
                continue
            column = f"{quote(name)} {self.types[kind]}"
            if name in table.not_null:
                column += " NOT NULL"
            columns.append(column)
        if not serial:
            columns.append(f"PRIMARY KEY ({', '.join(map(quote, keys))})")
        columns += self.foreign_keys(table)
        statements = [f"CREATE TABLE {exists}{quote(table.name)} ({', '.join(columns)})"]
        for index in table.indexes:
            unique = "UNIQUE " if index.unique else ""
            statements.append(
                f"CREATE {unique}INDEX {exists}{quote(index_name(table.name, index))} "
                f"ON {quote(table.name)} ({', '.join(map(quote, index.columns))})")
        return statements

    serial_key = ""

    def foreign_keys(self, table: Table) -> list[str]:
        return []


class SQLiteDialect(Dialect):
    name = "sqlite"
    types = {str: "TEXT", int: "INTEGER", float: "FLOAT"}
    serial_key = "INTEGER PRIMARY KEY"

    def foreign_keys(self, table: Table) -> list[str]:
        return [f"FOREIGN KEY ({quote(column)}) REFERENCES {quote(other)}({quote(key)})"
                for column, other, key in table.foreign_keys]


class PostgresDialect(Dialect):
    name = "postgresql"
    # Query ids are 63-bit: every integer is a BIGINT.
    types = {str: "TEXT", int: "BIGINT", float: "DOUBLE PRECISION"}
    serial_key = "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"

    def sql(self, text: str) -> str:
        return _pg_sql(text)


@functools.lru_cache(maxsize=512)
def _pg_sql(text: str) -> str:
    """`?` placeholders as psycopg's `%s` (and a literal `%` doubled). pambot's SQL has no
    `?` inside a string literal."""
    return text.replace("%", "%%").replace("?", "%s")


SQLITE = SQLiteDialect()
POSTGRES = PostgresDialect()


def _pg_value(value: Any) -> Any:
    """A value PostgreSQL can store: text cannot hold NUL, which SQLite keeps; U+FFFD stands
    in for it, as for text that is not valid Unicode."""
    if isinstance(value, str) and "\x00" in value:
        return value.replace("\x00", "\ufffd")
    return value


# --- connections ---------------------------------------------------------------------------


class Connection:
    """One connection to either backend, for SQL written once (see the module's doc).

    Statements outside `transaction()` are each their own transaction (autocommit).
    """

    def __init__(self, raw: Any, dialect: Dialect, target: str) -> None:
        self.raw = raw
        self.dialect = dialect
        self.target = target

    @property
    def postgres(self) -> bool:
        return self.dialect is POSTGRES

    def execute(self, sql: str, params: Sequence[Any] | dict = ()) -> Any:
        """The cursor of `sql` run with `params` (`rowcount`, `fetchone`, iteration)."""
        if self.dialect is SQLITE:
            return self.raw.execute(sql, params)
        return self.raw.execute(_pg_sql(sql), [_pg_value(v) for v in params] or None)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        if self.dialect is SQLITE:
            self.raw.executemany(sql, rows)
            return
        with self.raw.cursor() as cursor:
            cursor.executemany(_pg_sql(sql), [[_pg_value(v) for v in row] for row in rows])

    def stream(self, sql: str, params: Sequence[Any] = ()) -> Iterator[tuple]:
        """The rows of `sql`, fetched a thousand at a time: a large export never sits in
        memory whole."""
        if self.dialect is SQLITE:
            yield from self.raw.execute(sql, params)
            return
        with self.raw.transaction(), self.raw.cursor(name="pambot_stream") as cursor:
            cursor.itersize = 1000
            cursor.execute(_pg_sql(sql), list(params) or None)
            yield from cursor

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A write transaction: committed at the end, rolled back on an error.

        On SQLite it takes the write lock up front (`BEGIN IMMEDIATE`), waiting up to the
        busy timeout: a deferred `BEGIN` that reads first can fail at once, without waiting,
        when another process commits in between.
        """
        if self.dialect is POSTGRES:
            with self.raw.transaction():
                yield self
            return
        self.raw.execute("BEGIN IMMEDIATE")
        try:
            yield self
            self.raw.commit()
        except BaseException:
            self.raw.rollback()
            raise

    @contextlib.contextmanager
    def savepoint(self) -> Iterator[None]:
        """A nested transaction: an error inside undoes only what was done inside."""
        if self.dialect is POSTGRES:
            with self.raw.transaction():
                yield
            return
        self.raw.execute("SAVEPOINT rows")
        try:
            yield
        except BaseException:
            self.raw.execute("ROLLBACK TO rows")
            raise
        finally:
            self.raw.execute("RELEASE rows")

    def lock_schema(self) -> None:
        """Inside `transaction()`: wait until no other process is changing the schema (on
        SQLite, `BEGIN IMMEDIATE` has done so already)."""
        if self.dialect is POSTGRES:
            self.raw.execute("SELECT pg_advisory_xact_lock(%s)", [SCHEMA_LOCK])

    def table_exists(self, name: str) -> bool:
        if self.dialect is POSTGRES:
            # In the schema new tables go to (the first of the search path). A plain query of
            # the catalog, not to_regclass: it sees what another process committed while this
            # one waited for the schema lock.
            return self.raw.execute(
                "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = "
                "current_schema() AND tablename = %s)", [name]).fetchone()[0]
        return self.raw.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                                [name]).fetchone() is not None

    def index_names(self, table: str) -> set[str]:
        """The table's indexes, but for its primary key's."""
        if self.dialect is POSTGRES:
            return {name for (name,) in self.raw.execute(
                "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                "WHERE i.indrelid = to_regclass(%s) AND NOT i.indisprimary", [quote(table)])}
        return {name for (name,) in self.raw.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
            "AND name NOT LIKE 'sqlite_autoindex_%'", [table])}

    def columns(self, table: str) -> list[str]:
        if self.dialect is POSTGRES:
            return [name for (name,) in self.raw.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = "
                "current_schema() AND table_name = %s ORDER BY ordinal_position", [table])]
        return [row[1] for row in self.raw.execute(f"PRAGMA table_info({quote(table)})")]

    def close(self) -> None:
        self.raw.close()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def close_quietly(db: Connection | sqlite3.Connection | Any | None, target: str) -> None:
    """Close `db` if open; an error closing a connection we are giving up on is only logged."""
    if db is None:
        return
    try:
        db.close()
    except errors():
        logger.debug("query log %s: error closing", shown(target), exc_info=True)


# --- PostgreSQL ----------------------------------------------------------------------------


def _pg_settings(target: str, *, answer_path: bool) -> dict[str, Any]:
    """psycopg's connection arguments for `target`: pambot's defaults under the URL's own.

    `synchronous_commit = off` as SQLite's `synchronous = NORMAL`: a crash of the database
    server loses at most its last fraction of a second of commits, never corrupts, and no
    commit waits for the disk. On the answer's path, no lock or statement waits past Slack's
    patience.
    """
    from psycopg.conninfo import conninfo_to_dict

    given = conninfo_to_dict(target)
    settings: dict[str, Any] = {"autocommit": True}
    if "connect_timeout" not in given:
        settings["connect_timeout"] = CONNECT_TIMEOUT_S
    if "application_name" not in given:
        settings["application_name"] = "pambot"
    options = ["-c synchronous_commit=off"]
    if answer_path:
        wait_ms = int(POOL_WAIT_S * 1000)
        options += [f"-c lock_timeout={wait_ms}", f"-c statement_timeout={wait_ms + 500}"]
    settings["options"] = " ".join([given["options"], *options] if given.get("options")
                                   else options)
    return settings


def read_only(path: str | os.PathLike, *, timeout: float = 5.0) -> sqlite3.Connection:
    """The SQLite file at `path`, opened read-only: reading it never creates or changes it."""
    uri = Path(path).resolve().as_uri() + "?mode=ro"
    return sqlite3.connect(uri, uri=True, timeout=timeout)


def pg_connect(target: str, *, answer_path: bool = False) -> Connection:
    """A connection of its own to the PostgreSQL database at `target` (autocommit)."""
    import psycopg

    raw = psycopg.connect(target, **_pg_settings(target, answer_path=answer_path))
    return Connection(raw, POSTGRES, target)


class StoreDown(Exception):
    """The database failed a moment ago; the answer's path does not wait on it for now."""


def failures() -> tuple[type[BaseException], ...]:
    """What any use of the store raises when it cannot be used now: the database's
    `errors()`, the file's OSError, a pool that is paused (StoreDown)."""
    return (*errors(), OSError, StoreDown)


class Pool:
    """psycopg_pool's pool of connections for one process's answer's path, shared by its
    event claims and conversation state.

    When a connection breaks or none can be had (the server went away), every call fails at
    once with `StoreDown` instead of waiting, and at most every `PAUSE_S` one call tries a
    connection of its own (refused at once while the server is down); when that works, a new
    pool replaces the old one, whose own reconnection would back off for longer and longer.
    """

    def __init__(self, target: str) -> None:
        self.target = target
        self.users = 0
        self._lock = threading.Lock()
        self._down = False
        self._next_try = 0.0
        self._reason = ""
        self._settings = _pg_settings(target, answer_path=True)
        # pambot says in its own words, once, when the database is away and when it is back;
        # the pool would add a few lines for every attempt to connect.
        logging.getLogger("psycopg.pool").setLevel(logging.ERROR)
        self._pool = self._open()

    def _open(self) -> Any:
        from psycopg_pool import ConnectionPool

        pool = ConnectionPool(self.target, min_size=1, max_size=POOL_MAX, kwargs=self._settings,
                              timeout=POOL_WAIT_S, open=False, name="pambot")
        pool.open(wait=False)
        return pool

    @contextlib.contextmanager
    def connection(self) -> Iterator[Connection]:
        import psycopg

        if self._down:
            self._try_again()
        raw = None
        try:
            with self._pool.connection() as raw:
                yield Connection(raw, POSTGRES, self.target)
        except psycopg.OperationalError as exc:
            if raw is None or raw.broken or raw.closed:
                self._went_down(exc)
            raise

    def _went_down(self, exc: BaseException) -> None:
        with self._lock:
            self._down = True
            self._next_try = time.monotonic() + PAUSE_S
            self._reason = f"{type(exc).__name__}: {reason(exc)}"

    def _try_again(self) -> None:
        """StoreDown, unless it is time to try the server again and it answers (then a new
        pool takes over)."""
        import psycopg

        with self._lock:
            if not self._down:
                return
            if time.monotonic() < self._next_try:
                raise StoreDown(self._reason)
            self._next_try = time.monotonic() + PAUSE_S
            try:
                psycopg.connect(self.target, **{**self._settings, "connect_timeout": 1}).close()
            except psycopg.Error as exc:
                self._reason = f"{type(exc).__name__}: {reason(exc)}"
                raise StoreDown(self._reason) from None
            old, self._pool = self._pool, self._open()
            self._down = False
        threading.Thread(target=old.close, kwargs={"timeout": 0}, daemon=True).start()

    def close(self) -> None:
        self._pool.close(timeout=1.0)


_pools: dict[str, Pool] = {}
_pools_lock = threading.Lock()


def pool(target: str) -> Pool:
    """This process's pool for `target`, opened on first use; `release` it when done."""
    with _pools_lock:
        found = _pools.get(target)
        if found is None:
            found = _pools[target] = Pool(target)
        found.users += 1
        return found


def release(found: Pool) -> None:
    with _pools_lock:
        found.users -= 1
        if found.users <= 0 and _pools.get(found.target) is found:
            del _pools[found.target]
            found.close()


def unusable(exc: BaseException) -> bool:
    """True if `exc` says the database cannot be used right now (rather than that it refused
    one statement's values)."""
    psycopg = sys.modules.get("psycopg")
    if isinstance(exc, StoreDown | OSError):
        return True
    if psycopg is not None and isinstance(exc, psycopg.Error):
        return not isinstance(exc, psycopg.DataError | psycopg.IntegrityError)
    return isinstance(exc, sqlite3.Error) and not isinstance(
        exc, sqlite3.IntegrityError | sqlite3.DataError | sqlite3.InterfaceError)


def busy(exc: BaseException) -> bool:
    """True if `exc` is a wait for a lock (or a statement) that ran out of time."""
    if isinstance(exc, sqlite3.Error):
        return getattr(exc, "sqlite_errorcode", None) in (sqlite3.SQLITE_BUSY,
                                                          sqlite3.SQLITE_LOCKED)
    psycopg = sys.modules.get("psycopg")
    return psycopg is not None and isinstance(
        exc, psycopg.errors.LockNotAvailable | psycopg.errors.QueryCanceled)


_REASON = re.compile(r"\s+")


def reason(exc: BaseException) -> str:
    """An error as one line, for a log line or a `pambot:` message."""
    return _REASON.sub(" ", f"{exc}".strip()) or type(exc).__name__


def described(exc: BaseException) -> str:
    """`Kind: reason`, one line (a StoreDown says the failure it stands for)."""
    if isinstance(exc, StoreDown):
        return reason(exc)
    return f"{type(exc).__name__}: {reason(exc)}"
