"""What on-call engineers really type, as it arrives from a terminal or from Slack."""

import pytest

import rules
from rules import answer, default_ruleset
from rules.tidy import normalize


def parse(text: str) -> rules.Query:
    """The main question of `text`, read with the packaged vocabulary."""
    return rules.parse(text, default_ruleset().vocabulary)


@pytest.mark.parametrize(
    ("text", "intent", "from_version", "to_version", "node"),
    [
        ("upgrade 6.5.4", "upgrade", "6.5.4", None, None),
        ("Upgrade v6.5.4?", "upgrade", "6.5.4", None, None),
        ("upgrade 7.0.0", "upgrade", "7.0.0", None, None),
        ("upgrade from 6.5.4 to 7.1", "upgrade", "6.5.4", "7.1", None),
        ("upgrade to 7.1 from 6.5.4", "upgrade", "6.5.4", "7.1", None),
        ("6.5.4 -> 7.x", "upgrade", "6.5.4", "7.x", None),
        ("we're on PAM 6.5.4, what's the path to 7?", "upgrade", "6.5.4", "7", None),
        ("restore leader", "restore", None, None, "leader"),
        ("leader is down, need to restore", "restore", None, None, "leader"),
        ("restore follower", "restore", None, None, "follower"),
        ("follower node died", "restore", None, None, "follower"),
        ("restore cluster", "restore", None, None, "cluster"),
        ("the leader and both followers are gone, restore please", "restore", None, None,
         "cluster"),
        ("restore", "restore", None, None, None),
        ("backup", "backup", None, None, None),
        ("how do I back up the leader?", "backup", None, None, None),
        ("help", "help", None, None, None),
        ("", "help", None, None, None),
        ("6.5.4", "upgrade", "6.5.4", None, None),
        ("update 7.2.1", "upgrade", "7.2.1", None, None),
        ("UPGRADE   6.5.4   !!!", "upgrade", "6.5.4", None, None),
        ("we have 3 followers on 6.5.4, upgrade?", "upgrade", "6.5.4", None, None),
        ("upgrade pam 7", "upgrade", "7", None, None),
        ("primary crashed", "restore", None, None, "leader"),
    ],
)
def test_phrasings(text, intent, from_version, to_version, node):
    query = parse(text)
    assert (query.intent, query.from_version, query.to_version, query.node) == (
        intent, from_version, to_version, node)
    assert query.text == text


@pytest.mark.parametrize(
    "text",
    [
        "<@U0LAN0Z89> upgrade 6.5.4",
        "<@U0LAN0Z89|pambot> upgrade 6.5.4",
        "*upgrade* `6.5.4`",
        "_upgrade_ ~6.5.4~",
        "```upgrade 6.5.4```",
        "upgrade\u00a06.5.4",
        "upgrade\t\t6.5.4\n",
        "upgrade 6.5.4.",
        "upgrade 6.5.4...?!",
        "UpGrAdE V6.5.4",
        "upgrade\u200b 6.5.4",
        "upgrade \uff16.\uff15.\uff14",  # full-width digits
        "upgrade\x00\x07 6.5.4",
    ],
)
def test_slack_markup_and_odd_characters_are_tidied(text):
    query = parse(text)
    assert (query.intent, query.from_version) == ("upgrade", "6.5.4")


@pytest.mark.parametrize(
    "text",
    ["6.5.4 &gt; 7.1", "6.5.4 → 7.1", "6.5.4 ⇒ 7.1", "6.5.4 => 7.1", "6.5.4 ➡️ 7.1",
     "6.5.4 --> 7.1", "6.5.4 ⟶ 7.1", "6.5.4 to 7.1"],
)
def test_arrows_and_entities_mean_from_to(text):
    query = parse(text)
    assert (query.intent, query.from_version, query.to_version) == ("upgrade", "6.5.4", "7.1")


def test_entities_are_decoded_before_parsing():
    assert normalize("Backup &amp; *Restore*") == "backup & restore"


@pytest.mark.parametrize(
    ("text", "suggestion"),
    [
        ("upgarde 6.5.4", "upgrade 6.5.4"),
        ("restroe leader", "restore leader"),
        ("bakup", "backup"),
        ("restore leadr", "restore leader"),
    ],
)
def test_near_misses_get_a_suggestion(text, suggestion):
    query = parse(text)
    assert query.suggestion == suggestion


def test_a_near_miss_is_not_guessed():
    query = parse("upgarde 6.5.4")
    assert query.intent == "unknown"
    assert query.from_version is None


@pytest.mark.parametrize("text", ["what's for lunch", "thanks!", "🔥🔥🔥", "lorem ipsum dolor"])
def test_no_recognisable_intent_is_unknown(text):
    query = parse(text)
    assert query.intent == "unknown"
    assert query.suggestion is None


def test_huge_text_is_parsed_from_its_start():
    query = parse("upgrade 6.5.4 " + "x" * 50_000)
    assert (query.intent, query.from_version) == ("upgrade", "6.5.4")


def test_a_version_with_absurdly_many_digits_is_not_a_version():
    assert parse("upgrade " + "9" * 5000).from_version is None


@pytest.mark.parametrize(("message", "also"), [
    ("what ports, and is the MEK in the backup?", "is the MEK in the backup?"),
    ("leader died. also, what's the path from 6.5.4 to 7?", "what's the path from 6.5.4 to 7?"),
    ("follower down - and which ports does etcd use ?", "which ports does etcd use?"),
])
def test_a_further_question_is_quoted_as_asked(message, also):
    # The answer says 'Also, for "...":' before it: no stray "and", no space before "?".
    [further] = answer(message).also
    assert further.query == also
