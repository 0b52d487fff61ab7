"""Pipe 20,000+ mixed questions through one `pambot ask --json` process.

Reports answers per second next to a bare Python loop that only reads lines and
writes one JSON object per line (the floor for any line-in, JSON-out tool), and what one
question costs the engine. Goal: with --distinct (no cache can help), under 0.3 ms per
question in the engine. (The former goal of 3x the bare loop is retired: start-up plus
writing each row is 3.2x on its own; this stays a guard against regressions.) Run by hand:

    python bench/bench_ask.py [--count 20000] [--distinct]
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

QUESTIONS = [
    "upgrade {v}", "Upgrade v{v}?", "upgrade from {v} to 7.1", "upgrade to 7.2 from {v}",
    "{v} -> 7.x", "we're on PAM {v}, what's the path to 7?", "<@U0LAN0Z89> *upgrade* `{v}`",
    "restore leader", "leader is down, need to restore", "restore follower",
    "follower node died", "restore", "backup", "help", "", "upgarde {v}", "what's for lunch",
    # The way people write in incident threads (tests/rules/corpus.yaml has hundreds more).
    "do we need a backup going from {v} to 7.1?", "restoring our {v} backup onto a 7.2 box",
    "we need to upgrade {v} on 10.0.0.5 tonight at 22.00 (PAM-4821)",
    "leader VM was deleted. also what's the path from {v} to 7?",
    "correction: we're on {v} not 6.1.4", "two clusters, one on {v} and one on 7.1",
    "if we restore the PAM backup file what happens to the followers?",
    "what's the latest 7.x?", "are session recordings in the backup?",
    # Situations (issue 13): what they have, what they run, what they ask.
    "leader vm died, we have a veeam backup of it. will the followers be ok?",
    "the primary is toast and we only have the pam backup file, no vm snapshots",
    "our standalone server died on {v}, we have the osirium backup and the MEK",
    "restore a {v} backup onto a fresh 7.5.3 server", "can we roll back if {v} -> 7.4 fails?",
    "we are on {v} and want to go to PAM 8. is a straight update possible?",
]
VERSIONS = ["6.5.4", "7.0.0", "7.1", "6.1.4", "5.1.9", "6.5.5", "8.0", "7.9.9", "6.3"]

ECHO_LOOP = (
    "import sys\n"
    "for line in sys.stdin:\n"
    "    sys.stdout.write(line)\n"
)
BARE_LOOP = (
    "import json, sys\n"
    "for line in sys.stdin:\n"
    "    sys.stdout.write(json.dumps({'query': line.rstrip('\\n')}) + '\\n')\n"
)


def questions(count: int, seed: int = 7, distinct: bool = False) -> list[str]:
    """`count` questions; with `distinct`, each carries its own ticket key (which changes no
    answer), so no cache can help: the cost of reading every question afresh."""
    rng = random.Random(seed)
    picked = [rng.choice(QUESTIONS).format(v=rng.choice(VERSIONS)) for _ in range(count)]
    return [f"{q} INC-{n}" for n, q in enumerate(picked)] if distinct else picked


def timed(command: list[str], stdin_path: Path, env: dict, runs: int = 3) -> tuple[float, bytes]:
    """The best wall time of `runs` runs of `command` (the machine's noise only ever adds), and
    what it printed."""
    best = float("inf")
    for _ in range(runs):
        with stdin_path.open() as stdin:
            started = time.perf_counter()
            result = subprocess.run(command, stdin=stdin, capture_output=True, env=env,
                                    check=True)
            best = min(best, time.perf_counter() - started)
    return best, result.stdout


def engine_only(lines: list[str]) -> float:
    """Seconds for the same answers in this process with the query log off: the engine's share."""
    from bot.ask import answer_lines
    from rules import default_ruleset

    ruleset = default_ruleset()
    with open(os.devnull, "w") as out:
        answer_lines(lines[:200], ruleset, out, as_json=True, source="cli")  # warm up
        started = time.perf_counter()
        answer_lines(lines, ruleset, out, as_json=True, source="cli")
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--distinct", action="store_true",
                        help="make every question unique (no repeats for caches to reuse)")
    args = parser.parse_args()
    pambot = str(Path(sys.executable).with_name("pambot"))
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "questions.txt"
        lines = questions(args.count, distinct=args.distinct)
        source.write_text("\n".join(lines) + "\n")
        env = {**os.environ, "PAMBOT_DB": str(Path(tmp) / "bench.db")}
        for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"):
            env.pop(name, None)
        bare_s, bare_out = timed([sys.executable, "-c", BARE_LOOP], source, env)
        ask_s, ask_out = timed([pambot, "ask", "--json"], source, env)
        start_s, _ = timed([pambot, "ask", "--json"], Path(os.devnull), env)
        # The answers are far longer than the bare loop's lines: the same loop printing
        # pambot's own output is the floor for any tool that prints them.
        answers = Path(tmp) / "answers.jsonl"
        answers.write_bytes(ask_out)
        echo_s, _ = timed([sys.executable, "-c", ECHO_LOOP], answers, env)
        engine_s = engine_only([line + "\n" for line in lines])
    bare_n, ask_n = bare_out.count(b"\n"), ask_out.count(b"\n")
    assert bare_n == ask_n == args.count, (bare_n, ask_n)
    print(f"questions: {args.count} (pambot prints {len(ask_out) / 1e6:.0f} MB of answers, "
          f"the bare loop {len(bare_out) / 1e6:.1f} MB)")
    print(f"{'':28}{'seconds':>10}{'answers/s':>12}   (best of 3 runs)")
    print(f"{'bare read+json loop':28}{bare_s:>10.3f}{bare_n / bare_s:>12,.0f}")
    print(f"{'bare loop, pambot output':28}{echo_s:>10.3f}{ask_n / echo_s:>12,.0f}")
    print(f"{'pambot ask --json':28}{ask_s:>10.3f}{ask_n / ask_s:>12,.0f}")
    print(f"{'  of which start-up':28}{start_s:>10.3f}")
    print(f"{'  engine only, no log':28}{engine_s:>10.3f}{args.count / engine_s:>12,.0f}"
          "   (in this process: parse, rules, JSON)")
    print(f"ratio pambot/bare (wall time):      {ask_s / bare_s:.2f}x (goal: within 3x)")
    print(f"ratio pambot/bare with its output:  {ask_s / echo_s:.2f}x")
    print(f"ratio engine only/bare:             {engine_s / bare_s:.2f}x")
    print(f"engine per question:                {engine_s / args.count * 1000:.3f} ms"
          + ("  (goal with --distinct: under 0.3 ms)" if args.distinct else ""))


if __name__ == "__main__":
    main()
