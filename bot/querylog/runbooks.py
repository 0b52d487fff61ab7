"""Runbook checklists: the steps of an answer, ticked off in the thread, every tick logged.

    >>> runbooks = Runbooks(StateStore(":memory:"))
    >>> book = runbooks.start(channel="C1", thread_ts="1.1", answer_ts="1.2", item=0,
    ...                       question="restore leader", rule="restore-leader",
    ...                       title="Restore the leader", steps=("Restore", "Check"),
    ...                       started_by="U1")
    >>> runbooks.tick(book.id, 1, user="U2", ticked=True).done
    1

A checklist's state is its rows: the latest tick of each step says whether it is done, by
whom and when. Two people ticking at once (on one worker or two replicas) each add their own
row inside a write transaction, so neither tick is lost; `version` (the newest tick's id)
tells a worker that rendered an older state that it must render again.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bot.querylog.schema import utc_iso
from bot.querylog.state import StateStore, StateUnavailable

if TYPE_CHECKING:
    from bot.querylog.store import Connection

__all__ = ["Runbook", "Runbooks", "StateUnavailable", "Tick", "list_runbooks", "took"]

_COLUMNS = ("id", "started", "team", "channel", "thread_ts", "answer_ts", "item",
            "message_ts", "question", "rule", "title", "source", "source_url", "steps",
            "started_by")


@dataclass(frozen=True)
class Tick:
    """The latest tick or untick of one step."""

    step: int
    user: str | None
    ts: str
    ticked: bool


@dataclass(frozen=True)
class Runbook:
    """One checklist and the latest state of each of its steps."""

    id: str
    started: str
    channel: str
    thread_ts: str | None
    answer_ts: str
    item: int
    question: str
    steps: tuple[str, ...]
    team: str | None = None
    message_ts: str | None = None
    rule: str | None = None
    title: str | None = None
    source: str | None = None
    source_url: str | None = None
    started_by: str | None = None
    # step number (from 1) -> its latest tick, ticked or not
    ticks: dict[int, Tick] = field(default_factory=dict)
    version: int = 0

    @property
    def done(self) -> int:
        """How many steps are ticked."""
        return sum(1 for tick in self.ticks.values() if tick.ticked)

    @property
    def complete(self) -> bool:
        return bool(self.steps) and self.done == len(self.steps)

    @property
    def finished(self) -> str | None:
        """When the last step was ticked, if every step is."""
        return max(t.ts for t in self.ticks.values()) if self.complete else None

    def took(self) -> float | None:
        """Seconds from the start to the last tick, if every step is ticked."""
        if self.finished is None:
            return None
        return (_parse(self.finished) - _parse(self.started)).total_seconds()


class Runbooks:
    """Checklists in the state tables. Every method raises StateUnavailable when the file
    cannot be used: a tick nobody can keep must be said, not swallowed."""

    def __init__(self, store: StateStore) -> None:
        self.store = store

    def start(self, *, channel: str, answer_ts: str, item: int, question: str,
              steps: Sequence[str], thread_ts: str | None = None, team: str | None = None,
              rule: str | None = None, title: str | None = None, source: str | None = None,
              source_url: str | None = None, started_by: str | None = None,
              runbook_id: str | None = None) -> Runbook | None:
        """A new checklist for the answer at `answer_ts` (its `item`: 0 the main answer, n
        the n-th further one); None if that answer has one already."""
        row = {
            "id": runbook_id or uuid.uuid4().hex, "started": _now(), "team": team,
            "channel": channel, "thread_ts": thread_ts, "answer_ts": answer_ts, "item": item,
            "message_ts": None,
            "question": question, "rule": rule, "title": title, "source": source,
            "source_url": source_url, "steps": json.dumps(list(steps)),
            "started_by": started_by,
        }
        with self.store.writing() as db:
            names = ", ".join(f'"{c}"' for c in _COLUMNS)
            inserted = db.execute(
                f"INSERT INTO runbooks ({names}) VALUES ({', '.join('?' for _ in _COLUMNS)}) "
                "ON CONFLICT (channel, answer_ts, item) DO NOTHING",
                [row[c] for c in _COLUMNS],
            ).rowcount
        return _runbook(row, []) if inserted else None

    def posted(self, runbook_id: str, message_ts: str) -> None:
        """The checklist message is at `message_ts` (where ticks update it)."""
        with self.store.writing() as db:
            db.execute("UPDATE runbooks SET message_ts = ? WHERE id = ?", [message_ts, runbook_id])

    def discard(self, runbook_id: str) -> None:
        """Forget a checklist whose message could not be posted, so it can be started again."""
        with self.store.writing() as db:
            db.execute("DELETE FROM runbook_ticks WHERE runbook_id = ?", [runbook_id])
            db.execute("DELETE FROM runbooks WHERE id = ?", [runbook_id])

    def tick(self, runbook_id: str, step: int, *, user: str | None, ticked: bool,
             channel: str | None = None) -> Runbook | None:
        """Record a tick (or untick) of `step` (from 1); the checklist after it, or None if
        there is no such checklist or step (or it is not in `channel`, where given)."""
        with self.store.writing() as db:
            book = _load(db, runbook_id)
            if book is None or not 1 <= step <= len(book.steps) \
                    or (channel is not None and channel != book.channel):
                return None
            db.execute(
                "INSERT INTO runbook_ticks (runbook_id, ts, channel, thread_ts, step, \"user\", "
                "ticked) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [runbook_id, _now(), book.channel, book.thread_ts, step, user, int(ticked)],
            )
            return _load(db, runbook_id)

    def get(self, runbook_id: str) -> Runbook | None:
        with self.store.reading() as db:
            return _load(db, runbook_id)

    def version(self, runbook_id: str) -> int:
        """The newest tick's id: it changes with every tick."""
        with self.store.reading() as db:
            return db.execute("SELECT coalesce(max(id), 0) FROM runbook_ticks "
                              "WHERE runbook_id = ?", [runbook_id]).fetchone()[0]


