"""Time `pambot rules diff OLD NEW` over a query log of 100,000 logged questions, as a user runs
it: the installed console script, end to end (start-up, loading both rule directories, reading
the log, replaying every distinct question through both, printing). Goal (issue 16): under
10 s for 100,000 logged questions, most of them repeats.

The log is written straight into a real SQLite file: `--distinct` wordings (default 2,000:
the corpus's questions, and the same with the noise people add: a mention, "pls", a ticket
key, shouting), each asked at least once and the rest drawn with a Zipf-like skew, the way a
few questions make most of a real log. A few are a site's jargon ("the pdc is down"), which
NEW's vocabulary reads as the leader. Also times `rules diff --learned` after `pambot learn`
taught the same word. Run by hand:

    python bench/bench_rules_diff.py [--rows 100000] [--distinct 2000]
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from bot import querylog
from rules import answer, default_ruleset

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "rules" / "corpus.yaml"
JARGON = ["the pdc is down", "PDC is down!!", "pdc died overnight, restore steps?",
          "restore the pdc from last night's veeam backup", "is the pdc ok after the upgrade"]
GOAL_S = 10.0


def wordings(count: int, seed: int = 16) -> list[str]:
    """`count` distinct questions: the jargon, the corpus's, then the corpus's with noise."""
    corpus = list(dict.fromkeys(e["q"] for e in yaml.safe_load(CORPUS.read_text("utf-8"))))
    rng = random.Random(seed)
    noisy = [f"<@U0PAMBOT> {q}" for q in corpus] + [f"{q} pls" for q in corpus] + [
        f"{q} (INC-{rng.randint(1000, 9999)})" for q in corpus] + [q.upper() for q in corpus]
    rng.shuffle(noisy)
    return list(dict.fromkeys([*JARGON, *corpus, *noisy]))[:count]


def fill_log(path: Path, rows: int, distinct: int, days: int = 90) -> tuple[int, float]:
    """Write `rows` logged questions to a new query log at `path`; (distinct wordings, s)."""
    start = time.perf_counter()
    asked = wordings(distinct)
    rng = random.Random(7)
    shuffled = asked[:]
    rng.shuffle(shuffled)
    # Every wording once, the rest by rank: the first few make most of the log.
    weights = [1 / (rank + 1) ** 1.1 for rank in range(len(shuffled))]
    texts = asked + rng.choices(shuffled, weights, k=rows - len(asked))
    rng.shuffle(texts)
    ruleset = default_ruleset()
    replies = {text: answer(text, ruleset) for text in asked}
    first = datetime.now(UTC) - timedelta(days=days)
    step = timedelta(days=days) / rows

    def queries() -> Iterator[dict]:
        for n, text in enumerate(texts):
            reply = replies[text]
            yield {"id": n + 1, "ts": querylog.utc_iso(first + step * n),
                   "source": ("slash", "mention", "dm", "cli")[n % 4], "team": "T1",
                   "channel": f"C{n % 20}", "user": f"U{n % 300}", "text": text,
                   "intent": reply.intent, "from_version": reply.from_version,
                   "to_version": reply.to_version, "node": reply.node, "rule": reply.rule,
                   "outcome": reply.outcome, "verdict": reply.verdict, "elapsed_ms": 0.3,
                   "rules_version": ruleset.version}

    db = querylog.connect(path)  # the log's own schema, as pambot makes it
    db.execute("PRAGMA synchronous = OFF")  # a generated file: no crash to survive
    rows = list(queries())
    columns = list(rows[0])
    with db.transaction():
        db.executemany(f"INSERT INTO queries ({', '.join(columns)}) VALUES "
                       f"({', '.join('?' * len(columns))})",
                       [[row[c] for c in columns] for row in rows])
    db.close()
    return len(asked), time.perf_counter() - start


def rule_dirs(pambot: str, workdir: Path, env: dict) -> tuple[Path, Path]:
    """OLD: the packaged rules (`pambot rules init`); NEW: the same, "pdc" read as the leader."""
    old, new = workdir / "rules-old", workdir / "rules-new"
    for directory in (old, new):
        subprocess.run([pambot, "rules", "init", str(directory)], env=env, check=True,
                       stdout=subprocess.DEVNULL)
    vocabulary = new / "vocabulary.yaml"
    text = vocabulary.read_text(encoding="utf-8")
    vocabulary.write_text(text.replace("    leader: [leader, ", "    leader: [pdc, leader, "),
                          encoding="utf-8")
    return old, new


def timed(command: list[str], env: dict, runs: int = 3) -> tuple[float, float, str]:
    """(the first run's seconds, the best of `runs`, what the last printed)."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
        times.append(time.perf_counter() - started)
    return times[0], min(times), result.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--distinct", type=int, default=2_000)
    args = parser.parse_args()
    pambot = str(Path(sys.executable).with_name("pambot"))
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        db = workdir / "pambot.db"
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("SLACK_", "PAMBOT_"))}
        env["PAMBOT_DB"] = str(db)
        distinct, fill_s = fill_log(db, args.rows, args.distinct)
        old, new = rule_dirs(pambot, workdir, env)
        first_s, best_s, out = timed([pambot, "rules", "diff", str(old), str(new)], env)
        subprocess.run([pambot, "learn", "pdc", "node:leader", "--as", "bench"], env=env,
                       check=True, stdout=subprocess.DEVNULL)
        learned_first_s, learned_s, learned_out = timed([pambot, "rules", "diff", "--learned"],
                                                        env)
        start_s, _, _ = timed([pambot, "--version"], env)
    print(f"query log: {args.rows:,} logged questions, {distinct:,} distinct wordings "
          f"(written in {fill_s:.1f} s)")
    print("rules diff OLD NEW says: " + out.splitlines()[0])
    print("                         " + out.splitlines()[1])
    print("rules diff --learned says: " + learned_out.splitlines()[1])
    print(f"{'':34}{'first run':>10}{'best of 3':>11}")
    print(f"{'pambot rules diff OLD NEW':34}{first_s:>10.2f}{best_s:>11.2f}")
    print(f"{'pambot rules diff --learned':34}{learned_first_s:>10.2f}{learned_s:>11.2f}")
    print(f"{'  of which start-up (--version)':34}{start_s:>10.2f}")
    worst = max(first_s, best_s)
    print(f"goal: under {GOAL_S:.0f} s for {args.rows:,} logged questions: "
          + ("met" if worst < GOAL_S else "NOT met") + f" ({worst:.2f} s, the slower run)")


if __name__ == "__main__":
    main()
