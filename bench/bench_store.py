"""What the database costs on the answer's path, per call, on a SQLite file and on PostgreSQL.

    python bench/bench_store.py --postgres postgresql://USER:PASS@127.0.0.1:5432/DB [--count 3000]

An @mention's answer waits on four calls: claiming its Slack event, recalling its thread,
remembering the thread, finishing the claim (the query log's row is written in the
background). Each is timed here through pambot's own classes (`QueryLog.claim_event`,
`Threads`), one after another from one thread, on a file in a temporary directory and on
the PostgreSQL database given (a database of its own: the benchmark writes to it). Reports
the median and p99 of each call in microseconds, and the claim's round trip (claim plus
finish) on both in one run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

MAX_COUNT = 20_000


def timed(call: Callable[[int], object], count: int) -> list[float]:
    times = []
    for n in range(count):
        started = time.perf_counter()
        call(n)
        times.append(time.perf_counter() - started)
    return times


def measure(target: str, count: int) -> dict[str, list[float]]:
    from bot.querylog import QueryLog, StateStore, Threads

    run = uuid.uuid4().hex[:8]
    log = QueryLog(target)
    state = StateStore(target)
    threads = Threads(state)
    try:
        log.flush()
        threads.recall("C0WARM", "1.1")  # warm up: connections, schema, caches
        for n in range(50):
            log.claim_event(f"warm-{run}-{n}")
        figures = {
            "claim": timed(lambda n: log.claim_event(f"Ev{run}-{n}"), count),
            "recall thread": timed(lambda n: threads.recall("C0BENCH", f"{n}.1"), count),
            "remember thread": timed(lambda n: threads.remember(
                "C0BENCH", f"{n}.1", {"intent": "upgrade", "from_version": "6.5.4"},
                query_id=str(n)), count),
            "finish claim": timed(lambda n: log.finish_event(f"Ev{run}-{n}", answered=True),
                                  count),
        }
        figures["claim round trip"] = [a + b for a, b in zip(figures["claim"],
                                                             figures["finish claim"],
                                                             strict=True)]
        return figures
    finally:
        log.close()
        state.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", metavar="URL", required=True)
    parser.add_argument("--count", type=int, default=3000, help="calls of each kind (3000)")
    args = parser.parse_args(argv)
    count = max(10, min(args.count, MAX_COUNT))
    with tempfile.TemporaryDirectory(prefix="pambot-bench-") as tmp:
        results = {"SQLite": measure(str(Path(tmp) / "bench.db"), count),
                   "PostgreSQL": measure(args.postgres, count)}
    print(f"{count} calls of each kind, one after another, {sys.platform}")
    print(f"{'call':<20}{'SQLite p50':>12}{'p99':>8}{'PostgreSQL p50':>16}{'p99':>8}   (µs)")
    for call in results["SQLite"]:
        row = []
        for backend in ("SQLite", "PostgreSQL"):
            times = sorted(results[backend][call])
            row += [statistics.median(times) * 1e6, times[int(0.99 * (len(times) - 1))] * 1e6]
        print(f"{call:<20}{row[0]:>12.0f}{row[1]:>8.0f}{row[2]:>16.0f}{row[3]:>8.0f}")
    per_answer = {backend: sum(statistics.median(results[backend][c]) for c in
                               ("claim", "recall thread", "remember thread", "finish claim"))
                  for backend in results}
    print(f"the four calls of an answer, medians added: SQLite {per_answer['SQLite'] * 1e3:.2f} "
          f"ms, PostgreSQL {per_answer['PostgreSQL'] * 1e3:.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
