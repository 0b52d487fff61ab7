"""Every documented row of the upgrade and restore table, and every boundary between rows."""

import pytest

from rules import answer

ROW_6_5_4 = "upgrade-6.5.4"
ROW_7 = "upgrade-7.x"


@pytest.mark.parametrize(
    ("version", "rule", "outcome", "backup_restore"),
    [
        ("5.1.9", "upgrade-earlier-than-5.2", "support", None),
        ("5.2", "upgrade-6.1.4-or-lower", "support", None),
        ("5.2.0", "upgrade-6.1.4-or-lower", "support", None),
        ("6.1.4", "upgrade-6.1.4-or-lower", "support", None),
        ("6.1.5", "upgrade-6.2-to-6.5.3-not-in-table", "support", None),
        ("6.5.3", "upgrade-6.2-to-6.5.3-not-in-table", "support", None),
        ("6.5.4", ROW_6_5_4, "path", True),
        ("6.5.5", "upgrade-6.5.5-to-6.x-not-in-table", "support", None),
        ("6.9", "upgrade-6.5.5-to-6.x-not-in-table", "support", None),
        ("7.0", ROW_7, "path", False),
        ("7.0.1", ROW_7, "path", False),
        ("7.9.9", ROW_7, "path", False),
        ("8.0", "upgrade-8.0-or-later-not-in-table", "support", None),
        ("0.1", "upgrade-earlier-than-5.2", "support", None),
        ("12.3.4", "upgrade-8.0-or-later-not-in-table", "support", None),
    ],
)
def test_each_boundary_gets_its_row(version, rule, outcome, backup_restore):
    result = answer(f"upgrade {version}")
    assert result.rule == rule
    assert result.outcome == outcome
    assert result.contact_support is (outcome == "support")
    assert result.backup_restore_required is backup_restore
    assert result.from_version == version


def test_6_5_4_needs_backup_restore_and_follower_rebuild():
    result = answer("upgrade 6.5.4")
    assert result.verdict == "Backup and restore required"
    assert result.backup_restore_required is True
    assert result.follower_rebuild is True
    assert result.contact_support is False
    joined = " ".join(result.steps)
    assert "PAM Server generated backup" in joined
    # Clustering arrived with 7.0.0: a 6.5.4 answer does not assume followers.
    assert "If you run followers: recreate each from scratch" in joined
    assert 'row "6.5.4"' in result.source
    assert any("external file store" in w for w in result.warnings)


def test_6_5_4_in_a_cluster_recreates_every_follower_and_standalone_has_none():
    cluster = answer("upgrade our 6.5.4 cluster to 7.2")
    assert (cluster.topology, cluster.follower_rebuild) == ("cluster", True)
    assert "Recreate every follower from scratch" in " ".join(cluster.steps)
    alone = answer("upgrade our standalone 6.5.4 server to 7.2")
    assert (alone.topology, alone.follower_rebuild) == ("standalone", False)
    assert alone.verdict == "Backup and restore required"
    assert "follower" not in alone.text.lower() and "cluster" not in " ".join(alone.steps)


def test_7x_is_a_straight_upgrade_without_follower_rebuild():
    result = answer("upgrade 7.0.0")
    assert result.verdict.startswith("Straight upgrade")
    assert result.backup_restore_required is False
    assert result.follower_rebuild is False
    assert 'row "7.0"' in result.source


@pytest.mark.parametrize(
    ("version", "nearest"),
    [("6.3.0", ('"6.1.4 or lower"', '"6.5.4"')), ("6.5.5", ('"6.5.4"', '"7.0"')),
     ("8.0", ('"7.0"',))],
)
def test_uncovered_versions_say_so_and_name_the_nearest_rows(version, nearest):
    result = answer(f"upgrade {version}")
    assert result.contact_support
    assert "does not cover" in result.reason
    assert version in result.reason
    for row in nearest:
        assert row in result.reason
    assert result.steps == ()  # never a guessed path


