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
from rules.model import Answer, Choice, Query, question_for
from rules.parse import parse_message
from rules.ruleset import Rule, RuleSet
from rules.text import render_text

# The highest release component anyone will type: "7.x" spans 7.0 up to 7.<this>.
_TOP = "99999999"
# The options of "which node failed?": the label, the node and the topology it stands for.
_NODE_CHOICES = (("leader", "leader", None), ("follower", "follower", None),
                 ("whole cluster", "cluster", None), ("standalone server", None, "standalone"))


def answer(text: str, ruleset: RuleSet | None = None) -> Answer:
    """Answer one message: its main question, with the others in `also`. Never raises."""
    ruleset = ruleset or default_ruleset()
    first, *others = parse_message(text, ruleset.vocabulary).queries
    main = evaluate(first, ruleset)
    also: list[Answer] = []
    for query in others:
        result = evaluate(query, ruleset)
        # "6.2 or 6.3, not sure which": the same support prompt twice says nothing more.
        if not (result.contact_support and any(
                (a.rule, a.verdict) == (result.rule, result.verdict) for a in (main, *also))):
            also.append(result)
    return main.with_query(text, also=tuple(also)) if also else main


def evaluate(query: Query, ruleset: RuleSet | None = None) -> Answer:
    """The answer to one parsed question, from the one rule that covers its situation."""
    ruleset = ruleset or default_ruleset()
    return _answer_for(ruleset, query).with_query(query.text)


@functools.lru_cache(maxsize=8192)
def _answer_for(ruleset: RuleSet, query: Query) -> Answer:
    """Everything of an answer but the question text (a Query's text is not part of its
    meaning, so one cached answer serves every way of asking it)."""
    rule, nearest = _rule_for(ruleset, query)
    nearest = nearest or rule.nearest_rows
    settings = ruleset.settings
    values = {
        "from_version": query.from_version or "(not given)",
        "to_version": query.to_version or "the latest 7.x",
        "node": query.node or "(not given)",
        "command": settings.command,
        "support_contact": settings.support_contact,
        "docs_url": settings.docs_url or "(no documentation link set)",
        "nearest_rows": " and ".join(f'"{row}"' for row in nearest) or "(none)",
    }

    def fill(text: str | None) -> str | None:
        return None if text is None else text.format_map(values)

    source = ruleset.sources[rule.source]
    source_text = source.title + (f', row "{rule.row}"' if rule.row else "")
    follower_rebuild = rule.follower_rebuild and query.topology != "standalone"
    verdict = fill(rule.verdict)
    result = Answer(
        query="",
        intent=query.intent,
        from_version=query.from_version,
        to_version=query.to_version,
        node=query.node,
        backup=query.backup,
        topology=query.topology,
        focus=_focus(query, rule),
        rule=rule.id,
        source=source_text,
        source_url=source.url,
        outcome=rule.outcome,
        short_answer=_short_answer(query, replace(rule, not_possible=fill(rule.not_possible)),
                                   verdict, fill(rule.followers), follower_rebuild),
        verdict=verdict,
        summary=fill(rule.summary),
        backup_restore_required=rule.backup_restore_required,
        follower_rebuild=follower_rebuild,
        contact_support=rule.contact_support,
        steps=tuple(fill(line.text) for line in rule.steps if line.applies(query.topology)),
        warnings=tuple(fill(line.text) for line in rule.warnings
                       if line.applies(query.topology)),
        reason=fill(rule.reason),
        support_checklist=tuple(fill(line.text) for line in settings.support_checklist
                                if line.applies(query.topology)) if rule.contact_support else (),
        suggestion=query.suggestion,
        choices=_choices(ruleset, rule, query),
        excluded=query.excluded,
    )
    return replace(result, text=render_text(result, settings.support_contact))


def _rule_for(ruleset: RuleSet, query: Query) -> tuple[Rule, tuple[str, ...]]:
    """The one rule that answers `query`, and the documented rows to name where none applies."""
    intent = query.intent
    if intent == "upgrade" or (intent == "restore" and query.from_version and query.to_version):
        rule, nearest = _upgrade_rule(ruleset, query.from_version, query.to_version,
                                      query.excluded)
        if intent == "restore" and rule.outcome == "path":
            # A backup of one version onto a server of another: a server of the backup's
            # version, the restore, then the row's path to the target.
            rule = ruleset.across(rule) or rule
        return rule, nearest
    if intent == "restore":
        span = _release_span(query.from_version) if query.from_version else None
        rows = ruleset.rules_between(*span) if span else []
        if rows and all(row.restores for row in rows):
            return rows[0], ()  # "to upgrade or restore ... from earlier than 5.2.x"
        return ruleset.restore_rule(query.node, query.backup, query.topology), ()
    return ruleset.rule_for(intent, case=query.case if intent == "fact" else None), ()


