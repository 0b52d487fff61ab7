"""Properties of understanding, over the realistic questions of tests/rules/corpus.yaml:
numbers that are not PAM versions and everyday noise never change what a question means."""

from datetime import date
from pathlib import Path

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.version import Version

from rules import answer, default_ruleset

CORPUS = yaml.safe_load((Path(__file__).parent / "corpus.yaml").read_text(encoding="utf-8"))
QUESTIONS = st.sampled_from([e["q"] for e in CORPUS if "suggestion_contains" not in e["expect"]])

IPS = st.ip_addresses(v=4).map(str)
DATES = st.dates(date(2000, 1, 1), date(2099, 12, 31)).flatmap(lambda d: st.sampled_from([
    d.isoformat(), f"{d.day:02d}/{d.month:02d}", f"{d.day}/{d.month}/{d.year}",
    f"{d.day:02d}.{d.month:02d}.{d.year}", f"{d.day:02d}.{d.month:02d}",
]))
TIMES = st.tuples(st.integers(0, 23), st.integers(0, 59)).flatmap(lambda t: st.sampled_from([
    f"{t[0]:02d}:{t[1]:02d}", f"{t[0]:02d}.{t[1]:02d}", f"{t[0] % 12 + 1}am",
    f"{t[0] % 12 + 1}pm", f"{t[0]}:{t[1]:02d} UTC",
]))
TICKETS = st.tuples(st.sampled_from(["PAM", "INC", "CHG", "OPS", "SR"]),
                    st.integers(1, 99999)).map(lambda t: f"{t[0]}-{t[1]}")
NOT_VERSIONS = st.one_of(IPS, DATES, TIMES, TICKETS)
NOISE = st.sampled_from(["pls", "please", "asap", "thanks", "thx", "ty", "cheers", "urgent",
                         "fyi", "🔥", "🙏", ":fire:", ":pray:", "👀"])


def meaning(text: str) -> tuple:
    """What a person acts on: each answer's rule, versions and node, in order."""
    result = answer(text)
    return tuple((a.rule, a.from_version, a.to_version, a.node) for a in (result, *result.also))


@given(QUESTIONS, NOT_VERSIONS, st.sampled_from(["{q}, {n}", "{n} {q}", "{n}: {q}",
                                                 "{q} (see {n})", "{q} - {n}", "{q} / {n}"]))
@settings(max_examples=300, deadline=None)
def test_an_ip_date_time_or_ticket_next_to_a_question_never_changes_its_answer(q, noise, shape):
    assert meaning(shape.format(q=q, n=noise)) == meaning(q)


@given(QUESTIONS, st.lists(st.tuples(st.integers(0, 60), NOISE), min_size=1, max_size=3))
@settings(max_examples=300, deadline=None)
def test_pleasantries_and_emoji_anywhere_never_change_an_answer(q, insertions):
    words = q.split(" ")
    for position, word in insertions:
        words.insert(position % (len(words) + 1), word)
    assert meaning(" ".join(words)) == meaning(q)


@given(QUESTIONS, st.integers(0, 200), st.integers(0, 200), st.text(max_size=20))
@settings(max_examples=300, deadline=None)
def test_a_cut_or_garbled_question_still_gets_an_answer(q, start, stop, garbage):
    text = q[start:stop] + garbage + q[stop:]
    result = answer(text)
    assert result.rule and result.text
    assert all(a.rule and a.text for a in result.also)


WORDS = st.sampled_from(["upgrade", "restore", "from", "to", "not", "and", "also", "leader",
                         "died", "backup", "->", ",", ".", "6.5.4", "6.5", "7.x", "7.2", "5.1",
                         "8.0", "6.1.4", "10.0.0.5", "22.00", "INC-12", "3 nodes", "onto",
                         "required?", "what's the latest", "correction:", "rather than"])


@given(st.one_of(QUESTIONS, st.lists(WORDS, max_size=14).map(" ".join)))
@settings(max_examples=400, deadline=None)
def test_no_path_is_guessed(text):
    """A path from a table row is only ever given for a version the row covers, to a
    target the row allows; anything else is a question back or the support prompt."""
    ruleset = default_ruleset()
    result = answer(text, ruleset)
    for part in (result, *result.also):
        rule = next(r for r in ruleset.rules if r.id == part.rule)
        if rule.from_spec is None or part.outcome != "path":
            continue
        low, high = releases(part.from_version)
        assert ruleset.rules_between(low, high) == [rule], part
        if part.to_version and rule.to_spec is not None:
            assert all(rule.to_spec.contains(v) for v in releases(part.to_version)), part


def releases(typed: str) -> tuple[Version, Version]:
    """The first and last release a version as typed can mean: "6.5" is any 6.5.*."""
    base = typed.removesuffix(".x")
    if base.count(".") >= 2 and base == typed:
        return Version(base), Version(base)
    return Version(base), Version(f"{base}.9999")


def test_a_long_paste_is_read_at_both_ends_and_never_cut_into_a_version():
    log = "".join(f"2026-11-25 22:{n % 60:02d}:13 etcd[311]: lost peer 10.0.0.{n % 250}\n"
                  for n in range(120))
    after = answer(log + "we're on 6.5.4, do we need a backup and restore to go to 7.2?")
    assert (after.rule, after.from_version, after.to_version) == ("upgrade-6.5.4", "6.5.4", "7.2")
    before = answer("leader died overnight, logs below\n" + log)
    assert (before.rule, before.node) == ("restore-leader", "leader")
    # However the message is cut, "6.5.4" stays 6.5.4, never "6.5" or "6".
    for padding in range(12):
        repeated = answer("x" * padding + " upgrade 6.5.4" * 400)
        assert (repeated.rule, repeated.to_version) == ("upgrade-6.5.4", None), padding
