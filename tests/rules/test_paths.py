"""The paths diagram says what the rules answer, and changes when the rule files change."""

from __future__ import annotations

import doctest

import pytest
from packaging.version import Version

import rules.paths
from rules import answer, default_ruleset, load_ruleset
from rules.paths import is_paths_request, paths, render_paths

# Versions people run, one or more in every range of the packaged rules.
VERSIONS = ["4.0", "5.1.9", "5.2", "6.0.1", "6.1.4", "6.3", "6.5.3", "6.5.4", "6.5.7", "7.0",
            "7.2.1", "7.9", "8.0", "9.1"]


def test_every_range_of_the_rules_is_drawn_once_in_version_order():
    ruleset = default_ruleset()
    drawn = paths(ruleset)
    ranged = {r.id for r in ruleset.rules if r.intent == "upgrade" and r.interval}
    assert sorted(p.rule for p in drawn) == sorted(ranged)
    assert [p.versions for p in drawn] == [
        "v < 5.2", "5.2 <= v <= 6.1.4", "6.1.4 < v < 6.5.4", "6.5.4", "6.5.4 < v < 7.0",
        "7.x", "v >= 8.0"]


@pytest.mark.parametrize("version", VERSIONS)
def test_what_the_diagram_says_for_a_version_is_what_pambot_answers(version):
    ruleset = default_ruleset()
    [drawn] = [p for p in paths(ruleset)
               if next(r for r in ruleset.rules if r.id == p.rule).from_spec.contains(
                   Version(version), prereleases=True)]
    result = answer(f"upgrade {version}")
    assert result.rule == drawn.rule
    if drawn.kind in ("support", "not-in-table"):
        assert result.contact_support and drawn.path == "contact Osirium Support"
        assert (drawn.kind == "support") == (result.source.endswith(f'row "{drawn.row}"'))
    else:
        assert result.backup_restore_required is (drawn.kind == "backup-restore")
        assert ("followers rebuilt" in drawn.path) is result.follower_rebuild
        assert drawn.target == "7.x"


def test_the_text_diagram_has_a_line_per_range_and_a_legend():
    text = render_paths(default_ruleset())
    lines = text.splitlines()
    assert lines[0] == "Upgrade paths in packaged rules, where each version leads:"
    assert any(line.startswith("6.5.4 ") and "==>  7.x  backup and restore, followers rebuilt"
               in line and line.endswith("6.5.4") for line in lines)
    assert any(line.startswith("7.x ") and "-->  7.x  straight upgrade" in line
               for line in lines)
    assert sum("(not in the table)" in line for line in lines) == 3
    assert "==> backup and restore" in lines[-1]


def test_a_change_to_the_rule_files_changes_the_diagram(rules_copy):
    before = render_paths(load_ruleset(rules_copy))
    upgrade = rules_copy / "upgrade.yaml"
    text = upgrade.read_text()
    # Our own organisation decides 7.x also goes through a backup and restore.
    text = text.replace("    backup_restore_required: false\n",
                        "    backup_restore_required: true\n")
    upgrade.write_text(text)
    settings = rules_copy / "settings.yaml"
    settings.write_text(settings.read_text().replace("support_contact: Osirium Support",
                                                     "support_contact: the PAM lead"))
    after = render_paths(load_ruleset(rules_copy))
    assert after != before
    [line] = [line for line in after.splitlines() if line.startswith("7.x ")]
    assert "==>  7.x  backup and restore" in line and line.endswith("7.0")
    assert "contact the PAM lead" in after and "Osirium Support" not in after


@pytest.mark.parametrize("text, wanted", [
    ("paths", True), ("  Paths ", True), ("paths?", True), ("upgrade paths diagram", True),
    ("path from 6.5.4", False), ("upgrade paths", False), ("", False),
])
def test_the_diagram_is_asked_for_with_paths(text, wanted):
    assert is_paths_request(text) is wanted


def test_the_examples_in_the_docstrings_run():
    result = doctest.testmod(rules.paths)
    assert result.attempted > 0 and result.failed == 0
