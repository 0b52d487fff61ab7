"""Answer questions from a rule set. Pure functions, no I/O.

    >>> answer("upgrade 6.5.4").rule
    'upgrade-6.5.4'
    >>> [a.rule for a in answer("leader died. also 6.5.4 -> 7?").also]
    ['upgrade-6.5.4']
"""

from __future__ import annotations

import functools
from dataclasses import replace

from packaging.version import InvalidVersion, Version

from rules.load import default_ruleset
from rules.model import Answer, Choice, Query
from rules.parse import parse_message
from rules.ruleset import Rule, RuleSet
from rules.text import render_text

# The highest release component anyone will type: "7.x" spans 7.0 up to 7.<this>.
_TOP = "99999999"
# The options of "which node failed?", each with the question it stands for.
_NODE_CHOICES = (("leader", "restore leader"), ("follower", "restore follower"),
                 ("whole cluster", "restore cluster"))


def answer(text: str, ruleset: RuleSet | None = None) -> Answer:
    """Answer one message: its main question, with the others in `also`. Never raises."""
    ruleset = ruleset or default_ruleset()
    first, *others = parse_message(text, ruleset.vocabulary).queries
    main = evaluate(first, ruleset)
    if not others:
        return main
    return main.with_query(text, also=tuple(evaluate(q, ruleset) for q in others))


def evaluate(query: Query, ruleset: RuleSet | None = None) -> Answer:
    """The answer to one parsed question, from the one rule that covers it."""
    ruleset = ruleset or default_ruleset()
    template = _answer_for(ruleset, query.intent, query.from_version, query.to_version,
                           query.node, query.case, query.excluded, query.suggestion)
    return template.with_query(query.text)


@functools.lru_cache(maxsize=8192)
def _answer_for(ruleset: RuleSet, intent: str, from_version: str | None,
                to_version: str | None, node: str | None, case: str | None,
                excluded: tuple[str, ...], suggestion: str | None) -> Answer:
    """Everything of an answer but the question text; cached, since people ask the same things."""
    nearest: tuple[str, ...] = ()
    if intent == "upgrade" or (intent == "restore" and from_version and to_version):
        rule, nearest = _upgrade_rule(ruleset, from_version, to_version, excluded)
    elif intent == "restore":
        rule = _restore_rule(ruleset, from_version, node, case)
    elif intent == "fact":
        rule = ruleset.rule_for("fact", case=case)
    else:
        rule = ruleset.rule_for(intent)
    nearest = nearest or rule.nearest_rows
    settings = ruleset.settings
    values = {
        "from_version": from_version or "(not given)",
        "to_version": to_version or "the latest 7.x",
        "node": node or "(not given)",
        "command": settings.command,
        "support_contact": settings.support_contact,
        "docs_url": settings.docs_url or "(no documentation link set)",
        "nearest_rows": " and ".join(f'"{row}"' for row in nearest) or "(none)",
    }

    def fill(text: str | None) -> str | None:
        return None if text is None else text.format_map(values)

    source = ruleset.sources[rule.source]
    source_text = source.title + (f', row "{rule.row}"' if rule.row else "")
    result = Answer(
        query="",
        intent=intent,
        from_version=from_version,
        to_version=to_version,
        node=node,
        rule=rule.id,
        source=source_text,
        source_url=source.url,
        outcome=rule.outcome,
        verdict=fill(rule.verdict),
        summary=fill(rule.summary),
        backup_restore_required=rule.backup_restore_required,
        follower_rebuild=rule.follower_rebuild,
        contact_support=rule.contact_support,
        steps=tuple(fill(step) for step in rule.steps),
        warnings=tuple(fill(warning) for warning in rule.warnings),
        reason=fill(rule.reason),
        support_checklist=settings.support_checklist if rule.contact_support else (),
        suggestion=suggestion,
        choices=_choices(ruleset, rule, from_version, to_version),
    )
    return replace(result, text=render_text(result, settings.support_contact))


