"""The rule set in force, and replacing it without downtime (SIGHUP).

`LiveRules.reload()` loads the rule files again and checks them exactly as at start-up. A
set with problems is refused: each problem is logged with its file and line, and the rules
in force stay. A good set replaces the old one whole, between two questions.

Phrases a site taught pambot (`pambot learn`) are merged over the rule files' vocabulary:
every process looks for new ones at most every `LEARNED_CHECK_S` seconds, between two
questions, so a phrase taught on one machine is read on every one without a restart.

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
from bot.querylog.state import StateUnavailable
from rules import RuleFileError, RuleSet
from rules.learning import learned_ruleset

log = logging.getLogger("pambot.rules")
# How often a running process looks for phrases taught since (one cheap query).
LEARNED_CHECK_S = 5.0


class LiveRules:
    """The rule set in force (`current`), how to load it again (`load`), and the learned
    phrases merged over it (`learned`, a `bot.querylog.learned.LearnedPhrases`)."""

    def __init__(self, ruleset: RuleSet, load: Callable[[], RuleSet] | None = None, *,
                 learned=None) -> None:
        self.base = ruleset
        self._current = ruleset
        self.loaded_at = time.time()
        self._load = load
        self._learned = learned
        self._fingerprint: tuple | None = None
        self._next_check = 0.0
        self._refused: tuple | None = None

    @property
    def current(self) -> RuleSet:
        """The rules in force, with the phrases taught so far."""
        if self._learned is not None and time.monotonic() >= self._next_check:
            self._next_check = time.monotonic() + LEARNED_CHECK_S
            self.refresh()
        return self._current

    @property
    def learned(self):
        """The learned phrases merged over the rules (None: none are)."""
        return self._learned

    def watch(self, learned) -> None:
        """Merge the phrases of `learned` over the rules, and keep looking for new ones."""
        self._learned, self._fingerprint, self._next_check = learned, None, 0.0

    def refresh(self) -> None:
        """Merge the learned phrases again if they changed since the last look."""
        try:
            fingerprint = self._learned.fingerprint()
            if fingerprint == self._fingerprint:
                return
            pairs = [(p.phrase, p.meaning) for p in self._learned.all()]
        except StateUnavailable:
            return  # the file cannot be read now: the rules in force stay
        try:
            self._current = learned_ruleset(self.base, pairs)
        except RuleFileError as exc:
            if fingerprint != self._refused:
                self._refused = fingerprint
                log.error("learned phrases refused, rules %s stay in force: %s",
                          self._current.version, exc)
            return
        self._fingerprint = fingerprint
        if pairs:
            log.info("rules %s: %d learned phrase(s) merged", self._current.version,
                     len(pairs))

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
        self.base = self._current = ruleset
        self._fingerprint = None
        if self._learned is not None:
            self.refresh()
        self.loaded_at = time.time()
        self.publish()
        metrics.rules_reload("applied")
        log.info("rules reloaded from %s: version %s (was %s)", ruleset.origin,
                 ruleset.version, old)
        return True
