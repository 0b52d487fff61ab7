"""`pambot ask`, `pambot rules check`, `pambot shell` and bare `pambot`.

Most run in this process through click's runner (`pambot_cli`); a few run the installed
console script as a user runs it (`run_pambot`, and a real terminal for the shell).
"""

import json
import os
import pty
import re
import select
import sqlite3
import time
import urllib.parse
from pathlib import Path

import pytest

from rules import answer, default_ruleset
from rules.load import packaged_rules_dir


def test_version(pambot_cli):
    result = pambot_cli("--version")
    assert result.exit_code == 0
    assert result.stdout.startswith("pambot, version ")


def test_an_unknown_command_or_option_is_a_usage_error(pambot_cli):
    for args in (["frobnicate"], ["ask", "--yaml", "x"], ["serve", "--port", "99999"],
                 ["log", "export", "--format", "xml"]):
        result = pambot_cli(*args)
        assert result.exit_code == 2, args
        assert "Traceback" not in result.output


@pytest.mark.slow
def test_ask_json_prints_the_contract(run_pambot, contract_keys):
    result = run_pambot("ask", "--json", "upgrade 6.5.4")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data.keys() >= contract_keys
    assert data["query"] == "upgrade 6.5.4"
    assert data["intent"] == "upgrade"
    assert data["from_version"] == "6.5.4"
    assert data["rule"] == "upgrade-6.5.4"
    assert data["backup_restore_required"] is True
    assert data["follower_rebuild"] is True
    assert data["contact_support"] is False
    assert data["text"].startswith("Backup and restore required")
    assert result.stderr == ""


def test_ask_prints_readable_text(pambot_cli):
    result = pambot_cli("ask", "restore", "leader")
    assert result.exit_code == 0
    assert result.stdout.startswith("Restore the leader")
    assert "Steps:\n  1. With a VM level backup of the leader" in result.stdout


def test_ask_explain_shows_the_tokens_the_slots_and_why(pambot_cli):
    result = pambot_cli("ask", "--explain", "not 6.5.4 but 6.1.4 on 10.0.0.5 (INC-1234)")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "6.5.4: a version said NOT to be the one" in out
    assert "10.0.0.5: ip, not a version" in out
    assert "[inc-1234|ticket]" in out
    assert "question 1: intent=upgrade, from=6.1.4, not=6.5.4" in out
    assert "answer 1: rule upgrade-6.1.4-or-lower (support)" in out
    assert "Contact Osirium Support" in out  # the answer itself follows


def test_ask_explain_shows_the_situation_read(pambot_cli):
    result = pambot_cli("ask", "--explain", "our standalone server died, we only have the PAM "
                        "backup file, no VM snapshots. will the followers be ok?")
    assert result.exit_code == 0, result.output
    assert "  - backup on hand: pam" in result.stdout
    assert "  - backup not on hand: vm" in result.stdout
    assert "  - topology: standalone" in result.stdout
    assert "situation: backup=pam, topology=standalone" in result.stdout
    yes_no = pambot_cli("ask", "--explain", "if the leader is reinstated from its VM backup, "
                        "will the followers be ok?")
    assert "focus=consequence (yes/no: followers-fine)" in yes_no.stdout
    assert "\nYes: a leader reinstated from its VM level backup" in yes_no.stdout


def test_ask_explain_in_json_adds_the_reading(pambot_cli):
    result = pambot_cli("ask", "--json", "--explain", "leader died. also 6.5.4 -> 7?")
    data = json.loads(result.stdout)
    assert data["rule"] == "restore-leader"
    assert [a["rule"] for a in data["also"]] == ["upgrade-6.5.4"]
    assert "answer 2: rule upgrade-6.5.4" in data["explain"]


BUILDER = "Preview in Slack's Block Kit Builder: https://app.slack.com/block-kit-builder/#"


