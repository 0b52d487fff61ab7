"""The rule types and the lookups over a loaded rule set. Values only: loading and checking
live in rules.load and rules.check."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from rules.vocabulary import Vocabulary

# A bound of a version range: (version, inclusive). None is unbounded.
Bound = tuple[Version, bool] | None


@dataclass(frozen=True)
class Interval:
    """A `from` range as an interval of versions, so a set of them is checked by sorting."""

    low: Bound
    high: Bound

    def overlaps(self, low: Version, high: Version) -> bool:
        """Whether any version from `low` to `high` (both included) is in this interval."""
        if self.low is not None and (high < self.low[0] or (high == self.low[0]
                                                            and not self.low[1])):
            return False
        return self.high is None or low < self.high[0] or (low == self.high[0]
                                                          and self.high[1])


@dataclass(frozen=True)
class Source:
    id: str
    title: str
    url: str | None


@dataclass(frozen=True)
class Settings:
    command: str = "/pam"
    support_contact: str = "Osirium Support"
    docs_url: str | None = None
    examples: tuple[str, ...] = ()
    support_checklist: tuple[Line, ...] = ()


# The situations a restore rule answers: the node restored ("none": not said), the backup on
# hand ("no-vm": said to have no VM level backup, nothing said of another) and the topology
# ("unknown": not said). A rule lists the values it answers for each;
# `pambot rules check` proves that every situation has exactly one rule.
RESTORE_SPACE = {
    "node": ("leader", "follower", "cluster", "none"),
    "backup": ("vm", "pam", "both", "no-vm", "none", "unknown"),
    "topology": ("standalone", "cluster", "unknown"),
}


def situation_key(node: str | None, backup: str | None, topology: str | None) -> tuple:
    """The key of a restore situation. A standalone PAM Server is a leader on its own, so
    a standalone server's restore is the leader's whichever node was (or was not) named."""
    if topology == "standalone" and node in (None, "none", "cluster"):
        node = "leader"
    return ("restore", node or "none", backup or "unknown", topology or "unknown")


@dataclass(frozen=True)
class Line:
    """A step or a warning of a rule, and the topologies it is for (empty: every one)."""

    text: str
    topologies: tuple[str, ...] = ()

    def applies(self, topology: str | None) -> bool:
        return not self.topologies or (topology or "unknown") in self.topologies


@dataclass(frozen=True)
class Rule:
    id: str
    intent: str
    source: str
    outcome: str
    verdict: str
    file: str
    line: int
    from_spec: SpecifierSet | None = None
    to_spec: SpecifierSet | None = None
    interval: Interval | None = None
    # A restore rule's situations (see RESTORE_SPACE); empty: every value.
    nodes: tuple[str, ...] = ()
    backups: tuple[str, ...] = ()
    topologies: tuple[str, ...] = ()
    case: str | None = None
    fallback: bool = False
    row: str | None = None
    # For a table row: the version a "which version are you on?" choice for it asks about.
    example: str | None = None
    # The row answers restores from its versions too ("upgrade or restore ... earlier than 5.2").
    restores: bool = False
    summary: str | None = None
    reason: str | None = None
    steps: tuple[Line, ...] = ()
    warnings: tuple[Line, ...] = ()
    nearest_rows: tuple[str, ...] = ()
    backup_restore_required: bool | None = None
    follower_rebuild: bool = False
    # What happens to the followers in this rule's situation, in one sentence: the answer to
    # "will the followers be ok?" or "what happens to the followers?".
    followers: str | None = None
    # Why what is asked cannot be done, where the documentation says so: the answer to "can
    # we restore the follower from the PAM backup?" ("No: ...").
    not_possible: str | None = None
    # A restore across versions: the id of the table row whose path the restore continues
    # with (a server of the backup's version, the restore, then that row to the target).
    follows: str | None = None
    contact_support: bool = False

    @property
    def situations(self) -> list[tuple]:
        """The questions this rule answers: restore situations, or (intent, case)."""
        if self.intent != "restore" or self.follows is not None:
            return [(self.intent, self.case)]
        return sorted({situation_key(*values) for values in itertools.product(
            *(chosen or RESTORE_SPACE[name] for name, chosen in (
                ("node", self.nodes), ("backup", self.backups), ("topology", self.topologies))))
            if situation_key(*values)[1:] == tuple(values)})

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True, eq=False)
class RuleSet:
    """A complete, validated set of rules. Hashed by identity, so lookups can be cached."""

    settings: Settings
    sources: Mapping[str, Source]
    rules: tuple[Rule, ...]
    vocabulary: Vocabulary = field(default_factory=Vocabulary)
    origin: str = "packaged rules"
    # A content hash of the rule files (their names and bytes): which rules gave an answer.
    version: str = ""
    _by_key: Mapping[tuple, Rule] = field(default_factory=dict, repr=False)

    def rule_for(self, intent: str, *, case: str | None = None) -> Rule:
        """The rule for a question that is neither a version lookup nor a restore."""
        return self._by_key[(intent, case)]

    def restore_rule(self, node: str | None, backup: str | None,
                     topology: str | None) -> Rule:
        """The one rule for a restore situation (None: not said)."""
        return self._by_key[situation_key(node, backup, topology)]

    def across(self, row: Rule) -> Rule | None:
        """The restore-across-versions rule that continues with the path of `row`."""
        return self._by_key.get(("across", row.id))

    @functools.lru_cache(maxsize=4096)  # noqa: B019 - rule sets live for the process
    def upgrade_rule(self, version: Version) -> Rule:
        """The one upgrade rule whose `from` range holds `version` (else the fallback)."""
        fallback = None
        for rule in self.rules:
            if rule.from_spec is not None and rule.from_spec.contains(version, prereleases=True):
                return rule
            if rule.intent == "upgrade" and rule.fallback:
                fallback = rule
        if fallback is None:  # the checker makes this impossible for a loaded set
            raise LookupError(f"no upgrade rule covers {version}")
        return fallback

    def rules_between(self, low: Version, high: Version) -> list[Rule]:
        """The upgrade rules whose `from` range holds some version from `low` to `high`, in
        version order: the rows "6.5" could mean."""
        found = [r for r in self.rules if r.interval is not None and r.interval.overlaps(low, high)]
        return sorted(found, key=lambda r: _low_key(r.interval.low))

    def rows(self) -> list[Rule]:
        """The documented table's rows, in version order."""
        return sorted((r for r in self.rules if r.row and r.interval is not None),
                      key=lambda r: _low_key(r.interval.low), reverse=True)


def _low_key(bound: Bound) -> tuple:
    """Sort key of a lower bound: unbounded first, then by version, inclusive before not."""
    return (0,) if bound is None else (1, bound[0], not bound[1])