def _focus(query: Query, rule: Rule) -> str:
    """What the answer speaks to: a fact question is answered as documented or not."""
    if query.intent == "fact":
        return "fact" if rule.outcome == "fact" else "not-documented"
    return query.focus


def _short_answer(query: Query, rule: Rule, verdict: str, followers: str | None,
                  follower_rebuild: bool) -> str | None:
    """The question's own answer in one line, where it asked about a consequence: yes or no
    first for a yes/no question, from the rule's data only (its verdict, its table column,
    what it says happens to the followers)."""
    if query.focus != "consequence" or query.asks is None:
        return None
    if query.asks == "possible":
        # "can we restore the follower from the PAM backup?": no where the documentation
        # says it cannot be done, yes where it gives a path with the backup they have,
        # nothing where it is silent.
        if not query.yes_no:
            return None
        if rule.not_possible is not None:
            return f"No: {rule.not_possible}."
        if rule.outcome == "path" and query.backup != "no-vm":
            return f"Yes: {verdict[0].lower() + verdict[1:]}."
        return None
    if query.asks in ("restore-required", "straight-upgrade"):
        if not query.yes_no or rule.backup_restore_required is None:
            return None  # "straight upgrade or backup/restore?": the verdict says which
        truth = rule.backup_restore_required == (query.asks == "restore-required")
        said = verdict[0].lower() + verdict[1:]
    else:
        if query.topology == "standalone":
            # a leader on its own (pam-facts): nothing to rebuild or to keep
            return "A standalone PAM Server has no followers." if query.yes_no else None
        if followers is None:
            return None
        truth = follower_rebuild == (query.asks == "followers-rebuilt")
        said = followers
        # An answer for a backup not yet known gives both branches: it depends.
        if rule.intent == "restore" and rule.follows is None and (
                not rule.backups or "unknown" in rule.backups):
            return said[0].upper() + said[1:] + "."
    if not query.yes_no:
        return said[0].upper() + said[1:] + "."
    return f"{'Yes' if truth else 'No'}: {said}."


def _upgrade_rule(ruleset: RuleSet, from_version: str | None, to_version: str | None,
                  excluded: tuple[str, ...] = ()) -> tuple[Rule, tuple[str, ...]]:
    """The rule for an upgrade question, and the documented rows to name where none applies."""
    if from_version is None:
        target = _span(to_version) if to_version else None
        paths = [r for r in ruleset.rows() if r.to_spec is not None]
        if target is not None and paths and not any(
                all(r.to_spec.contains(v, prereleases=True) for v in target) for r in paths):
            # "upgrade to 8.0": no row leads there, whichever row they are on.
            return ruleset.rule_for("upgrade", case="target-not-covered"), tuple(
                r.row for r in paths)
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
        if len(remaining) > 1 and all(r.contact_support for r in remaining):
            # Every release it may be leads to support: no point asking which.
            rows = tuple(r.row for r in remaining if r.row)
            if rows:  # "6.1": the row "6.1.4 or lower" says so, the table has no other 6.1
                return ruleset.rule_for("upgrade", case="which-release-support"), rows
            # "6.5.x, not 6.5.4": the table covers none of them
            nearest = tuple(dict.fromkeys(row for r in remaining for row in r.nearest_rows))
            return remaining[0], nearest
        if len(remaining) == 1:
            candidates = remaining
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


def _choices(ruleset: RuleSet, rule: Rule, query: Query) -> tuple[Choice, ...]:
    """The options of a clarifying answer, each with the whole question it stands for."""
    if rule.outcome != "clarify":
        return ()
    from_version, to_version = query.from_version, query.to_version
    if rule.intent == "restore":
        return tuple(Choice(label, question_for(
            "restore", from_version, node=node, backup=query.backup,
            topology=topology or query.topology))
            for label, node, topology in _NODE_CHOICES
            if not (topology and query.topology == "cluster"))
    target = f" to {to_version}" if to_version else ""
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
