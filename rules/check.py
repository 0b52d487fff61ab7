"""Checks over a whole rule set: every question the reader can produce has exactly one rule,
every restore situation (node, backup on hand, topology) exactly one rule, every version
exactly one upgrade row, and every path row one rule for restores across versions. Each
problem names the file and line."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from packaging.version import Version

from rules.ruleset import RESTORE_SPACE, Bound, Interval, Rule, _low_key, situation_key
from rules.vocabulary import Vocabulary

# Upgrade questions that the `from` ranges cannot answer alone.
UPGRADE_CASES = ("no-version", "which-release", "which-release-support",
                 "target-not-covered", "target-not-newer")
# Fact questions the documentation does not answer, beyond the vocabulary's own kinds.
NOT_DOCUMENTED = "not-documented"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a rule file, where it is, and what."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}"


def describe(key: tuple) -> str:
    """A question key as `rules check` names it: "restore (node: leader, backup: vm,
    topology: unknown)", "fact (case: ports)"."""
    if key[0] == "restore":
        return "restore (" + ", ".join(f"{name}: {value}" for name, value in
                                       zip(RESTORE_SPACE, key[1:], strict=True)) + ")"
    if key[0] == "across":
        return f"restores across versions from row rule {key[1]!r}"
    return key[0] + (f" (case: {key[1]})" if key[1] else "")


def check_whole_set(rules: list[Rule], sources: dict, vocabulary: Vocabulary,
                    settings_file: str | None) -> tuple[dict[tuple, Rule], list[Problem]]:
    """The rules that answer each question (keyed as `Rule.situations` names them), and
    every problem."""
    problems: list[Problem] = []
    where = settings_file or "rules"
    if settings_file is None:
        problems.append(Problem("the rule files", None, "no 'settings' section in any rule file"))
    ids: dict[str, Rule] = {}
    by_id = {r.id: r for r in rules}
    keys: dict[tuple, Rule] = {}
    rows = {r.row for r in rules if r.row}
    for rule in rules:

        def say(message: str, rule: Rule = rule) -> None:
            problems.append(Problem(rule.file, rule.line, message))

        if rule.id in ids:
            say(f"rule {rule.id!r} is already defined at {ids[rule.id].where}")
        ids[rule.id] = rule
        if rule.source not in sources:
            say(f"rule {rule.id!r} cites unknown source {rule.source!r}")
        for row in rule.nearest_rows:
            if row not in rows:
                say(f"rule {rule.id!r}: nearest row {row!r} is no rule's row")
        for message in _shape(rule, vocabulary):
            say(message)
        if rule.from_spec is None and not rule.fallback:
            if rule.follows is not None:
                followed = by_id.get(rule.follows)
                if followed is None or followed.outcome != "path" or followed.to_spec is None:
                    say(f"rule {rule.id!r}: follows {rule.follows!r}, which is not an upgrade "
                        "row with a path ('from', 'to' and outcome path)")
                    continue
            for key in ([("across", rule.follows)] if rule.follows else rule.situations):
                if key in keys and keys[key] is not rule:
                    say(f"rules {keys[key].id!r} ({keys[key].where}) and {rule.id!r} both "
                        f"answer {describe(key)}")
                keys[key] = rule
    problems += _missing(keys, rules, vocabulary, where)
    problems += _version_space(rules)
    return keys, problems


def _shape(rule: Rule, vocabulary: Vocabulary) -> list[str]:
    """Keys that only make sense for some intents."""
    name = f"rule {rule.id!r}"
    found = []
    if rule.intent != "upgrade" and (rule.from_spec or rule.to_spec or rule.fallback):
        found.append(f"{name}: from, to and fallback are for upgrade rules only")
    if rule.intent != "restore" and (rule.nodes or rule.backups or rule.topologies
                                     or rule.follows):
        found.append(f"{name}: node, backup, topology and follows are for restore rules only")
    if rule.follows and (rule.nodes or rule.backups or rule.topologies):
        found.append(f"{name}: a restore across versions (follows) answers every node, backup "
                     "and topology")
    cases = {"upgrade": UPGRADE_CASES,
             "fact": (*vocabulary.topics, *vocabulary.undocumented, NOT_DOCUMENTED)
             }.get(rule.intent, ())
    if rule.case is not None and rule.case not in cases:
        found.append(f"{name}: case {rule.case!r} is not one of "
                     f"{', '.join(cases) or 'nothing (no cases for this intent)'}")
    if rule.intent == "fact" and rule.case is None:
        found.append(f"{name}: a fact rule needs a case: a vocabulary topic or not-documented")
    if rule.intent == "fact" and rule.case is not None and (
            rule.case in vocabulary.undocumented or rule.case == NOT_DOCUMENTED) \
            and rule.outcome != "support":
        found.append(f"{name}: case {rule.case!r} is something the documentation does not "
                     "say: its outcome must be support")
    if rule.to_spec is not None and rule.from_spec is None:
        found.append(f"{name}: 'to' needs a 'from' range")
    if rule.contact_support != (rule.outcome == "support"):
        found.append(f"{name}: contact_support must be true exactly when outcome is support")
    if rule.contact_support and not rule.reason:
        found.append(f"{name}: a support answer needs a reason saying why")
    if rule.example is not None and rule.from_spec is not None:
        try:
            inside = rule.from_spec.contains(Version(rule.example), prereleases=True)
        except ValueError:
            inside = False
        if not inside:
            found.append(f"{name}: example {rule.example!r} is not in its from range")
    if (rule.example is None) != (rule.row is None) and rule.from_spec is not None:
        found.append(f"{name}: a table row needs an example version, and only a row has one")
    if rule.restores and rule.from_spec is None:
        found.append(f"{name}: restores is for rules with a from range")
    return found


