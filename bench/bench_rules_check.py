"""How long `pambot rules check` takes as the rule files grow: the packaged rules plus N
extra version-range rows (8.0.1, 8.0.2, ...). The check sorts the ranges, so the time grows
as N log N, not N squared. Run by hand:

    python bench/bench_rules_check.py [--rows 800]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from rules import check_rules
from rules.load import packaged_rules_dir

ROW = """  - id: patch-8.0.{n}
    intent: upgrade
    from: ">=8.0.{n},<8.0.{next}"
    source: restoring-table
    outcome: support
    verdict: Contact
    contact_support: true
    reason: Not in the documented table.
"""


def rules_with(rows: int, folder: Path) -> Path:
    target = folder / "rules"
    shutil.copytree(packaged_rules_dir(), target)
    upgrade = target / "upgrade.yaml"
    upgrade.write_text(upgrade.read_text().replace('from: ">=8.0"', 'from: ">=8.0,<8.0.1"'))
    extra = "".join(ROW.format(n=n, next=n + 1) for n in range(1, rows))
    last = ROW.format(n=rows, next=rows + 1).replace(f',<8.0.{rows + 1}"', '"')
    (target / "many.yaml").write_text("rules:\n" + extra + last)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=800)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for rows in (args.rows // 4, args.rows // 2, args.rows):
            path = rules_with(rows, Path(tmp) / str(rows))
            started = time.perf_counter()
            problems = check_rules(path)
            elapsed = time.perf_counter() - started
            assert problems == [], problems[:3]
            print(f"{rows:6} extra rows: {elapsed:.3f} s")


if __name__ == "__main__":
    main()
