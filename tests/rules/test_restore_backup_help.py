"""Restore, backup and help answers: which backup, what happens to followers, what is in none."""

import pytest

from rules import answer

RECORDINGS = "external file store"


@pytest.mark.parametrize(
    ("text", "node", "rule", "follower_rebuild"),
    [
        ("restore leader", "leader", "restore-leader", True),
        ("restore follower", "follower", "restore-follower", False),
        ("restore cluster", "cluster", "restore-cluster", True),
        ("restore", None, "restore-which-node", True),
    ],
)
def test_restore_answers(text, node, rule, follower_rebuild):
    result = answer(text)
    assert (result.intent, result.node, result.rule) == ("restore", node, rule)
    assert result.follower_rebuild is follower_rebuild
    assert result.backup_restore_required is None
    assert any(RECORDINGS in w for w in result.warnings)
    assert "VM level backup" in " ".join(result.steps)


def test_restoring_the_leader_explains_both_backups():
    steps = " ".join(answer("restore leader").steps)
    assert "catches up by itself at the next synchronisation interval" in steps
    assert "Recreate every follower from scratch" in steps


def test_a_follower_cannot_be_restored_from_the_leader_backup():
    result = answer("restore follower")
    assert "cannot restore a follower" in result.summary
    assert "contact Osirium Support" in " ".join(result.steps)


def test_backup_advice_names_both_kinds_and_what_neither_holds():
    result = answer("backup")
    assert result.rule == "backup-advice"
    assert "VM level backup" in result.text
    assert "PAM Server generated backup" in result.text
    assert any(RECORDINGS in w for w in result.warnings)


@pytest.mark.parametrize("text", ["help", "", "   ", "HELP!"])
def test_help_shows_usage(text):
    result = answer(text)
    assert result.intent == "help"
    assert result.rule == "help"
    assert "upgrade 6.5.4" in result.text


def test_unknown_text_gets_usage_help():
    result = answer("what's for lunch")
    assert (result.intent, result.outcome) == ("unknown", "unknown")
    assert "upgrade 6.5.4" in result.text


def test_near_miss_gets_a_did_you_mean_not_a_guess():
    result = answer("upgarde 6.5.4")
    assert result.intent == "unknown"
    assert result.suggestion == "upgrade 6.5.4"
    assert 'Did you mean: "upgrade 6.5.4"?' in result.text
    assert result.rule == "unknown"


def test_every_answer_names_its_rule_and_source():
    for text in ("upgrade 6.5.4", "restore", "backup", "help", "zzz"):
        result = answer(text)
        assert result.rule and result.source
        assert f"[rule {result.rule}]" in result.text
        assert result.text.splitlines()[-1].startswith("Source: ")
