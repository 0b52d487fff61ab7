"""Reloading the rule files: a good set replaces the one in force, a broken one is refused."""

from __future__ import annotations

import logging

from bot.reload import LiveRules
from rules import answer, load_ruleset


def test_a_good_set_replaces_the_rules_and_changes_the_version(rules_copy):
    rules = LiveRules(load_ruleset(rules_copy), load=lambda: load_ruleset(rules_copy))
    before = rules.version
    upgrade = rules_copy / "upgrade.yaml"
    upgrade.write_text(upgrade.read_text().replace(
        "verdict: Backup and restore required", "verdict: Backup and restore needed first"))
    assert rules.reload() is True
    assert rules.version != before
    assert answer("upgrade 6.5.4", rules.current).verdict == "Backup and restore needed first"


def test_a_broken_set_is_refused_with_file_and_line_and_the_rules_stay(rules_copy, caplog):
    rules = LiveRules(load_ruleset(rules_copy), load=lambda: load_ruleset(rules_copy))
    in_force = rules.current
    (rules_copy / "upgrade.yaml").write_text("rules:\n  - id: upgrade-x\n    intent: nope\n")
    with caplog.at_level(logging.ERROR, logger="pambot.rules"):
        assert rules.reload() is False
    assert rules.current is in_force
    assert f"rules reload refused, rules {in_force.version} stay in force" in caplog.text
    assert f"{rules_copy / 'upgrade.yaml'}:2:" in caplog.text


def test_the_version_is_a_hash_of_the_files_wherever_they_are(rules_copy, tmp_path):
    assert load_ruleset(rules_copy).version == load_ruleset(None).version
    (rules_copy / "general.yaml").write_text((rules_copy / "general.yaml").read_text() + "\n")
    assert load_ruleset(rules_copy).version != load_ruleset(None).version
