"""Broken rule files: each problem is caught at load with its own message, file and line."""

from pathlib import Path

import pytest

from rules import RuleFileError, answer, check_rules, load_ruleset


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"test setup: {old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1))


def only_problem(rules_dir: Path) -> str:
    problems = check_rules(rules_dir)
    assert len(problems) == 1, problems
    return str(problems[0])


def line_of(path: Path, needle: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def test_the_packaged_rules_load_and_validate():
    assert check_rules(None) == []
    assert len(load_ruleset(None).rules) >= 15


def test_an_unknown_key_is_named_with_file_and_line(rules_copy):
    path = rules_copy / "general.yaml"
    edit(path, "  - id: help\n", "  - id: help\n    colour: blue\n")
    message = only_problem(rules_copy)
    assert message.startswith(f"{path}:{line_of(path, '- id: help')}:")
    assert "rule 'help' has unknown key 'colour'" in message


def test_a_malformed_version_range(rules_copy):
    edit(rules_copy / "upgrade.yaml", 'from: "==6.5.4"', 'from: "==6.5.four"')
    message = only_problem(rules_copy)
    assert "from '==6.5.four' is not a valid version range" in message
    assert "upgrade.yaml:" in message


def test_a_range_that_matches_nothing(rules_copy):
    edit(rules_copy / "upgrade.yaml", 'to: ">=7.0,<8.0"\n    row: "6.5.4"',
         'to: ">=8.0,<7.0"\n    row: "6.5.4"')
    assert "to '>=8.0,<7.0' matches no version" in only_problem(rules_copy)


def test_two_rules_claiming_the_same_version(rules_copy):
    edit(rules_copy / "upgrade.yaml", 'from: ">=7.0,<8.0"', 'from: ">=6.5.4,<8.0"')
    problems = [str(p) for p in check_rules(rules_copy)]
    assert any("'upgrade-6.5.4'" in p and "'upgrade-7.x' both claim version 6.5.4" in p
               for p in problems), problems
    assert all("both claim version" in p for p in problems)


def test_a_gap_in_the_version_space(rules_copy):
    edit(rules_copy / "upgrade.yaml", 'from: ">6.5.4,<7.0"', 'from: ">6.5.4,<6.9"')
    message = only_problem(rules_copy)
    assert "no upgrade rule covers version 6.9" in message


def test_an_explicit_fallback_closes_a_gap(rules_copy):
    path = rules_copy / "upgrade.yaml"
    edit(path, 'from: ">6.5.4,<7.0"', 'fallback: true')
    assert check_rules(rules_copy) == []
    ruleset = load_ruleset(rules_copy)
    assert answer("upgrade 6.9", ruleset).rule == "upgrade-6.5.5-to-6.x-not-in-table"


def test_invalid_yaml_names_the_line(rules_copy):
    path = rules_copy / "restore.yaml"
    edit(path, "  - id: restore-follower\n", "  - id: restore-follower\n   bad: [unclosed\n")
    message = only_problem(rules_copy)
    assert message.startswith(f"{path}:")
    assert "not valid YAML" in message


def test_a_duplicate_yaml_key(rules_copy):
    edit(rules_copy / "general.yaml", "  - id: help\n", "  - id: help\n    id: help2\n")
    assert "duplicate key 'id'" in only_problem(rules_copy)


def test_a_duplicate_rule_id(rules_copy):
    edit(rules_copy / "restore.yaml", "id: restore-cluster-pam", "id: restore-leader-pam")
    problems = [str(p) for p in check_rules(rules_copy)]
    assert any("rule 'restore-leader-pam' is already defined at" in p for p in problems)


def test_two_rules_answering_the_same_question(rules_copy):
    edit(rules_copy / "restore.yaml", "    node: cluster\n    backup: [vm, both]",
         "    node: leader\n    backup: [vm, both]")
    problems = [str(p) for p in check_rules(rules_copy)]
    assert any("rules 'restore-leader-vm'" in p and "'restore-cluster-vm' both answer restore "
               "(node: leader, backup: vm, topology: cluster)" in p for p in problems)
    assert any("no rule answers restore (node: cluster, backup: vm, topology: cluster)" in p
               for p in problems)


def test_a_restore_situation_without_a_rule(rules_copy):
    # The standalone server's restore from its PAM Server generated backup, taken away.
    edit(rules_copy / "restore.yaml", "    backup: [pam, no-vm]\n    topology: standalone",
         "    backup: [pam, no-vm]\n    topology: cluster")
    problems = [str(p) for p in check_rules(rules_copy)]
    assert any("no rule answers restore (node: leader, backup: pam, topology: standalone)" in p
               for p in problems)


def test_a_situation_name_that_does_not_exist(rules_copy):
    edit(rules_copy / "restore.yaml", "backup: [vm, both]", "backup: [vm, tape]")
    assert "backup must be one of vm, pam, both, no-vm, none, unknown" in only_problem(rules_copy)


def test_a_step_for_a_topology_that_does_not_exist(rules_copy):
    edit(rules_copy / "upgrade.yaml", "        topology: standalone", "        topology: lonely")
    assert "topology must be one of standalone, cluster, unknown" in only_problem(rules_copy)


def test_a_restore_across_versions_must_follow_a_path_row(rules_copy):
    edit(rules_copy / "restore.yaml", "follows: upgrade-7.x", "follows: upgrade-6.1.4-or-lower")
    problems = [str(p) for p in check_rules(rules_copy)]
    assert any("follows 'upgrade-6.1.4-or-lower', which is not an upgrade row with a path" in p
               for p in problems)
    assert any("no rule answers restores across versions from row rule 'upgrade-7.x'" in p
               for p in problems)


def test_something_undocumented_must_be_the_support_prompt(rules_copy):
    path = rules_copy / "facts.yaml"
    text = path.read_text()
    start = text.index("  - id: not-documented-rollback")
    end = text.index("  - id: not-documented-duration")
    rule = text[start:end].replace("outcome: support", "outcome: fact").replace(
        "    contact_support: true\n", "")
    path.write_text(text[:start] + rule + text[end:])
    assert "case 'rollback' is something the documentation does not say: its outcome must be " \
        "support" in only_problem(rules_copy)


def test_a_missing_rule(rules_copy):
    path = rules_copy / "general.yaml"
    text = path.read_text()
    path.write_text(text[: text.index("  - id: unknown")])
    assert "no rule answers unknown" in only_problem(rules_copy)


def test_an_unknown_source(rules_copy):
    edit(rules_copy / "general.yaml", "source: restoring-backups", "source: my-blog")
    assert "cites unknown source 'my-blog'" in only_problem(rules_copy)


def test_an_unknown_intent(rules_copy):
    edit(rules_copy / "general.yaml", "intent: backup", "intent: backups")
    problems = [str(p) for p in check_rules(rules_copy)]
    assert any("intent 'backups' is not one of" in p for p in problems)


def test_an_unknown_placeholder(rules_copy):
    edit(rules_copy / "general.yaml", "contact {support_contact}.", "contact {support_team}.")
    assert "unknown placeholder(s) {support_team}" in only_problem(rules_copy)


@pytest.mark.parametrize("placeholder", [
    "{support_contact:d}", "{support_contact:>300000000}", "{support_contact!r}",
    "{node!s:>5}", "{support_contact:{node}}",
], ids=["spec", "huge-width", "conversion", "both", "nested"])
def test_a_placeholder_with_a_format_spec_or_conversion(rules_copy, placeholder):
    # These load, then fail an answer ("Unknown format code 'd'") or build a 300 MB verdict.
    path = rules_copy / "general.yaml"
    edit(path, "contact {support_contact}.", f"contact {placeholder}.")
    message = only_problem(rules_copy)
    assert message.startswith(f"{path}:{line_of(path, '- id: help')}: rule 'help': summary ")
    assert f"{placeholder} is not a plain placeholder" in message


def test_a_support_answer_without_a_reason(rules_copy):
    path = rules_copy / "upgrade.yaml"
    text = path.read_text()
    start = text.index("    reason: >-\n      The documented table does not cover an upgrade to")
    end = text.index("  - id: upgrade-target-not-newer")
    path.write_text(text[:start] + "\n" + text[end:])
    assert "a support answer needs a reason" in only_problem(rules_copy)


def test_an_empty_file(rules_copy):
    (rules_copy / "extra.yaml").write_text("")
    assert only_problem(rules_copy).endswith("extra.yaml: the file is empty")


def test_a_file_that_is_not_a_mapping(rules_copy):
    (rules_copy / "extra.yaml").write_text("- just\n- a list\n")
    assert "the top level must be a mapping" in only_problem(rules_copy)


def test_a_missing_directory(tmp_path):
    assert "no such file or directory" in only_problem(tmp_path / "nowhere")


def test_load_raises_with_every_problem(rules_copy):
    edit(rules_copy / "general.yaml", "intent: backup", "intent: backups")
    edit(rules_copy / "upgrade.yaml", 'from: "==6.5.4"', 'from: "==6.5.four"')
    with pytest.raises(RuleFileError) as raised:
        load_ruleset(rules_copy)
    assert len(raised.value.problems) >= 2
    assert "==6.5.four" in str(raised.value)


def test_settings_are_data(rules_copy):
    edit(rules_copy / "settings.yaml", "support_contact: Osirium Support",
         "support_contact: '#pam-escalations'")
    edit(rules_copy / "settings.yaml", "command: /pam", "command: /osirium")
    ruleset = load_ruleset(rules_copy)
    assert ruleset.settings.command == "/osirium"
    result = answer("upgrade 5.0", ruleset)
    assert result.verdict == "Contact #pam-escalations"
    assert "Have this ready for #pam-escalations" in result.text


def test_the_documentation_link_is_a_setting(rules_copy):
    edit(rules_copy / "settings.yaml", "docs_url: https://osirium.com/documentation/pam/",
         "docs_url: https://wiki.example.com/pam")
    result = answer("help", load_ruleset(rules_copy))
    assert "https://wiki.example.com/pam" in result.text


# --- the vocabulary (rules/data/vocabulary.yaml) ----------------------------------------------


def test_an_organisation_adds_its_own_jargon_without_code(rules_copy):
    assert answer("our edge box died").node is None
    edit(rules_copy / "vocabulary.yaml", "follower: [follower,", 'follower: ["edge box", follower,')
    assert check_rules(rules_copy) == []
    result = answer("our edge box died", load_ruleset(rules_copy))
    assert (result.rule, result.node) == ("restore-follower", "follower")


def test_a_phrase_claimed_by_two_meanings_is_named_with_its_line(rules_copy):
    path = rules_copy / "vocabulary.yaml"
    edit(path, "follower: [follower,", "follower: [leader,")
    message = only_problem(rules_copy)
    assert message.startswith(f"{path}:")
    assert "'leader' is claimed by node:leader and node:follower" in message


def test_an_unknown_vocabulary_section_or_name(rules_copy):
    edit(rules_copy / "vocabulary.yaml", "  incidents:", "  incidnets:")
    assert "unknown vocabulary section 'incidnets'" in only_problem(rules_copy)
    edit(rules_copy / "vocabulary.yaml", "  incidnets:", "  incidents:")
    edit(rules_copy / "vocabulary.yaml", "    leader: [leader,", "    leeder: [leader,")
    assert "unknown vocabulary nodes name 'leeder'" in only_problem(rules_copy)


def test_a_sound_alike_that_is_a_word_of_the_vocabulary_already(rules_copy):
    edit(rules_copy / "vocabulary.yaml", "    leader: [lieder,", "    leader: [primary, lieder,")
    assert "'primary' is a word of a phrase already; it cannot also stand for 'leader'" \
        in only_problem(rules_copy)


def test_a_phrase_that_is_not_plain_words(rules_copy):
    edit(rules_copy / "vocabulary.yaml", "incidents: [died,", "incidents: [Died!,")
    assert "'Died!' must be lower-case words" in only_problem(rules_copy)


def test_a_topic_without_a_fact_rule(rules_copy):
    edit(rules_copy / "vocabulary.yaml", "  topics:\n", "  topics:\n    licensing-terms: [eula]\n")
    assert "no rule answers fact (case: licensing-terms)" in only_problem(rules_copy)


def test_rule_files_without_a_vocabulary(rules_copy):
    (rules_copy / "vocabulary.yaml").unlink()
    assert "no 'vocabulary' section in any rule file" in only_problem(rules_copy)


# --- hostile rule files -----------------------------------------------------------------------


def test_a_yaml_alias_bomb_is_refused_at_its_line(rules_copy):
    levels = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    levels += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 9)}]" for n in range(1, 5)]
    path = rules_copy / "bomb.yaml"
    path.write_text("\n".join(levels) + "\n")
    message = only_problem(rules_copy)
    assert message.startswith(f"{path}:2:")
    assert "aliases (*a0) are not allowed in rule files" in message


