"""Evaluate a parsed question against a rule set. Pure functions, no I/O.

    >>> answer("upgrade 6.5.4").rule
    'upgrade-6.5.4'
"""

from __future__ import annotations

import functools
from dataclasses import replace

from packaging.version import InvalidVersion, Version

from rules.load import Rule, RuleSet, default_ruleset
from rules.model import Answer, Query
from rules.parse import parse
from rules.text import render_text

# The highest release component anyone will type: "7.x" spans 7.0 up to 7.<this>.
_TOP = "99999999"


def answer(text: str, ruleset: RuleSet | None = None) -> Answer:
    """Answer one free-text question. Never raises."""
    return evaluate(parse(text), ruleset)


def evaluate(query: Query, ruleset: RuleSet | None = None) -> Answer:
    """The answer to a parsed question, from the one rule that covers it."""
    ruleset = ruleset or default_ruleset()
    template = _answer_for(
        ruleset, query.intent, query.from_version, query.to_version, query.node, query.suggestion
    )
    return template.with_query(query.text)


@functools.lru_cache(maxsize=8192)
def _answer_for(ruleset: RuleSet, intent: str, from_version: str | None,
                to_version: str | None, node: str | None, suggestion: str | None) -> Answer:
    """Everything of an answer but the query text; cached, since people ask the same things."""
    nearest: tuple[str, ...] = ()
    if intent == "upgrade":
        rule, nearest = _upgrade_rule(ruleset, from_version, to_version)
    elif intent == "restore":
        rule = ruleset.rule_for("restore", node=node)
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
    )
    result = replace(result, text=render_text(result, settings.support_contact))
    result.to_json()  # build the shared JSON body once, here, not once per question
    return result


def _upgrade_rule(ruleset: RuleSet, from_version: str | None,
                  to_version: str | None) -> tuple[Rule, tuple[str, ...]]:
    """The rule for an upgrade question, and the documented rows to name where none applies."""
    if from_version is None:
        return ruleset.rule_for("upgrade", case="no-version"), ()
    span = _span(from_version)
    if span is None:
        return ruleset.rule_for("upgrade", case="no-version"), ()
    low, high = span
    rule = ruleset.upgrade_rule(low)
    if ruleset.upgrade_rule(high) is not rule:
        # "6" or "6.x" spans several rows: only the exact version can say which.
        return ruleset.rule_for("upgrade", case="no-version"), ()
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


def _span(version: str) -> tuple[Version, Version] | None:
    """The lowest and highest release a version as typed can mean: "7" and "7.x" span 7.*."""
    exact = not version.endswith(".x") and "." in version
    base = version.removesuffix(".x")
    try:
        low = Version(base)
        high = low if exact else Version(f"{base}.{_TOP}")
    except InvalidVersion:
        return None
    return low, high
