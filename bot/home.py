"""pambot's App Home tab: what it answers, example questions as buttons, the viewer's own
recent questions, and for admins the query log's summary laid out as blocks and the words to
teach pambot (`bot.teachview`).

    >>> from rules import default_ruleset
    >>> view = home_view(default_ruleset(), recent=[], summary=None)
    >>> view["type"], view["blocks"][0]["text"]["text"]
    ('home', 'pambot: PAM Server upgrades, restores and backups')
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.blocks import (
    SECTION_TEXT_LIMIT,
    button,
    button_value,
    context,
    fit,
    header,
    literal,
    rich,
    section,
)
from bot.checklist import clock
from bot.querylog import UNANSWERED_OUTCOMES, PastQuestion, Summary
from bot.teachview import teach_blocks
from rules import RuleSet

# One per example (`pam_example_0`, ...): action ids are unique within a block.
ACTION_EXAMPLE = "pam_example"
# Slack's limit for a Home tab, and for the fields of one section.
MAX_HOME_BLOCKS = 100
SECTION_FIELDS_LIMIT = 10
FIELD_TEXT_LIMIT = 2000
EXAMPLES_SHOWN = 10
RULES_SHOWN = 5
UNANSWERED_SHOWN = 5


def home_view(ruleset: RuleSet, *, recent: Sequence[PastQuestion], summary: Summary | None,
              since: str = "7d", recent_days: int = 30, teach: Sequence[dict] | None = None
              ) -> dict:
    """The Home tab for one viewer: `recent` are their questions of the last `recent_days`;
    `summary` (admins only, else None) is the query log since `since`, and `teach` (admins
    only) its review groups (`bot.teaching.review_groups`), with a "Teach" button each."""
    settings = ruleset.settings
    blocks = [
        header("pambot: PAM Server upgrades, restores and backups"),
        section(rich(
            "I answer from the documented upgrade and restore table and the backup guidance"
            + (f" ({settings.docs_url})" if settings.docs_url else "")
            + f", name the rule and source of every answer, and say when to contact "
            f"{settings.support_contact}.", SECTION_TEXT_LIMIT)),
        context([fit(f"Ask with {settings.command} QUESTION anywhere, mention me in an incident "
                     "thread (I answer there, and follow up on my own questions), or write to "
                     f"me in Messages. {settings.command} paths shows every upgrade path.",
                     SECTION_TEXT_LIMIT)]),
    ]
    examples = []
    for number, example in enumerate(settings.examples[:EXAMPLES_SHOWN]):
        value = button_value(example)
        if value is not None:
            examples.append(button(example, f"{ACTION_EXAMPLE}_{number}", value))
    if examples:
        blocks += [section("*Try a question* (I answer in Messages)"),
                   {"type": "actions", "block_id": "pam_examples", "elements": examples}]
    blocks += [{"type": "divider"}, section("*Your recent questions*")]
    if recent:
        blocks += [context([f"{clock(q.ts)} {q.ts[:10]} · {literal(' '.join(q.text.split()), 150)}"
                            f" → *{fit(q.verdict or q.outcome, 150)}*"]) for q in recent]
    else:
        blocks.append(context([f"Nothing in the last {recent_days} days. Try a question above."]))
    if summary is not None:
        blocks += [{"type": "divider"}, *stats_blocks(summary, since)]
    if teach is not None:
        blocks += [{"type": "divider"}, *teach_blocks(teach)]
    return {"type": "home", "blocks": blocks[:MAX_HOME_BLOCKS]}


def stats_blocks(summary: Summary, since: str) -> list[dict]:
    """The `/pam stats` summary as blocks: totals, outcomes, rules, unanswered, votes."""
    blocks = [section(f"*Query log, last {fit(since, 20)}* (admins only): "
                      f"{summary.total:,} questions")]
    if not summary.total:
        return blocks
    fields = [_field(f"*{fit(name, 100)}*", f"{count:,} ({_percent(count, summary.total)}%)")
              for name, count in summary.by_outcome[:SECTION_FIELDS_LIMIT]]
    blocks.append({"type": "section", "fields": fields})
    rules = " · ".join(f"`{fit(rule, 80)}` {count:,}"
                       for rule, count in summary.by_rule[:RULES_SHOWN])
    blocks.append(section(f"*Most used rules*\n{rules}"))
    # Other people's questions, shown as typed: their *bold* or `code` is not applied.
    unanswered = "\n".join(f"• {literal(' '.join(text.split()), 150)} ({count:,})"
                           for text, count in summary.top_unanswered[:UNANSWERED_SHOWN])
    outcomes = "/".join(UNANSWERED_OUTCOMES)
    blocks.append(section(f"*Top unanswered questions* ({outcomes})\n" + (unanswered or "none")))
    if summary.votes:
        blocks.append(section(
            f"*Helpful votes*: {summary.helpful_votes:,} of {summary.votes:,} "
            f"({_percent(summary.helpful_votes, summary.votes)}%)"))
    else:
        blocks.append(section("*Helpful votes*: none yet"))
    return blocks


def _field(title: str, value: str) -> dict:
    return {"type": "mrkdwn", "text": f"{title}\n{value}"[:FIELD_TEXT_LIMIT], "verbatim": True}


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}" if whole else "-"
