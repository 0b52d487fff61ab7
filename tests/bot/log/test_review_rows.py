"""What `pambot log review` and the admin's Home put up for review, read from a real query
log on each backend: not understood (unless its "Did you mean" was taken), asked back in
Slack with no choice picked, voted not helpful."""

from __future__ import annotations

from datetime import datetime

from bot.querylog import QueryLog, StateStore, open_existing, utc_iso
from bot.querylog.read import review_rows
from bot.querylog.threads import Threads
from bot.teaching import review_groups
from rules import answer, default_ruleset

RULES = default_ruleset()
SINCE = utc_iso(datetime(2000, 1, 1))


def asked(log: QueryLog, text: str, source: str = "slash") -> str:
    return str(log.record_query(answer(text, RULES), source=source, elapsed_ms=1.0))


def reviewed(target: str) -> dict[str, list[str]]:
    db = open_existing(target)
    try:
        rows = review_rows(db, SINCE)
    finally:
        db.close()
    return {g["question"]: g["why"] for g in review_groups(rows, RULES)}


def test_what_is_up_for_review_and_why_on_each_backend(target):
    log = QueryLog(target)
    threads = Threads(StateStore(target))
    try:
        asked(log, "the pdc is down")                        # not understood
        picked = asked(log, "restore")                       # asked back, then picked
        threads.link(asked(log, "restore leader", "button"), picked, "choice")
        asked(log, "upgrade")                                # asked back, nobody picked
        asked(log, "upgrad 6.5.4")                           # "Did you mean", not taken
        taken = asked(log, "restor lader")                   # "Did you mean", taken
        threads.link(asked(log, "restore leader", "button"), taken, "suggestion")
        voted = asked(log, "backup")
        log.record_feedback(voted, helpful=False, user="U1")
        liked = asked(log, "upgrade 6.5.4")
        log.record_feedback(liked, helpful=True, user="U1")
        asked(log, "restore", source="cli")                  # the command line cannot pick
        assert log.flush()
    finally:
        log.close()
        threads.store.close()
    found = reviewed(target)
    assert found["the pdc is down"] == ["not understood"]
    assert found["backup"] == ["voted not helpful"]
    assert found["upgrade"] == ["asked back, no choice picked"]
    assert "restore" not in found and "upgrade 6.5.4" not in found
    assert "restor lader" not in found
    assert found.get("upgrad 6.5.4") == ["did you mean, not taken"], found
