"""Properties that hold for any input: nothing raises, every version has exactly one rule."""

import json

from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.version import Version

from bot.ask import format_answer
from rules import answer, default_ruleset, parse
from rules.model import INTENTS

WORDS = st.sampled_from([
    "upgrade", "restore", "backup", "help", "leader", "follower", "cluster", "from", "to",
    "->", "→", "6.5.4", "7.x", "v7.1", "<@U123>", "&gt;", "*", "`", "\x00", "🔥", "9" * 40,
    "upgarde", ".", "?", "8.0", "5.1.9",
])
QUESTIONS = st.one_of(
    st.text(),
    st.lists(WORDS, max_size=12).map(" ".join),
    st.lists(st.one_of(WORDS, st.text(max_size=5)), max_size=12).map("".join),
)


@given(QUESTIONS)
@settings(max_examples=400)
def test_any_text_parses_and_answers_without_raising(text):
    query = parse(text, default_ruleset().vocabulary)
    assert query.intent in INTENTS
    result = answer(text)
    assert result.query == text
    assert result.rule and result.text


@given(QUESTIONS)
@settings(max_examples=200)
def test_json_answers_always_have_every_key(contract_keys, text):
    data = json.loads(format_answer(answer(text), as_json=True))
    assert data.keys() >= contract_keys
    assert data["intent"] in INTENTS
    assert isinstance(data["steps"], list) and isinstance(data["warnings"], list)


@given(st.tuples(st.integers(0, 30), st.integers(0, 30), st.integers(0, 30)))
@settings(max_examples=500)
def test_every_version_is_claimed_by_exactly_one_rule(parts):
    version = Version(".".join(map(str, parts)))
    ranged = [r for r in default_ruleset().rules if r.from_spec is not None]
    claims = [r.id for r in ranged if r.from_spec.contains(version)]
    assert len(claims) == 1, f"{version} is claimed by {claims}"
    assert answer(f"upgrade {version}").rule == claims[0]
