"""`pambot log review`, `pambot learn` and `pambot rules diff` (issue 16), run as a user runs
them: the installed console script in a subprocess, the log a real SQLite file in tmp_path
(`run_pambot`: PAMBOT_DB is tmp_path/pambot.db, no Slack credentials)."""

import json
import os
import shutil
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.slow

JARGON = "the pdc is down"


def one_line_problem(result, code: int = 2) -> str:
    """The single `pambot: ...` line a refused command prints, nothing on stdout."""
    assert result.returncode == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("pambot: "), result.stderr
    return lines[0]


def ask(run_pambot, question: str, **env) -> str:
    result = run_pambot("ask", question, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout


def not_understood(reply: str) -> bool:
    return reply.startswith("Sorry, I did not understand")


@pytest.fixture
def jargon_asked(run_pambot):
    """Someone asked the jargon question three times, and one question pambot reads."""
    for question in (JARGON, JARGON, "PDC is down!!", "upgrade 6.5.4"):
        ask(run_pambot, question)
    return run_pambot


def rule_dirs(run_pambot, tmp_path: Path) -> tuple[Path, Path]:
    """Two copies of the packaged rules (`pambot rules init`); NEW's vocabulary reads "pdc"
    as the leader, edited by hand."""
    old, new = tmp_path / "rules-v1", tmp_path / "rules-v2"
    for directory in (old, new):
        assert run_pambot("rules", "init", str(directory)).returncode == 0
    vocabulary = new / "vocabulary.yaml"
    text = vocabulary.read_text(encoding="utf-8")
    assert "    leader: [leader, " in text
    vocabulary.write_text(text.replace("    leader: [leader, ", "    leader: [pdc, leader, "),
                          encoding="utf-8")
    return old, new


# ---- review ---------------------------------------------------------------------------------


def test_review_shows_the_jargon_question_its_unknown_word_and_how_to_teach_it(jargon_asked):
    result = jargon_asked("log", "review")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"'{JARGON}'  asked 3x" in out
    assert "'PDC is down!!'" in out  # the other wording, in the same group
    assert "unknown word 'pdc'" in out
    assert "pambot learn pdc node:leader" in out
    assert "upgrade 6.5.4" not in out  # pambot read it
    assert result.stderr == ""


def test_review_json_is_a_list_of_groups_with_their_questions_and_unknown_words(jargon_asked):
    result = jargon_asked("log", "review", "--json")
    assert result.returncode == 0, result.stderr
    groups = json.loads(result.stdout)
    assert isinstance(groups, list) and len(groups) == 1
    [found] = groups
    assert found["question"] == JARGON and found["asked"] == 3
    assert found["questions"] == [{"text": JARGON, "asked": 2},
                                  {"text": "PDC is down!!", "asked": 1}]
    [word] = found["unknown_words"]
    assert word["word"] == "pdc"
    assert word["meanings"][:2] == ["node:leader", "node:follower"]


# ---- learn ------------------------------------------------------------------------------------


def test_a_dry_run_shows_before_and_after_and_teaches_nothing(jargon_asked):
    result = jargon_asked("learn", "pdc", "node:leader", "--dry-run")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"'{JARGON}' (asked 2x)" in out
    before = out[out.index("before:"):].splitlines()[0]
    after = out[out.index("after:"):].splitlines()[0]
    assert "did not understand" in before
    assert "Restore the leader" in after
    assert "upgrade 6.5.4" not in out
    assert "Nothing learned" in out
    assert "No phrases taught" in jargon_asked("learn", "--list").stdout
    assert not_understood(ask(jargon_asked, JARGON))


def test_learning_a_phrase_makes_ask_read_it_and_list_says_who_and_when(jargon_asked):
    taught = jargon_asked("learn", "pdc", "node:leader", "--as", "ops@example.com")
    assert taught.returncode == 0, taught.stderr
    assert "Learned: 'pdc' means node:leader (taught by ops@example.com)" in taught.stdout
    assert "after:  Restore the leader" in taught.stdout  # what now reads differently
    assert ask(jargon_asked, JARGON).startswith("Restore the leader")
    listed = jargon_asked("learn", "--list")
    assert listed.returncode == 0
    [line] = listed.stdout.splitlines()
    phrase, meaning, who, when = line.split()
    assert (phrase, meaning, who) == ("pdc", "node:leader", "ops@example.com")
    assert when[:4].isdigit() and "T" in when  # an ISO 8601 time
    again = jargon_asked("learn", "PDC", "node:leader")
    assert again.returncode == 0 and "already means node:leader" in again.stdout


def test_a_host_name_is_taught_as_the_user_types_it(run_pambot):
    ask(run_pambot, "pdc-1 is down")
    taught = run_pambot("learn", "PDC-1", "node:leader")
    assert taught.returncode == 0, taught.stderr
    assert "'pdc-1 is down' (asked 1x)" in taught.stdout  # it says what now reads otherwise
    assert ask(run_pambot, "pdc-1 is down").startswith("Restore the leader")


def test_a_phrase_that_already_means_something_else_is_refused_in_one_line(run_pambot):
    line = one_line_problem(run_pambot("learn", "leader", "node:follower"))
    assert "'leader'" in line and "node:leader" in line
    assert not_understood(ask(run_pambot, JARGON))
    assert ask(run_pambot, "the leader is down").startswith("Restore the leader")


def test_reteaching_a_taught_phrase_another_meaning_is_refused_naming_who_taught_it(
        run_pambot):
    assert run_pambot("learn", "pdc", "node:leader", "--as", "alice@ops").returncode == 0
    line = one_line_problem(run_pambot("learn", "pdc", "node:follower"))
    assert "node:leader" in line and "alice@ops" in line and "--forget" in line
    assert ask(run_pambot, JARGON).startswith("Restore the leader")


def test_a_meaning_that_does_not_exist_is_refused_in_one_line(run_pambot):
    line = one_line_problem(run_pambot("learn", "pdc", "node:boss"))
    assert "node:boss" in line and "pambot learn --meanings" in line
    assert "No phrases taught" in run_pambot("learn", "--list").stdout


def test_forgetting_a_phrase_stops_ask_reading_it(run_pambot):
    assert run_pambot("learn", "pdc", "node:leader").returncode == 0
    forgot = run_pambot("learn", "--forget", "pdc")
    assert forgot.returncode == 0, forgot.stderr
    assert "Forgot 'pdc'" in forgot.stdout
    assert not_understood(ask(run_pambot, JARGON))
    line = one_line_problem(run_pambot("learn", "--forget", "pdc"), code=2)
    assert "'pdc' was not taught" in line


def test_learn_without_a_phrase_and_meaning_is_a_usage_error(run_pambot):
    for args in (["learn"], ["learn", "pdc"]):
        line = one_line_problem(run_pambot(*args))
        assert "PHRASE" in line and "MEANING" in line, args


# ---- export and rules check -------------------------------------------------------------------


def test_the_exported_vocabulary_checks_and_is_read_from_a_rule_directory(run_pambot,
                                                                          tmp_path):
    assert run_pambot("learn", "pdc", "node:leader").returncode == 0
    checked = run_pambot("rules", "check")
    assert checked.returncode == 0, checked.stderr
    assert "1 phrase(s) taught" in checked.stdout
    exported = run_pambot("learn", "--export", "vocabulary.yaml")
    assert exported.returncode == 0, exported.stderr
    written = (tmp_path / "vocabulary.yaml").read_bytes()
    assert "pdc" in yaml.safe_load(written)["vocabulary"]["nodes"]["leader"]

    ours = tmp_path / "our-rules"
    assert run_pambot("rules", "init", str(ours)).returncode == 0
    shutil.copy(tmp_path / "vocabulary.yaml", ours / "vocabulary.yaml")
    empty = {"PAMBOT_DB": str(tmp_path / "empty.db")}
    checked = run_pambot("rules", "check", str(ours), env=empty)
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.startswith("OK: ")
    in_force = {**empty, "PAMBOT_RULES": str(ours)}
    assert ask(run_pambot, JARGON, **in_force).startswith("Restore the leader")
    # The team keeps the file in git, while the phrase is still in the database: both agree.
    still = run_pambot("rules", "check", str(ours))
    assert still.returncode == 0, still.stderr
    assert ask(run_pambot, JARGON, PAMBOT_RULES=str(ours)).startswith("Restore the leader")

    line = one_line_problem(run_pambot("learn", "--export", "vocabulary.yaml"), code=1)
    assert "vocabulary.yaml exists" in line
    assert (tmp_path / "vocabulary.yaml").read_bytes() == written


def test_export_to_standard_output_is_the_vocabulary_file(run_pambot):
    assert run_pambot("learn", "nimbus", "backup:vm").returncode == 0
    result = run_pambot("learn", "--export", "-")
    assert result.returncode == 0, result.stderr
    assert "nimbus" in yaml.safe_load(result.stdout)["vocabulary"]["backups"]["vm"]


# ---- rules diff ---------------------------------------------------------------------------------


def test_rules_diff_lists_the_questions_whose_answers_change(jargon_asked, tmp_path):
    old, new = rule_dirs(jargon_asked, tmp_path)
    result = jargon_asked("rules", "diff", str(old), str(new))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "3 distinct logged question(s) (4 asked)" in out
    assert "2 logged question(s), asked 3 time(s), answer differently" in out
    assert out.index(f"'{JARGON}' (asked 2x)") < out.index("'PDC is down!!' (asked 1x)")
    assert "Restore the leader" in out and "upgrade 6.5.4" not in out

    listed = json.loads(jargon_asked("rules", "diff", str(old), str(new), "--json").stdout)
    assert [(c["question"], c["asked"]) for c in listed] == [(JARGON, 2), ("PDC is down!!", 1)]
    assert [(c["before"]["rule"], c["after"]["rule"], c["after"]["node"]) for c in listed] == [
        ("unknown", "restore-leader", "leader")] * 2

    same = jargon_asked("rules", "diff", str(old), str(old))
    assert same.returncode == 0 and "No logged question would answer differently" in same.stdout


def test_rules_diff_learned_compares_without_and_with_the_phrases_taught(jargon_asked):
    nothing = jargon_asked("rules", "diff", "--learned")
    assert nothing.returncode == 0 and nothing.stdout.startswith("No phrases taught in ")
    assert jargon_asked("learn", "pdc", "node:follower").returncode == 0
    result = jargon_asked("rules", "diff", "--learned", "--json")
    assert result.returncode == 0, result.stderr
    assert [(c["question"], c["after"]["node"]) for c in json.loads(result.stdout)] == [
        (JARGON, "follower"), ("PDC is down!!", "follower")]


def test_rules_diff_usage_errors_are_one_line(run_pambot, tmp_path):
    old, new = rule_dirs(run_pambot, tmp_path)
    for args in ([], [str(old)], [str(old), str(new), "--learned"], [str(old), "--learned"]):
        line = one_line_problem(run_pambot("rules", "diff", *args))
        assert "pambot rules diff OLD NEW" in line and "--learned" in line, args


def test_rules_diff_of_a_rule_directory_with_a_problem_says_so(jargon_asked, tmp_path):
    old, new = rule_dirs(jargon_asked, tmp_path)
    (new / "vocabulary.yaml").write_text("vocabulary: [", encoding="utf-8")
    result = jargon_asked("rules", "diff", str(old), str(new))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "vocabulary.yaml" in result.stderr


# ---- nothing logged yet, and a file that is no database ---------------------------------------


def test_with_no_query_log_yet_each_command_says_so_plainly(run_pambot, tmp_path):
    review = run_pambot("log", "review")
    said = (review.stdout + review.stderr).strip()
    assert "no queries logged yet" in said.lower() and len(said.splitlines()) == 1
    assert "Traceback" not in said and review.returncode in (0, 1)
    old, new = rule_dirs(run_pambot, tmp_path)
    diff = run_pambot("rules", "diff", str(old), str(new))
    assert diff.returncode == 0 and "Traceback" not in diff.stderr
    assert diff.stdout.startswith("No queries logged yet at ")
    assert run_pambot("rules", "diff", str(old), str(new), "--json").stdout == "[]\n"
    dry = run_pambot("learn", "pdc", "node:leader", "--dry-run")
    assert dry.returncode == 0 and "Nothing learned" in dry.stdout
    assert "No phrases taught" in run_pambot("learn", "--list").stdout


@pytest.mark.parametrize("args", [
    ["log", "review"], ["log", "review", "--json"], ["learn", "pdc", "node:leader"],
    ["learn", "pdc", "node:leader", "--dry-run"], ["learn", "--list"],
    ["learn", "--forget", "pdc"], ["learn", "--export", "-"], ["rules", "diff", "--learned"],
    ["rules", "diff", "OLD", "NEW"],
], ids=" ".join)
def test_a_file_that_is_no_database_is_one_clear_line_and_is_left_as_it_was(run_pambot,
                                                                            tmp_path, args):
    corrupt = tmp_path / "pambot.db"
    corrupt.write_bytes(os.urandom(64 * 1024))
    before = corrupt.read_bytes()
    if "OLD" in args:
        old, new = rule_dirs(run_pambot, tmp_path)
        args = [str(old) if a == "OLD" else str(new) if a == "NEW" else a for a in args]
    line = one_line_problem(run_pambot(*args), code=1)
    assert str(corrupt) in line and "not a database" in line
    assert corrupt.read_bytes() == before


@pytest.mark.parametrize("phrase", ["the", "is not", "Please, NOW"])
def test_everyday_words_are_refused_they_would_be_read_in_most_questions(run_pambot, phrase):
    line = one_line_problem(run_pambot("learn", phrase, "node:leader"))
    assert "everyday words" in line
    assert ask(run_pambot, "upgrade 6.5.4").startswith("Backup and restore required")


def test_the_whole_loop_on_postgresql_never_showing_the_password(run_pambot, pg_target):
    def on_pg(*args):
        result = run_pambot(*args, env={"PAMBOT_DB": pg_target})
        password = pg_target.split(":")[2].split("@")[0]
        assert password not in result.stdout + result.stderr
        assert result.returncode == 0, result.stderr
        return result.stdout

    assert not_understood(on_pg("ask", JARGON))
    review = json.loads(on_pg("log", "review", "--json"))
    assert review[0]["question"] == JARGON and review[0]["unknown_words"][0]["word"] == "pdc"
    assert "now read differently" in on_pg("learn", "pdc", "node:leader", "--as", "alice")
    assert on_pg("ask", JARGON).startswith("Restore the leader")
    assert on_pg("learn", "--list").startswith("pdc  node:leader")
    assert "1 phrase(s) taught in postgresql://" in on_pg("rules", "check")
    assert json.loads(on_pg("rules", "diff", "--learned", "--json"))[0]["question"] == JARGON
    assert on_pg("log", "review", "--json") == "[]\n"
    on_pg("learn", "--forget", "pdc")
    assert not_understood(on_pg("ask", JARGON))


def test_mistakes_a_newcomer_makes_are_named_plainly(run_pambot):
    assert "versions and numbers" in one_line_problem(run_pambot("learn", "6.5.4", "node:leader"))
    assert run_pambot("learn", "mothership", "node:leader").returncode == 0
    # The meaning that does not exist is the problem named, not the phrase taught before.
    line = one_line_problem(run_pambot("learn", "mothership2", "node:boss"))
    assert "'node:boss' is not a meaning" in line
    # A typo of a word taught is a spelling of it.
    assert run_pambot("learn", "mothreship", "spelling:mothership").returncode == 0
    assert ask(run_pambot, "the mothreship died").startswith("Restore the leader")
    # A numbered host name is taught by its name, and pambot says what that means.
    taught = run_pambot("learn", "vault-01", "node:follower")
    assert taught.returncode == 0, taught.stderr
    assert "every vault-NN means the same" in taught.stdout
    assert ask(run_pambot, "vault-02 died").startswith("Restore the follower")


def test_phrases_exported_into_the_rule_files_are_marked_and_not_compared_again(
        run_pambot, tmp_path):
    assert run_pambot("learn", "pdc", "node:leader").returncode == 0
    assert run_pambot("rules", "init", "our-rules").returncode == 0
    assert run_pambot("learn", "--export", "vocabulary.new.yaml").returncode == 0
    (tmp_path / "vocabulary.new.yaml").replace(tmp_path / "our-rules" / "vocabulary.yaml")
    mine = {"PAMBOT_RULES": str(tmp_path / "our-rules")}
    listed = run_pambot("learn", "--list", env=mine)
    assert "(in the rule files too: --forget it at will)" in listed.stdout
    diff = run_pambot("rules", "diff", "--learned", env=mine)
    assert diff.returncode == 0 and "are all in" in diff.stdout
    check = run_pambot("rules", "check", env=mine)
    assert check.returncode == 0 and "taught" not in check.stdout