def test_ask_blocks_prints_what_pambot_posts_in_slack_with_a_block_kit_builder_link(
        pambot_cli, tmp_path):
    from slack_sdk.models.blocks import Block

    from bot.blocks import answer_blocks

    result = pambot_cli("ask", "--blocks", "upgrade 6.5.4")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    with sqlite3.connect(tmp_path / "pambot.db") as db:
        [(query_id, text)] = db.execute("SELECT id, text FROM queries").fetchall()
    assert text == "upgrade 6.5.4"
    # What a mention or a DM gets: the answer's blocks, its buttons carrying the logged query.
    assert payload == {"blocks": answer_blocks(answer("upgrade 6.5.4"), query_id=str(query_id),
                                               checklist=True)}
    for block in payload["blocks"]:
        Block.parse(block).validate_json()
    # The link opens the same payload in the Builder; it is printed, never fetched.
    [line] = result.stderr.splitlines()
    assert line.startswith(BUILDER)
    fragment = line.removeprefix(BUILDER)
    assert fragment == urllib.parse.quote(fragment, safe="%")  # all of it URL-encoded
    assert json.loads(urllib.parse.unquote(fragment)) == payload


def test_ask_blocks_for_each_line_of_stdin_and_not_with_json(pambot_cli):
    result = pambot_cli("ask", "--blocks", input="restore\nupgrade 5.0\n")
    assert result.exit_code == 0, result.output
    first, second = (json.loads(line)["blocks"] for line in result.stdout.splitlines())
    assert first[0]["text"]["text"] == "A restore needs a backup file; which node failed?"
    assert second[0]["text"]["text"] == "Contact Osirium Support"
    assert [line[:len(BUILDER)] for line in result.stderr.splitlines()] == [BUILDER] * 2
    refused = pambot_cli("ask", "--blocks", "--json", "upgrade 6.5.4")
    assert refused.exit_code == 2
    assert "--blocks" in refused.stderr and refused.stdout == ""


