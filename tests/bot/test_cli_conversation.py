"""The conversation, the paths diagram and the checklists from the command line:
`pambot shell`, `pambot ask paths`, `pambot rules paths`, `pambot log runbooks`."""

from __future__ import annotations

import json
import re
import sqlite3

from bot.querylog import QueryLog, Runbooks, StateStore
from rules import default_ruleset
from rules.paths import render_paths


def test_the_shell_is_a_conversation_like_a_slack_thread(pambot_cli, tmp_path):
    said = ["restore", "leader", "how do we upgrade?", "2", "and the followers?", "paths",
            "backup"]
    result = pambot_cli("shell", input="\n".join(said) + "\n")
    assert result.exit_code == 0, result.output
    answers = result.stdout.split("\n\n")
    assert answers[0].startswith("A restore needs a backup file; which node failed?")
    assert "Reply with a number, or ask again:\n  1. leader  (restore leader)" in answers[0]
    assert answers[1].startswith('(read as "restore leader")\nRestore the leader')
    assert "Which version are you upgrading from?" in result.stdout
    assert '(read as "upgrade 6.5.4")\nBackup and restore required' in result.stdout
    # "and the followers?" after the 6.5.4 answer: about 6.5.4, which has followers then.
    assert '(read as "upgrade 6.5.4 in a cluster")' in result.stdout
    assert render_paths(default_ruleset()) in result.stdout
    assert result.stdout.rstrip().endswith("[rule backup-advice]")
    with sqlite3.connect(tmp_path / "pambot.db") as db:
        rows = db.execute("SELECT source, text, typed, rule FROM queries "
                          "ORDER BY ts, rowid").fetchall()
    # Logged: the question each line stood for, as the shell showed it ("read as"), and what
    # was typed when that was not the question itself. The diagram is no question.
    leader, two, followers = re.findall(r'^\(read as "(.*)"\)$', result.stdout, re.M)
    assert (leader, two) == ("restore leader", "upgrade 6.5.4")
    assert [row[:3] for row in rows] == [
        ("shell", "restore", None), ("shell", leader, "leader"),
        ("shell", "how do we upgrade?", None), ("shell", two, "2"),
        ("shell", followers, "and the followers?"), ("shell", "backup", None)]
    assert [row[3] for row in rows if row[2]] == ["restore-leader", "upgrade-6.5.4",
                                                  "upgrade-6.5.4"]


def test_log_stats_lists_the_question_a_choice_number_stood_for(pambot_cli, tmp_path):
    for conversation in ("how do we upgrade?\n4\n", "upgrade 6.5\n2\n",
                         "how do we upgrade?\n4\n"):
        assert pambot_cli("shell", input=conversation).exit_code == 0
    stats = pambot_cli("log", "stats").stdout
    unanswered = stats[stats.index("Top unanswered questions"):].splitlines()[2:4]
    assert [line.split(None, 1) for line in unanswered] == [
        ["2", "upgrade 5.1"], ["1", "upgrade 6.5.x not 6.5.4"]]


def test_a_piped_shell_stops_at_quit_as_the_prompt_does(pambot_cli):
    result = pambot_cli("shell", input="upgrade 6.5.4\nquit\nrestore leader\n")
    assert result.exit_code == 0, result.output
    assert "[rule upgrade-6.5.4]" in result.stdout
    assert "did not understand" not in result.stdout and "restore-leader" not in result.stdout


def test_ask_paths_prints_the_diagram_and_json_its_rows(pambot_cli):
    result = pambot_cli("ask", "paths")
    assert result.exit_code == 0
    assert result.stdout == render_paths(default_ruleset()) + "\n"
    data = json.loads(pambot_cli("ask", "--json", "paths").stdout)
    assert data["query"] == "paths" and data["text"] == render_paths(default_ruleset())
    [row] = [r for r in data["paths"] if r["rule"] == "upgrade-6.5.4"]
    assert row == {"versions": "6.5.4", "target": "7.x", "kind": "backup-restore",
                   "path": "backup and restore, followers rebuilt", "row": "6.5.4",
                   "rule": "upgrade-6.5.4"}


