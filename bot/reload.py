"""The rule set in force, and replacing it without downtime (SIGHUP).

`LiveRules.reload()` loads the rule files again and checks them exactly as at start-up. A
set with problems is refused: each problem is logged with its file and line, and the rules
in force stay. A good set replaces the old one whole, between two questions.

`pambot socket` reloads in place on SIGHUP. Under `pambot serve` the gunicorn master
reloads on SIGHUP: if the set checks out, gunicorn starts new workers with it and lets the
old ones finish their requests (its graceful reload), so every worker answers from it and
no request is dropped; if not, nothing changes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from bot import metrics
from rules import RuleFileError, RuleSet

log = logging.getLogger("pambot.rules")


class LiveRules:
    """The rule set in force (`current`) and how to load it again (`load`)."""

    def __init__(self, ruleset: RuleSet, load: Callable[[], RuleSet] | None = None) -> None:
        self.current = ruleset
        self.loaded_at = time.time()
        self._load = load

    @property
    def version(self) -> str:
        return self.current.version

    def publish(self) -> None:
        """Show the rules in force in the metrics (after `metrics.enable()`)."""
        metrics.rules_in_force(self.current.version, self.loaded_at)

    def reload(self) -> bool:
        """Load and check the rule files again; True if the new set is now in force."""
        if self._load is None:
            return False
        old = self.current.version
        try:
            ruleset = self._load()
        except (RuleFileError, OSError) as exc:
            log.error("rules reload refused, rules %s stay in force: %s", old, exc)
            metrics.rules_reload("refused")
            return False
        self.current = ruleset
        self.loaded_at = time.time()
        self.publish()
        metrics.rules_reload("applied")
        log.info("rules reloaded from %s: version %s (was %s)", ruleset.origin,
                 ruleset.version, old)
        return True
