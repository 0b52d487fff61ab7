"""Conversations in a Slack incident thread (tests/rules/threads.yaml), turn by turn, as the
people in the thread write them: what pambot answers, and when it keeps quiet.

Each turn either mentions pambot (a question to it, read in the thread's context) or not (a
reply, answered only when it answers the question pambot asked back there), as
bot.listeners.conversation does it in Slack and the local shell does it at the prompt.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from rules import Answer, answer
from rules.context import Context, read
from tests.rules.test_corpus import _compare

THREADS = yaml.safe_load((Path(__file__).parent / "threads.yaml").read_text(encoding="utf-8"))


def replay(turns: list[dict]) -> Iterator[tuple[dict, Answer | None]]:
    """Each turn with pambot's answer to it, or None where it says nothing."""
    context, answered = Context(), False
    for turn in turns:
        if turn["mention"]:
            reading = read(turn["say"], context)
        elif answered and context.asking:
            reading = read(turn["say"], context, only_answers=True)
        else:
            reading = None
        result = None if reading is None else answer(reading.question)
        if result is not None:
            context, answered = context.after(result), True
        yield turn, result


def mismatches(scenario: dict) -> list[str]:
    found = []
    for number, (turn, result) in enumerate(replay(scenario["turns"]), 1):
        said = f"turn {number} ({turn['say']!r})"
        if turn["expect"] == "silent":
            if result is not None:
                found.append(f"{said}: answered with {result.rule}, expected silence")
        elif result is None:
            found.append(f"{said}: silent, expected {turn['expect']}")
        else:
            expect = dict(turn["expect"])
            also = expect.pop("also", [])
            found += _compare(said, result, expect)
            if len(result.also) != len(also):
                found.append(f"{said}: {len(result.also)} further answers, expected {len(also)}")
            for n, (got, want) in enumerate(zip(result.also, also, strict=False), 1):
                found += _compare(f"{said} also {n}", got, want)
    return found


@pytest.mark.parametrize("scenario", THREADS, ids=[s["name"][:60] for s in THREADS])
def test_every_thread_goes_as_its_people_expect(scenario):
    assert mismatches(scenario) == []