def test_support_answers_list_what_to_have_ready():
    result = answer("upgrade 5.0")
    assert result.contact_support
    assert any("session recordings" in item for item in result.support_checklist)
    assert any("followers" in item for item in result.support_checklist)
    assert "Have this ready for Osirium Support" in result.text
    assert answer("upgrade 6.5.4").support_checklist == ()


@pytest.mark.parametrize("text", ["upgrade from 6.5.4 to 7.1", "6.5.4 -> 7.x",
                                  "upgrade to 7.1 from 6.5.4"])
def test_a_7x_target_keeps_the_documented_path(text):
    assert answer(text).rule == ROW_6_5_4


@pytest.mark.parametrize("text", ["upgrade from 6.5.4 to 8.0", "upgrade 7.1 to 8",
                                  "upgrade 6.5.4 to 6.9"])
def test_a_target_outside_7x_gets_support(text):
    result = answer(text)
    assert result.rule == "upgrade-target-not-in-table"
    assert result.contact_support
    assert "does not cover" in result.reason


@pytest.mark.parametrize("text", ["upgrade 7.5 to 7.1", "upgrade 7.2 to 7.2"])
def test_a_target_that_is_not_newer_gets_support(text):
    result = answer(text)
    assert result.rule == "upgrade-target-not-newer"
    assert result.contact_support


@pytest.mark.parametrize("text", ["upgrade", "upgrade to 7.1", "how do I upgrade?"])
def test_an_upgrade_without_a_version_asks_for_it_with_the_documented_rows(text):
    result = answer(text)
    assert (result.intent, result.rule, result.outcome) == ("upgrade", "upgrade-no-version",
                                                            "clarify")
    assert result.contact_support is False
    assert [c.label for c in result.choices] == ["7.0", "6.5.4", "6.1.4 or lower",
                                                 "earlier than 5.2.x"]
    target = " to 7.1" if "7.1" in text else ""
    assert result.choices[1].question == f"upgrade 6.5.4{target}"


@pytest.mark.parametrize(("text", "labels"), [
    ("upgrade 6.5", ["6.5.4", "another 6.5.x"]),
    ("upgrade 6.5.x", ["6.5.4", "another 6.5.x"]),
    ("upgrade 6", ["6.1.4 or lower", "6.5.4", "another 6.x"]),
    ("upgrade 6.x", ["6.1.4 or lower", "6.5.4", "another 6.x"]),
])
def test_a_version_that_spans_several_rows_asks_which_release(text, labels):
    result = answer(text)
    assert (result.rule, result.outcome) == ("upgrade-which-release", "clarify")
    assert [c.label for c in result.choices] == labels
    assert "does not cover" not in result.text


def test_each_which_release_choice_answers_its_row():
    choices = answer("upgrade 6.5 to 7.2").choices
    row, other = (answer(c.question) for c in choices)
    assert (row.rule, row.to_version) == ("upgrade-6.5.4", "7.2")
    assert other.contact_support and other.from_version == "6.5.x"
    assert "does not cover upgrading or restoring from 6.5.x" in other.reason


@pytest.mark.parametrize("text", ["upgrade 6.1", "upgrade 5", "upgrade 6.1.x not 6.1.4"])
def test_a_version_whose_every_release_leads_to_support_is_not_asked_back(text):
    result = answer(text)
    assert (result.outcome, result.choices) == ("support", ())
    assert '"6.1.4 or lower"' in result.reason


def test_a_restore_asks_which_node_with_a_choice_per_node():
    result = answer("restore")
    assert (result.rule, result.outcome) == ("restore-which-node", "clarify")
    assert [(c.label, answer(c.question).rule) for c in result.choices] == [
        ("leader", "restore-leader"), ("follower", "restore-follower"),
        ("whole cluster", "restore-cluster"), ("standalone server", "restore-standalone")]


@pytest.mark.parametrize("text", ["upgrade 7", "upgrade 7.x"])
def test_a_major_version_that_spans_one_row_is_answered(text):
    assert answer(text).rule == ROW_7


def test_a_huge_number_is_not_taken_for_a_version():
    result = answer("upgrade 99999999999999999999.1")
    assert result.rule == "upgrade-no-version"
    assert result.from_version is None
