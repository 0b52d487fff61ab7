"""The upgrade paths at a glance: every `from` range of the rules and where it leads.

Generated from the rule data, never written by hand, so a change to the YAML changes the
diagram. Pure: `paths(ruleset)` gives the rows, `render_paths(ruleset)` the text that a
terminal prints and Slack shows in a code block.

    >>> from rules import default_ruleset
    >>> [(p.versions, p.kind) for p in paths(default_ruleset())][3]
    ('6.5.4', 'backup-restore')
"""

from __future__ import annotations

from dataclasses import dataclass

from packaging.version import Version

from rules.check import interval_of
from rules.ruleset import Interval, Rule, RuleSet, _low_key

# What a range leads to, and the arrow the diagram draws for it.
ARROWS = {
    "straight": "-->",
    "backup-restore": "==>",
    "support": "--x",
    "not-in-table": "..x",
}
LEGEND = ("--> straight upgrade     --x contact support (the table's row says so)\n"
          "==> backup and restore   ..x contact support (the table does not cover it)")
# The words that ask for the diagram, wherever pambot takes a question.
PATHS_WORDS = frozenset({"paths", "path diagram", "upgrade paths diagram"})


@dataclass(frozen=True)
class Path:
    """One `from` range of the upgrade rules and where it leads."""

    versions: str  # "v < 5.2", "6.5.4", "7.x"
    target: str  # "7.x", "any version", "" for a support answer
    kind: str  # a key of ARROWS
    path: str  # "backup and restore, followers rebuilt"
    row: str | None  # the documented table row, None where the table says nothing
    rule: str


def is_paths_request(text: str) -> bool:
    """Whether `text` asks for the paths diagram ("paths", "/pam paths")."""
    return " ".join(text.casefold().split()).strip(" ?!.") in PATHS_WORDS


def paths(ruleset: RuleSet) -> list[Path]:
    """The upgrade rules with a `from` range, lowest versions first."""
    ranged = sorted((r for r in ruleset.rules if r.intent == "upgrade" and r.interval),
                    key=lambda r: _low_key(r.interval.low))
    return [_path(rule, ruleset.settings.support_contact) for rule in ranged]


def render_paths(ruleset: RuleSet) -> str:
    """The diagram as aligned plain text, a legend under it."""
    rows = paths(ruleset)
    table = [("from version", "", "to", "path", "table row")] + [
        (p.versions, ARROWS[p.kind], p.target or "-", p.path, p.row or "(not in the table)")
        for p in rows
    ]
    widths = [max(len(line[i]) for line in table) for i in range(4)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=False))
             + "  " + line[4] for line in table]
    return "\n".join([f"Upgrade paths in {ruleset.origin}, where each version leads:", "",
                      *(line.rstrip() for line in lines), "", LEGEND])


def _path(rule: Rule, support_contact: str) -> Path:
    if rule.contact_support:
        kind = "support" if rule.row else "not-in-table"
        path, target = f"contact {support_contact}", ""
    else:
        kind = "backup-restore" if rule.backup_restore_required else "straight"
        target_range = interval_of(rule.to_spec) if rule.to_spec is not None else None
        target = describe(target_range) if target_range else "any version"
        if rule.backup_restore_required:
            path = "backup and restore" + (", followers rebuilt" if rule.follower_rebuild
                                           else "")
        elif rule.backup_restore_required is False:
            path = "straight upgrade"
        else:
            path = rule.verdict
    return Path(describe(rule.interval), target, kind, path, rule.row, rule.id)


def describe(interval: Interval) -> str:
    """A range of versions, short: "v < 5.2", "5.2 <= v <= 6.1.4", "6.5.4", "7.x".

    >>> describe(Interval((Version("7.0"), True), (Version("8.0"), False)))
    '7.x'
    """
    low, high = interval.low, interval.high
    if low is not None and high is not None:
        if low == high and low[1]:
            return str(low[0])
        major = low[0].release[0]
        if low[1] and not high[1] and low[0] == Version(str(major)) \
                and high[0] == Version(str(major + 1)):
            return f"{major}.x"
    if high is None:
        return "any version" if low is None else f"v {'>=' if low[1] else '>'} {low[0]}"
    upper = f"v {'<=' if high[1] else '<'} {high[0]}"
    return upper if low is None else f"{low[0]} {'<=' if low[1] else '<'} {upper}"
