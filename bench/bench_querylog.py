"""Benchmark the query log: write throughput, what logging adds to an answer, `log stats` speed.

    python bench/bench_querylog.py                    # the full run (a few minutes)
    python bench/bench_querylog.py --rows 10000 --stats-rows 100000   # a quick look

1. Writes `--rows` queries through the real `QueryLog.record_query` path and reports rows per
   second, from the first call until the last row is in the file.
2. Times `rules.answer(text)` alone and followed by `record_query`, in alternating blocks in one
   run: back to back (the writer competes for the interpreter) and paced like a busy bot (a
   short sleep between answers, as when waiting on Slack).
3. Generates `--stats-rows` queries straight into a file with sqlite-utils and times
   `stats_text` (last 7 days and the whole log) and the real `pambot log stats` command once.

Timings are measured here and never asserted in tests.
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot import querylog
from bot.querylog import stats_text
from bot.querylog.store import quote
from rules import answer

QUESTIONS = (
    "upgrade 6.5.4",
    "upgrade 5.1 to 9",
    "restore 7.0 follower",
    "how do I back up the leader",
    "help",
    "upgarde 6.2.1 leader",
    "upgrade 7.1.0 to 7.3 cluster",
    "what is the meaning of this",
)


def bench_throughput(workdir: Path, rows: int) -> dict[str, float]:
    """Rows per second through `record_query`, until they are all in the file."""
    replies = [answer(q) for q in QUESTIONS]
    path = workdir / "throughput.db"
    log = querylog.QueryLog(path, max_pending=rows + 1)
    if not log.flush(timeout=30):
        raise SystemExit(f"could not open {path}")
    start = time.perf_counter()
    for n in range(rows):
        log.record_query(replies[n % len(replies)], source="slash", elapsed_ms=0.02,
                         team="T1", channel="C1", user=f"U{n % 97}")
    queued = time.perf_counter()
    if not log.flush(timeout=600):
        raise SystemExit("the writer did not finish within 10 minutes")
    done = time.perf_counter()
    log.close()
    written = _count(path)
    if written != rows:
        raise SystemExit(f"wrote {written} rows, expected {rows}")
    return {
        "rows": rows,
        "queue_us": (queued - start) / rows * 1e6,
        "rows_per_s": rows / (done - start),
    }


def bench_latency(workdir: Path, blocks: int, block: int, pause: float) -> dict[str, float]:
    """Answer latency without and with `record_query`, alternating blocks to share any drift."""
    # Room for every row: rows dropped under a flood would spare the writer work it must do.
    log = querylog.QueryLog(workdir / f"latency-{pause}.db", max_pending=blocks * block + 1)
    log.flush(timeout=30)

    def timed(record: bool) -> list[float]:
        samples = []
        for n in range(block):
            text = QUESTIONS[n % len(QUESTIONS)]
            start = time.perf_counter()
            reply = answer(text)
            if record:
                log.record_query(reply, source="slash", elapsed_ms=0.02, user="U1")
            samples.append(time.perf_counter() - start)
            if pause:
                time.sleep(pause)
        return samples

    off: list[float] = []
    on: list[float] = []
    timed(False)  # warm up
    for _ in range(blocks):
        off += timed(False)
        on += timed(True)
    log.close(timeout=60)
    return {
        "off_median": statistics.median(off) * 1e6,
        "on_median": statistics.median(on) * 1e6,
        "off_mean": statistics.fmean(off) * 1e6,
        "on_mean": statistics.fmean(on) * 1e6,
        "off_p99": _p99(off) * 1e6,
        "on_p99": _p99(on) * 1e6,
    }


def generate_log(path: Path, rows: int, days: int = 90) -> float:
    """Fill `path` with `rows` queries over `days` (and a vote on every 50th); seconds taken."""
    start = time.perf_counter()
    db = querylog.connect(path)
    # A generated file: no need to survive a crash while filling it.
    db.execute("PRAGMA synchronous = OFF")
    db.execute("PRAGMA cache_size = -400000")
    rng = random.Random(4)
    outcomes = ["path"] * 70 + ["support"] * 15 + ["help"] * 5 + ["unknown"] * 10
    first = datetime.now(UTC) - timedelta(days=days)
    step = timedelta(days=days) / rows

    def queries() -> Iterator[dict]:
        for n in range(rows):
            major, minor = rng.randint(1, 9), rng.randint(0, 9)
            yield {
                "id": n + 1, "ts": querylog.utc_iso(first + step * n), "source": "slash",
                "team": "T1", "channel": f"C{n % 20}", "user": f"U{n % 500}",
                "text": f"upgrade {major}.{minor}", "intent": rng.choice(
                    ("upgrade", "restore", "backup", "help", "unknown")),
                "from_version": f"{major}.{minor}", "rule": f"rule-{rng.randint(1, 40)}",
                "outcome": rng.choice(outcomes), "verdict": "generated", "elapsed_ms": 0.02,
            }

    def votes() -> Iterator[dict]:
        for n in range(0, rows, 50):
            yield {"query_id": n + 1,
                   "ts": querylog.utc_iso(first + step * n), "helpful": n % 3 != 0,
                   "user": f"U{n % 500}"}

    with db.transaction():
        for table, rows_of in (("queries", queries()), ("feedback", votes())):
            made = [{k: int(v) if isinstance(v, bool) else v for k, v in row.items()}
                    for row in rows_of]
            columns = list(made[0])
            db.executemany(f"INSERT INTO {table} ({', '.join(quote(c) for c in columns)}) "
                           f"VALUES ({', '.join('?' * len(columns))})",
                           [[row[c] for c in columns] for row in made])
    db.close()
    return time.perf_counter() - start


def bench_stats(workdir: Path, rows: int) -> dict[str, float]:
    """Seconds for `stats_text` and for the real `pambot log stats`, over `rows` queries."""
    path = workdir / "stats.db"
    generated = generate_log(path, rows)
    results = {"rows": rows, "generate_s": generated}
    for label, since in (("stats_7d_s", "7d"), ("stats_all_s", "3650d")):
        results[label] = _best(lambda since=since: stats_text(path, since))
    env = {**os.environ, "PAMBOT_DB": str(path)}
    start = time.perf_counter()
    subprocess.run([str(Path(sys.executable).with_name("pambot")), "log", "stats", "--since",
                    "3650d"], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    results["cli_7d_s"] = time.perf_counter() - start
    return results


def _best(call: Callable[[], object], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return min(times)


def _p99(samples: list[float]) -> float:
    return sorted(samples)[int(len(samples) * 0.99)]


def _count(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT count(*) FROM queries").fetchone()[0]
    finally:
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="rows for the write test")
    parser.add_argument("--stats-rows", type=int, default=1_000_000, help="rows for log stats")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="pambot-bench-") as tmp:
        workdir = Path(tmp)
        write = bench_throughput(workdir, args.rows)
        print(f"write: {write['rows']:,} rows through record_query: "
              f"{write['rows_per_s']:,.0f} rows/s into the file, "
              f"{write['queue_us']:.1f} us per call to queue")

        print("\nanswer latency, us       median (off -> on)     mean (off -> on)      "
              "p99 (off -> on)")
        for label, pause, blocks in (("back to back", 0.0, 40), ("paced, 2 ms apart", 0.002, 10)):
            lat = bench_latency(workdir, blocks=blocks, block=500, pause=pause)
            print(f"{label:<22}" + "".join(
                f"{lat[f'off_{k}']:9.1f} ->{lat[f'on_{k}']:7.1f} ({_change(lat, k):+5.1f}%)"
                for k in ("median", "mean", "p99")
            ))

        stats = bench_stats(workdir, args.stats_rows)
        print(f"\nlog stats over {stats['rows']:,} rows (generated in "
              f"{stats['generate_s']:.0f} s):")
        print(f"  stats_text, last 7 days      {stats['stats_7d_s']:.3f} s")
        print(f"  stats_text, whole log        {stats['stats_all_s']:.3f} s")
        print(f"  pambot log stats, whole log  {stats['cli_7d_s']:.3f} s (a process, interpreter "
              "start included)")


def _change(lat: dict[str, float], key: str) -> float:
    return (lat[f"on_{key}"] / lat[f"off_{key}"] - 1) * 100


if __name__ == "__main__":
    main()