def test_a_from_range_must_be_an_interval(rules_copy):
    edit(rules_copy / "upgrade.yaml", 'from: ">=7.0,<8.0"', 'from: ">=7.0,<8.0,!=7.2"')
    assert "must be a range of >=, >, <=, < or == clauses" in only_problem(rules_copy)


def test_hundreds_of_version_rows_are_checked_overlaps_and_gaps_included(rules_copy):
    path = rules_copy / "upgrade.yaml"
    edit(path, 'from: ">=8.0"', 'from: ">=8.0,<8.0.1"')
    rows = "".join(
        f"  - id: patch-8.0.{n}\n    intent: upgrade\n    from: \">=8.0.{n},<8.0.{n + 1}\"\n"
        f"    source: restoring-table\n    outcome: support\n    verdict: Contact\n"
        f"    contact_support: true\n    reason: Not in the table.\n"
        for n in range(1, 800))
    (rules_copy / "many.yaml").write_text(f"rules:\n{rows}  - id: patch-8.1\n"
                                          "    intent: upgrade\n    from: \">=8.0.800\"\n"
                                          "    source: restoring-table\n    outcome: support\n"
                                          "    verdict: Contact\n    contact_support: true\n"
                                          "    reason: Not in the table.\n")
    assert check_rules(rules_copy) == []
    ruleset = load_ruleset(rules_copy)
    assert answer("upgrade 8.0.417", ruleset).rule == "patch-8.0.417"
    edit(rules_copy / "many.yaml", 'from: ">=8.0.417,<8.0.418"', 'from: ">=8.0.416,<8.0.417"')
    problems = [str(p) for p in check_rules(rules_copy)]
    assert any("'patch-8.0.416'" in p and "both claim version 8.0.416" in p for p in problems)
    assert any("no upgrade rule covers version 8.0.417" in p for p in problems)
