"""The plain-text form of an answer: for the terminal, logs and Slack's notification fallback."""

from __future__ import annotations

from rules.model import Answer


def render_text(answer: Answer, support_contact: str = "Osirium Support") -> str:
    """The whole answer as plain text: the short answer to what was asked (if any) and the
    verdict first, the source last."""
    lines = [answer.short_answer, answer.verdict] if answer.short_answer else [answer.verdict]
    if answer.suggestion:
        lines.append(f'Did you mean: "{answer.suggestion}"?')
    if answer.summary:
        lines.append(answer.summary)
    if answer.reason:
        lines.append(f"Why: {answer.reason}")
    if answer.steps and answer.outcome in ("help", "unknown"):
        lines += [f"  - {example}" for example in answer.steps]  # the summary says "Try:"
    elif answer.steps:
        lines.append("Steps:")
        lines += [f"  {n}. {step}" for n, step in enumerate(answer.steps, 1)]
    if answer.warnings:
        lines.append("Warnings:")
        lines += [f"  - {warning}" for warning in answer.warnings]
    if answer.choices:
        lines.append("Reply with a number, or ask again:")
        lines += [f"  {n}. {choice.label}  ({choice.question})"
                  for n, choice in enumerate(answer.choices, 1)]
    if answer.support_checklist:
        lines.append(f"Have this ready for {support_contact}:")
        lines += [f"  - {item}" for item in answer.support_checklist]
    source = f"Source: {answer.source}"
    if answer.source_url:
        source += f" <{answer.source_url}>"
    lines.append(f"{source} [rule {answer.rule}]")
    return "\n".join(lines)