def _restore_rule(ruleset: RuleSet, version: str | None, node: str | None,
                  case: str | None) -> Rule:
    """A restore: from a version whose row covers restores too (earlier than 5.2), else by
    the node that failed, else by the backup being restored, else "which node?"."""
    span = _release_span(version) if version else None
    if span is not None:
        rows = ruleset.rules_between(*span)
        if rows and all(row.restores for row in rows):
            return rows[0]
    if case is not None:
        return ruleset.rule_for("restore", case=case)
    return ruleset.rule_for("restore", node=node)


def _upgrade_rule(ruleset: RuleSet, from_version: str | None, to_version: str | None,
                  excluded: tuple[str, ...] = ()) -> tuple[Rule, tuple[str, ...]]:
    """The rule for an upgrade question, and the documented rows to name where none applies."""
    if from_version is None:
        return ruleset.rule_for("upgrade", case="no-version"), ()
    span = _span(from_version)
    release = _release_span(from_version)
    if span is None or release is None:  # both or neither: the same version text
        return ruleset.rule_for("upgrade", case="no-version"), ()
    low, high = span
    candidates = ruleset.rules_between(*release)
    if len(candidates) > 1:
        # "6.5" is some 6.5 release: only the one the person is on can say which row.
        remaining = [r for r in candidates if not any(_holds(r, v) for v in excluded)]
        if len(remaining) == 1 or (remaining and excluded
                                   and all(r.contact_support for r in remaining)):
            candidates = remaining[:1]
        else:
            return ruleset.rule_for("upgrade", case="which-release"), ()
    rule = candidates[0] if candidates else ruleset.upgrade_rule(low)
    if to_version is None or rule.contact_support:
        return rule, ()
    target = _span(to_version)
    if target is None:
        return ruleset.rule_for("upgrade", case="no-version"), ()
    if target[1] <= low or (low == high and target[1] <= high):
        return ruleset.rule_for("upgrade", case="target-not-newer"), ()
    if rule.to_spec is not None and not all(
        rule.to_spec.contains(v, prereleases=True) for v in target
    ):
        nearest = (rule.row,) if rule.row else ()
        return ruleset.rule_for("upgrade", case="target-not-covered"), nearest
    return rule, ()


def _choices(ruleset: RuleSet, rule: Rule, from_version: str | None,
             to_version: str | None) -> tuple[Choice, ...]:
    """The options of a clarifying answer, each with the whole question it stands for."""
    if rule.outcome != "clarify":
        return ()
    target = f" to {to_version}" if to_version else ""
    if rule.intent == "restore":
        where = f" on {from_version}" if from_version else ""
        return tuple(Choice(label, question + where) for label, question in _NODE_CHOICES)
    if rule.case == "which-release" and from_version:
        span = _release_span(from_version)
        rows = ruleset.rules_between(*span) if span else []
        choices = [Choice(r.row, f"upgrade {r.example}{target}") for r in rows if r.row]
        if any(not r.row for r in rows):
            base = from_version.removesuffix(".x")
            unless = "".join(f" not {r.example}" for r in rows if r.row)
            choices.append(Choice(f"another {base}.x", f"upgrade {base}.x{unless}{target}"))
        return tuple(choices)
    return tuple(Choice(r.row, f"upgrade {r.example}{target}") for r in ruleset.rows())


def _holds(rule: Rule, version: str) -> bool:
    span = _release_span(version)
    return span is not None and rule.interval is not None and rule.interval.overlaps(*span)


def _release_span(version: str) -> tuple[Version, Version] | None:
    """Every release a version as typed may be: "6.5" and "6.5.x" are any 6.5.*, "7" any 7.*,
    "6.5.4" just itself."""
    return _span(version, exact_parts=3)


def _span(version: str, *, exact_parts: int = 2) -> tuple[Version, Version] | None:
    """The lowest and highest release a version as typed can mean. A wildcard ("7.x") or a
    version of fewer than `exact_parts` parts spans every release under it; for comparing a
    target, "7" spans 7.* and "7.1" is 7.1 itself."""
    base = version.removesuffix(".x")
    try:
        low = Version(base)
    except InvalidVersion:
        return None
    exact = base == version and base.count(".") + 1 >= exact_parts
    return low, low if exact else Version(f"{base}.{_TOP}")