def _missing(keys: dict[tuple, Rule], rules: list[Rule], vocabulary: Vocabulary,
             where: str) -> list[Problem]:
    """Every question the reader can produce has a rule: each upgrade case, each restore
    situation, each fact topic, each path row's restores across versions."""
    needed = [("upgrade", case) for case in UPGRADE_CASES]
    needed += sorted({situation_key(*values) for values in
                      itertools.product(*RESTORE_SPACE.values())})
    needed += [("fact", case) for case in
               (*vocabulary.topics, *vocabulary.undocumented, NOT_DOCUMENTED)]
    needed += [(intent, None) for intent in ("backup", "help", "unknown")]
    needed += [("across", r.id) for r in rules if r.outcome == "path" and r.to_spec is not None]
    return [Problem(where, None, f"no rule answers {describe(key)}")
            for key in needed if key not in keys]


def _version_space(rules: list[Rule]) -> list[Problem]:
    """Each version is claimed by exactly one upgrade `from` range, or by the fallback.

    The ranges are intervals: sorted by their lower bound, each must start where the ones
    before it reach, no earlier (an overlap) and no later (a gap). n log n in the rules.
    """
    ranged = sorted((r for r in rules if r.interval is not None),
                    key=lambda r: _low_key(r.interval.low))
    fallbacks = [r for r in rules if r.fallback]
    problems = [Problem(extra.file, extra.line, f"rule {extra.id!r}: only one upgrade fallback "
                        f"is allowed (another at {fallbacks[0].where})")
                for extra in fallbacks[1:]]
    if not ranged:
        if not fallbacks:
            problems.append(Problem("rules", None,
                                    "no upgrade rule has a 'from' version range"))
        return problems
    gaps: list[str] = []
    first = ranged[0].interval.low
    if first is not None:
        gaps.append(f"below {first[0]}")
    reach: Bound = ranged[0].interval.high
    owner = ranged[0]
    for rule in ranged[1:]:
        low = rule.interval.low
        if reach is None or low is None or _before(low, reach):
            claimed = "below" if low is None else ("" if low[1] else "above ")
            version = "" if low is None else str(low[0])
            problems.append(Problem(rule.file, rule.line, f"rules {owner.id!r} ({owner.where}) "
                                    f"and {rule.id!r} both claim version"
                                    f"{'s' if claimed else ''} {claimed}{version}".rstrip()))
        elif low[0] > reach[0] or (low[0] == reach[0] and not low[1] and not reach[1]):
            gaps.append(str(reach[0]) if not reach[1] else f"between {reach[0]} and {low[0]}")
        if _further(rule.interval.high, reach):
            reach, owner = rule.interval.high, rule
    if reach is not None:
        gaps.append(f"{reach[0]}" + (" and above" if not reach[1] else " (above it)"))
    if gaps and not fallbacks:
        problems.append(Problem("rules", None, f"no upgrade rule covers version {gaps[0]} (a gap "
                                "in the version ranges, and no rule has 'fallback: true')"))
    return problems


def _before(low: tuple[Version, bool], reach: tuple[Version, bool]) -> bool:
    """Whether an interval starting at `low` begins inside what `reach` already covers."""
    return low[0] < reach[0] or (low[0] == reach[0] and low[1] and reach[1])


def _further(high: Bound, reach: Bound) -> bool:
    """Whether an upper bound reaches past another."""
    if reach is None:
        return False
    if high is None:
        return True
    return high[0] > reach[0] or (high[0] == reach[0] and high[1] and not reach[1])


def interval_of(spec) -> Interval | None:
    """A specifier set of >=, >, <=, <, == clauses as one interval; None for other shapes."""
    low: Bound = None
    high: Bound = None
    for item in spec:
        operator, text = item.operator, item.version
        if operator not in (">=", ">", "<=", "<", "==") or "*" in text:
            return None
        version = Version(text)
        if operator in (">=", ">", "=="):
            bound = (version, operator != ">")
            if low is None or _low_key(bound) > _low_key(low):
                low = bound
        if operator in ("<=", "<", "=="):
            bound = (version, operator != "<")
            if high is None or _further(high, bound):
                high = bound
    return Interval(low, high)


def is_empty(interval: Interval) -> bool:
    """Whether no version lies in the interval."""
    if interval.low is None or interval.high is None:
        return False
    low, high = interval.low, interval.high
    return low[0] > high[0] or (low[0] == high[0] and not (low[1] and high[1]))