def list_runbooks(db: Connection, since: str | None) -> list[Runbook]:
    """Every checklist started since `since` (UTC ISO 8601; None: all), oldest first."""
    if not db.table_exists("runbooks"):
        return []
    where, params = ("WHERE started >= ?", [since]) if since else ("", [])
    names = ", ".join(f'"{c}"' for c in _COLUMNS)
    rows = [dict(zip(_COLUMNS, r, strict=True)) for r in db.execute(
        f"SELECT {names} FROM runbooks {where} ORDER BY started, id", params)]
    ticks: dict[str, list[tuple]] = {}
    for tick in db.execute(
            'SELECT runbook_id, id, step, "user", ts, ticked FROM runbook_ticks '
            f"WHERE runbook_id IN (SELECT id FROM runbooks {where}) ORDER BY id", params):
        ticks.setdefault(tick[0], []).append(tick[1:])
    return [_runbook(row, ticks.get(row["id"], [])) for row in rows]


def _load(db: Connection, runbook_id: str) -> Runbook | None:
    names = ", ".join(f'"{c}"' for c in _COLUMNS)
    row = db.execute(f"SELECT {names} FROM runbooks WHERE id = ?", [runbook_id]).fetchone()
    if row is None:
        return None
    ticks = db.execute('SELECT id, step, "user", ts, ticked FROM runbook_ticks '
                       "WHERE runbook_id = ? ORDER BY id", [runbook_id]).fetchall()
    return _runbook(dict(zip(_COLUMNS, row, strict=True)), ticks)


def _runbook(row: dict, ticks: Iterable[tuple]) -> Runbook:
    """A Runbook from its row and its tick rows (id, step, user, ts, ticked), oldest first."""
    latest: dict[int, Tick] = {}
    version = 0
    for tick_id, step, user, ts, ticked in ticks:
        latest[step] = Tick(step, user, ts, bool(ticked))
        version = max(version, tick_id)
    try:
        steps = tuple(str(s) for s in json.loads(row["steps"]))
    except (TypeError, ValueError):
        steps = ()
    return Runbook(
        id=row["id"], started=row["started"], channel=row["channel"],
        thread_ts=row["thread_ts"], answer_ts=row["answer_ts"], item=row["item"],
        question=row["question"], steps=steps, team=row["team"], message_ts=row["message_ts"],
        rule=row["rule"], title=row["title"], source=row["source"],
        source_url=row["source_url"], started_by=row["started_by"], ticks=latest,
        version=version,
    )


def took(seconds: float) -> str:
    """A checklist's duration as people say it: "under a minute", "12 min", "1 h 05 min"."""
    minutes = int(seconds // 60)
    if minutes < 1:
        return "under a minute"
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def _now() -> str:
    return utc_iso(datetime.now(UTC))


def _parse(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))
