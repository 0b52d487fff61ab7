"""Questions as on-call engineers really type them (tests/rules/corpus.yaml), each with the
meaning its answer must have. Written from the user's side: the classes of the
understanding issue, the documented facts, and everyday Slack noise."""

from collections import Counter
from pathlib import Path

import pytest
import yaml

from rules import answer

CORPUS = yaml.safe_load((Path(__file__).parent / "corpus.yaml").read_text(encoding="utf-8"))


def mismatches(entry: dict) -> list[str]:
    """What differs between the answer and the meaning the entry says it must have."""
    result = answer(entry["q"])
    found = _compare("main", result, entry["expect"])
    expected_also = entry.get("also", [])
    if len(result.also) != len(expected_also):
        found.append(f"also: {len(result.also)} further answers "
                     f"{[a.rule for a in result.also]}, expected {len(expected_also)}")
    else:
        for number, (got, want) in enumerate(zip(result.also, expected_also, strict=True), 1):
            found += _compare(f"also {number}", got, want)
    return found


def _compare(which: str, result, expected: dict) -> list[str]:
    found = []
    data = result.to_dict()
    for key, want in expected.items():
        if key == "suggestion_contains":
            if want not in (result.suggestion or ""):
                found.append(f"{which} suggestion {result.suggestion!r} lacks {want!r}")
        elif key == "short_answer_starts":
            if not (result.short_answer or "").startswith(want):
                found.append(f"{which} short answer {result.short_answer!r} is not {want!r} first")
        elif key in ("text_has", "text_lacks"):
            for phrase in want:
                if (phrase.casefold() in result.text.casefold()) != (key == "text_has"):
                    found.append(f"{which} text {'lacks' if key == 'text_has' else 'has'} "
                                 f"{phrase!r}")
        elif data[key] != want:
            found.append(f"{which} {key}: {data[key]!r}, expected {want!r}")
    return found


def test_the_corpus_is_realistic():
    classes = Counter(entry["class"] for entry in CORPUS)
    assert len(CORPUS) >= 300
    assert min(classes.values()) >= 20, classes
    long = sum(len(entry["q"].split()) >= 8 for entry in CORPUS)
    assert long * 2 >= len(CORPUS)


@pytest.mark.parametrize("entry", CORPUS, ids=[f"{e['class']}:{e['q'][:50]}" for e in CORPUS])
def test_every_question_gets_its_meaning(entry):
    assert mismatches(entry) == []


def test_per_class_report(capsys):
    """The per-class figures, printed with `pytest -s -k per_class`."""
    total: Counter = Counter()
    right: Counter = Counter()
    for entry in CORPUS:
        total[entry["class"]] += 1
        right[entry["class"]] += not mismatches(entry)
    with capsys.disabled():
        print()
        for name in sorted(total):
            print(f"  {name:18} {right[name]:4} / {total[name]:4}")
        print(f"  {'all':18} {sum(right.values()):4} / {sum(total.values()):4}")
    assert right == total