def test_rules_paths_draws_the_rule_files_it_is_given(pambot_cli, rules_copy):
    packaged = pambot_cli("rules", "paths")
    assert packaged.exit_code == 0
    assert packaged.stdout == render_paths(default_ruleset()) + "\n"
    upgrade = rules_copy / "upgrade.yaml"
    # An organisation's own rule: 7.x also goes through a backup and restore.
    upgrade.write_text(upgrade.read_text().replace("backup_restore_required: false",
                                                   "backup_restore_required: true"))
    for result in (pambot_cli("rules", "paths", str(rules_copy)),
                   pambot_cli("rules", "paths", env={"PAMBOT_RULES": str(rules_copy)})):
        assert result.exit_code == 0, result.output
        [line] = [x for x in result.stdout.splitlines() if x.startswith("7.x ")]
        assert "==>  7.x  backup and restore" in line
        assert str(rules_copy) in result.stdout.splitlines()[0]


def test_rules_paths_on_a_broken_rule_file_says_why(pambot_cli, rules_copy):
    (rules_copy / "upgrade.yaml").write_text("rules: [\n")
    result = pambot_cli("rules", "paths", str(rules_copy))
    assert result.exit_code == 1
    assert result.stderr.startswith("pambot: the rule files have")
    assert "Traceback" not in result.output


def test_log_runbooks_lists_checklists_with_their_progress(pambot_cli, tmp_path):
    path = tmp_path / "pambot.db"
    log = QueryLog(path)
    log.flush()
    log.close()
    runbooks = Runbooks(StateStore(path))
    steps = ("Take a backup", "Deploy", "Restore", "Rejoin")
    done = runbooks.start(channel="C0INC", thread_ts="1700000000.000100",
                          answer_ts="1700000000.000200", item=0, question="upgrade 6.5.4",
                          title="Backup and restore required", steps=steps,
                          started_by="U0ALICE")
    for step in range(1, 5):
        runbooks.tick(done.id, step, user="U0BOB", ticked=True)
    going = runbooks.start(channel="C0INC", thread_ts="1700000000.000100",
                           answer_ts="1700000000.000300", item=0, question="restore leader",
                           title="Restore the leader", steps=steps[:2], started_by="U0BOB")
    runbooks.tick(going.id, 2, user="U0CAROL", ticked=True)

    result = pambot_cli("log", "runbooks", "--since", "24h")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"Checklists in {path} since ") and lines[0].endswith("(24h): 2")
    assert lines[2].split() == ["Started", "(UTC)", "Channel", "Thread", "Checklist", "By",
                                "Steps", "Took"]
    assert "Backup and restore required" in lines[3] and "4/4 done" in lines[3]
    assert lines[3].rstrip().endswith("under a minute") and "U0ALICE" in lines[3]
    assert "Restore the leader" in lines[4] and "1/2" in lines[4]
    assert lines[4].rstrip().endswith("-")


def test_log_runbooks_before_any_checklist_or_log(pambot_cli, tmp_path):
    first = pambot_cli("log", "runbooks")
    assert first.exit_code == 0
    assert first.stdout.startswith("no queries logged yet at ")
    log = QueryLog(tmp_path / "pambot.db")
    log.flush()
    log.close()
    result = pambot_cli("log", "runbooks")
    assert result.exit_code == 0
    assert result.stdout.strip().endswith("(7d): 0")
    assert pambot_cli("log", "runbooks", "--since", "soon").exit_code == 2


def test_the_shell_refines_the_situation_as_it_is_told_more(pambot_cli):
    said = ["the leader died", "we only have the pam backup file, no vm snapshots",
            "will the followers be ok then?", "we're on 7.2 btw"]
    result = pambot_cli("shell", input="\n".join(said) + "\n")
    assert result.exit_code == 0, result.output
    first, pam, followers, version = result.stdout.strip().split("\n\n")
    assert first.startswith("Restore the leader from its VM level backup if you have one")
    assert pam.startswith('(read as "restore leader from the PAM Server generated backup")\n'
                          "Restore the PAM Server generated backup onto a new PAM Server")
    assert "\nNo: restoring the PAM Server generated backup builds a new cluster" in followers
    # Asking about the followers said they run followers: the thread is a cluster's now.
    assert version.startswith('(read as "restore leader on 7.2 from the PAM Server generated '
                              'backup in a cluster")\nRestore the PAM Server generated backup')