def test_ask_answers_every_stdin_line_in_order_blank_lines_included(pambot_cli):
    lines = ["upgrade 6.5.4", "", "restore follower", "upgarde 7.1", "upgrade 8.0"]
    result = pambot_cli("ask", "--json", input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.stderr
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert [a["query"] for a in answers] == lines
    assert [a["intent"] for a in answers] == ["upgrade", "help", "restore", "unknown", "upgrade"]
    assert answers[4]["contact_support"] is True


def test_ask_logs_every_query_from_the_command_line(pambot_cli, tmp_path):
    pambot_cli("ask", "--json", input="upgrade 6.5.4\nrestore leader\n")
    with sqlite3.connect(tmp_path / "pambot.db") as db:
        rows = db.execute("select source, text, rule from queries order by ts, text").fetchall()
    assert sorted(rows) == [("cli", "restore leader", "restore-leader"),
                            ("cli", "upgrade 6.5.4", "upgrade-6.5.4")]


def test_ask_still_answers_when_the_log_cannot_be_written(pambot_cli, tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where a directory should be")
    result = pambot_cli("ask", "--json", "upgrade 6.5.4",
                        env={"PAMBOT_DB": str(blocker / "pambot.db")})
    assert result.exit_code == 0
    assert json.loads(result.stdout)["rule"] == "upgrade-6.5.4"
    assert "Traceback" not in result.stderr


def test_rules_check_passes_on_the_shipped_rules(pambot_cli):
    result = pambot_cli("rules", "check")
    assert result.exit_code == 0
    assert result.stdout.startswith("OK: ")


def test_rules_check_fails_clearly_on_a_broken_file(pambot_cli, rules_copy):
    path = rules_copy / "upgrade.yaml"
    path.write_text(path.read_text().replace('from: "==6.5.4"', 'from: "6.5.4 or so"'))
    result = pambot_cli("rules", "check", str(rules_copy))
    assert result.exit_code == 1
    assert f"{path}:" in result.stderr
    assert "is not a valid version range" in result.stderr
    assert "Traceback" not in result.stderr


def test_rules_check_on_one_file_checks_it_with_the_packaged_files_it_does_not_replace(
        pambot_cli, tmp_path):
    mine = tmp_path / "upgrade.yaml"
    mine.write_text((packaged_rules_dir() / "upgrade.yaml").read_text())
    result = pambot_cli("rules", "check", str(mine))
    assert result.exit_code == 0, result.output
    others = sorted(p.name for p in packaged_rules_dir().glob("*.yaml") if p.name != mine.name)
    assert result.stdout == (f"OK: {len(default_ruleset().rules)} rules in {mine}, with the "
                             f"packaged {', '.join(others)}\n")
    # A problem in the file is named with its line.
    mine.write_text(mine.read_text().replace('from: "==6.5.4"', 'from: "6.5.4 or so"'))
    result = pambot_cli("rules", "check", str(mine))
    assert result.exit_code == 1
    assert f"{mine}:" in result.stderr and "is not a valid version range" in result.stderr
    # A file of another name joins every packaged file: a rule of its own for 6.5.4 clashes.
    extra = tmp_path / "ours.yaml"
    extra.write_text("rules:\n  - id: ours-6.5.4\n    intent: upgrade\n"
                     '    from: "==6.5.4"\n    source: restoring-table\n    outcome: path\n'
                     "    verdict: Ask the on-call lead first\n")
    result = pambot_cli("rules", "check", str(extra))
    assert result.exit_code == 1
    assert f"rules 'ours-6.5.4' ({extra}:2) and 'upgrade-6.5.4' both claim version 6.5.4" \
        in result.stderr


def test_one_rule_file_of_your_own_answers_with_the_packaged_rest(pambot_cli, tmp_path):
    mine = tmp_path / "upgrade.yaml"
    # An organisation's own rule: 7.x also goes through a backup and restore.
    mine.write_text((packaged_rules_dir() / "upgrade.yaml").read_text().replace(
        "backup_restore_required: false", "backup_restore_required: true"))
    result = pambot_cli("ask", "--json", "upgrade 7.0", env={"PAMBOT_RULES": str(mine)})
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["backup_restore_required"] is True
    paths = pambot_cli("rules", "paths", str(mine))
    assert paths.exit_code == 0, paths.output
    [line] = [x for x in paths.stdout.splitlines() if x.startswith("7.x ")]
    assert "==>  7.x  backup and restore" in line


def files_under(folder):
    return {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts}


def test_rules_init_writes_a_copy_of_the_packaged_rules_to_keep_and_edit(pambot_cli, tmp_path):
    target = tmp_path / "site" / "our-rules"
    result = pambot_cli("rules", "init", str(target))
    assert result.exit_code == 0, result.output
    # Whatever files are packaged, byte for byte.
    assert files_under(target) == files_under(packaged_rules_dir())
    assert result.stdout.startswith(f"Wrote {len(files_under(target))} rule files to {target}")
    assert f"PAMBOT_RULES={target}" in result.stdout
    assert pambot_cli("rules", "check", str(target)).exit_code == 0
    settings = target / "settings.yaml"
    settings.write_text(settings.read_text().replace("support_contact: Osirium Support",
                                                     "support_contact: the PAM on-call lead"))
    result = pambot_cli("ask", "--json", "upgrade 5.0", env={"PAMBOT_RULES": str(target)})
    assert json.loads(result.stdout)["text"].startswith("Contact the PAM on-call lead")


def test_rules_init_never_overwrites_a_file(pambot_cli, tmp_path):
    target = tmp_path / "our-rules"
    target.mkdir()
    (target / "upgrade.yaml").write_text("ours")
    result = pambot_cli("rules", "init", str(target))
    assert result.exit_code == 1
    assert result.stderr == (f"pambot: {target / 'upgrade.yaml'} exists; rules init writes only "
                             "new files (nothing was written): give a new or empty directory\n")
    assert files_under(target) == {Path("upgrade.yaml"): b"ours"}
    (target / "upgrade.yaml").unlink()
    taken = tmp_path / "a-file"
    taken.write_text("x")
    result = pambot_cli("rules", "init", str(taken))
    assert result.exit_code == 1
    assert result.stderr == f"pambot: {taken} is a file, not a directory\n"


def test_a_broken_pambot_rules_stops_start_up_with_a_message(pambot_cli, rules_copy):
    (rules_copy / "general.yaml").write_text("rules: [\n")
    result = pambot_cli("ask", "help", env={"PAMBOT_RULES": str(rules_copy)})
    assert result.exit_code == 2
    assert result.stderr.startswith("pambot: the rule files have 1 problem(s):")
    assert "general.yaml" in result.stderr
    assert result.stdout == ""


def test_pambot_rules_points_at_another_rule_directory(pambot_cli, rules_copy):
    path = rules_copy / "settings.yaml"
    path.write_text(path.read_text().replace("support_contact: Osirium Support",
                                             "support_contact: the PAM on-call lead"))
    result = pambot_cli("ask", "--json", "upgrade 5.0", env={"PAMBOT_RULES": str(rules_copy)})
    assert json.loads(result.stdout)["text"].startswith("Contact the PAM on-call lead")


@pytest.mark.parametrize("args", [
    ("ask", "upgrade 6.5.4"), ("shell",), ("log", "stats"), ("log", "export"),
    ("log", "runbooks"), ("log", "prune", "--older-than", "90d"), ("log", "serve"),
], ids=" ".join)
def test_pambot_db_naming_a_directory_is_one_line_saying_so(pambot_cli, tmp_path, args):
    folder = tmp_path / "data"
    folder.mkdir()
    result = pambot_cli(*args, input="upgrade 6.5.4\n", env={"PAMBOT_DB": str(folder)})
    assert result.exit_code == 2, result.output
    assert result.stderr == (f"pambot: PAMBOT_DB names a directory, {folder}: it must name the "
                             f"query log's file, for example {folder / 'pambot.db'}.\n")
    assert result.stdout == ""


@pytest.mark.parametrize("args", [("log", "stats"), ("log", "export"), ("ask", "help")],
                         ids=" ".join)
def test_pambot_db_naming_a_device_is_one_line_saying_what_is_wrong(pambot_cli, args):
    # "no queries logged yet at /dev/null" hid the mistake.
    result = pambot_cli(*args, env={"PAMBOT_DB": os.devnull})
    assert result.exit_code == 2, result.output
    assert result.stderr == (f"pambot: PAMBOT_DB names {os.devnull}, a character device, not a "
                             "file: it must name the query log's file, for example pambot.db.\n")


def test_a_malformed_variable_is_named(pambot_cli):
    result = pambot_cli("ask", "help", env={"SLACK_BOT_TOKEN": "not-a-token"})
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "pambot: SLACK_BOT_TOKEN must be a bot token starting with 'xoxb-'.")


def test_shell_from_a_pipe_answers_each_line_and_exits(pambot_cli):
    result = pambot_cli("shell", input="upgrade 6.5.4\nrestore leader\n")
    assert result.exit_code == 0
    assert result.stdout.count("Source: ") == 2
    assert result.stdout.startswith("Backup and restore required")


@pytest.mark.slow
def test_bare_pambot_without_credentials_is_the_local_shell(run_pambot, pambot_env):
    result = run_pambot(input="backup\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Take VM level backups of every node")
    with sqlite3.connect(pambot_env["PAMBOT_DB"]) as db:
        assert db.execute("select source from queries").fetchall() == [("shell",)]


@pytest.mark.slow
def test_shell_at_a_terminal(pambot_env, pambot_script, tmp_path):
    pid, fd = shell_at_a_terminal(pambot_script, pambot_env, tmp_path)
    screen = _read_until(fd, "pam> ")
    assert "pambot local shell" in screen
    os.write(fd, b"upgrade 6.5.4\r")
    assert "Backup and restore required" in _read_until(fd, "pam> ")
    os.write(fd, b"help\r")
    assert "Ask me about PAM Server upgrades" in _read_until(fd, "pam> ")
    # The same conversation as in a Slack thread: a choice by its number.
    os.write(fd, b"restore\r")
    assert "2. follower" in _read_until(fd, "pam> ")
    os.write(fd, b"2\r")
    assert "Restore the follower" in _read_until(fd, "pam> ")
    os.write(fd, b"quit\r")
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert "upgrade 6.5.4" in (tmp_path / ".pambot_history").read_text()


# A path built to the checkout's rule files: "rules/data", "rules" / "data".
CHECKOUT_RULES = re.compile(r"""["']rules/data|["']rules["']\s*/\s*["']data["']""")


def test_no_test_reads_the_packaged_rules_from_elsewhere(pambot_cli, monkeypatch):
    # CI installs pambot non-editably, so the tests check the rule files shipped in the
    # package: the installed `rules` package's own data, never the checkout's rules/data,
    # nor a developer's PAMBOT_RULES.
    import rules

    assert packaged_rules_dir() == Path(rules.__file__).parent / "data"
    assert default_ruleset().origin == "packaged rules" and default_ruleset().rules
    monkeypatch.setenv("PAMBOT_RULES", "/nonexistent/rules")
    result = pambot_cli("rules", "check")
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith(f" in {packaged_rules_dir()}\n")
    tests = Path(__file__).resolve().parents[1]
    found = [f"{path.relative_to(tests)}:{number}"
             for path in sorted(tests.rglob("*.py")) if path != Path(__file__).resolve()
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if CHECKOUT_RULES.search(line.split("#")[0])]
    assert found == [], "tests that read the checkout's rule files instead of the packaged ones"


def shell_at_a_terminal(pambot_script: str, env: dict, cwd: Path) -> tuple[int, int]:
    """`pambot shell` started at a real terminal in `cwd`: its pid and the terminal's fd."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: pambot at a real terminal
        try:
            os.chdir(cwd)
            os.execve(pambot_script, [pambot_script, "shell"], env)
        finally:
            os._exit(127)  # only reached if exec failed: never return into pytest
    return pid, fd


def _read_until(fd: int, marker: str, timeout: float = 20) -> str:
    seen = ""
    deadline = time.monotonic() + timeout
    while marker not in seen:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"no {marker!r} in terminal output: {seen!r}")
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready:
            seen += os.read(fd, 4096).decode(errors="replace")
    return seen


@pytest.mark.slow
def test_a_long_pipe_of_questions_is_logged_in_full(run_pambot, pambot_env):
    # More questions than the log writer can keep up with: pambot waits for it, drops nothing.
    count = 25_000
    lines = "".join(f"upgrade 6.5.{n % 9}\n" for n in range(count))
    result = run_pambot("ask", "--json", input=lines, timeout=180)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("\n") == count
    assert "dropped" not in result.stderr
    with sqlite3.connect(pambot_env["PAMBOT_DB"]) as db:
        assert db.execute("select count(*) from queries").fetchone() == (count,)


@pytest.mark.slow
def test_an_argument_that_is_not_utf8_is_answered_and_logged(run_pambot, pambot_env):
    # "\udcff" is how Python hands over the byte 0xff; subprocess sends the byte itself.
    result = run_pambot("ask", "--json", "upgrade \udcff 6.5.4")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["query"] == "upgrade \ufffd 6.5.4"
    assert "Traceback" not in result.stderr
    with sqlite3.connect(pambot_env["PAMBOT_DB"]) as db:
        assert db.execute("select text from queries").fetchall() == [("upgrade \ufffd 6.5.4",)]


def test_piped_lines_that_are_not_utf8_are_answered_and_logged(pambot_cli, tmp_path):
    result = pambot_cli("ask", "--json", input=b"upgrade \xff 6.5.4\nrestore leader\n")
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["query"] for line in result.stdout.splitlines()] == [
        "upgrade \ufffd 6.5.4", "restore leader"]
    with sqlite3.connect(tmp_path / "pambot.db") as db:
        assert db.execute("select count(*) from queries").fetchone() == (2,)


def test_a_bad_log_setting_is_named(pambot_cli):
    result = pambot_cli("ask", "help", env={"PAMBOT_LOG_FORMAT": "xml"})
    assert result.exit_code == 2
    assert result.stderr.strip() == "pambot: PAMBOT_LOG_FORMAT must be text or json, not 'xml'."
    result = pambot_cli("ask", "help", env={"PAMBOT_LOG_LEVEL": "loud"})
    assert result.exit_code == 2
    assert result.stderr.startswith("pambot: PAMBOT_LOG_LEVEL must be one of DEBUG, INFO")


@pytest.mark.slow
def test_command_line_tools_log_json_at_the_level_asked_without_the_question(run_pambot):
    result = run_pambot("ask", "upgrade 6.5.4 tapir-canary-5",
                        env={"PAMBOT_LOG_FORMAT": "json", "PAMBOT_LOG_LEVEL": "INFO"})
    assert result.returncode == 0
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    # A new query log file says so at INFO; the question itself is only in the answer.
    assert any(line["logger"] == "pambot.querylog" for line in lines)
    assert all(line.keys() >= {"time", "level", "logger", "message"} for line in lines)
    assert "tapir-canary-5" not in result.stderr
    assert run_pambot("ask", "upgrade 6.5.4").stderr == ""


def test_a_signing_secret_of_the_wrong_shape_is_named_with_what_it_should_be(pambot_cli):
    result = pambot_cli("ask", "help", env={"SLACK_SIGNING_SECRET": "abc"})
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "pambot: SLACK_SIGNING_SECRET must be the app's signing secret (16 to 128 letters and "
        "digits, as shown under Basic Information).")


def test_help_shows_what_to_try_including_facts_and_the_paths_diagram(pambot_cli):
    result = pambot_cli("ask", "help")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[1].endswith("Try:") and "Steps:" not in result.stdout
    assert "  - what does a backup contain? (also: ports, the Master Encryption Key, " \
           "clustering)" in lines
    assert "  - paths (every upgrade path at a glance)" in lines
