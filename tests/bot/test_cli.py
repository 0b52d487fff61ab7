"""`pambot ask`, `pambot rules check`, `pambot shell` and bare `pambot`, run as a user runs them."""

import json
import os
import pty
import select
import sqlite3
import time

from rules.load import packaged_rules_dir


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


def test_ask_prints_readable_text(run_pambot):
    result = run_pambot("ask", "restore", "leader")
    assert result.returncode == 0
    assert result.stdout.startswith("Restore the leader")
    assert "Steps:\n  1. With a VM level backup of the leader" in result.stdout


def test_ask_answers_every_stdin_line_in_order_blank_lines_included(run_pambot):
    lines = ["upgrade 6.5.4", "", "restore follower", "upgarde 7.1", "upgrade 8.0"]
    result = run_pambot("ask", "--json", input="\n".join(lines) + "\n")
    assert result.returncode == 0, result.stderr
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert [a["query"] for a in answers] == lines
    assert [a["intent"] for a in answers] == ["upgrade", "help", "restore", "unknown", "upgrade"]
    assert answers[4]["contact_support"] is True


def test_ask_logs_every_query_from_the_command_line(run_pambot, pambot_env):
    run_pambot("ask", "--json", input="upgrade 6.5.4\nrestore leader\n")
    with sqlite3.connect(pambot_env["PAMBOT_DB"]) as db:
        rows = db.execute("select source, text, rule from queries order by ts, text").fetchall()
    assert sorted(rows) == [("cli", "restore leader", "restore-leader"),
                            ("cli", "upgrade 6.5.4", "upgrade-6.5.4")]


def test_ask_still_answers_when_the_log_cannot_be_written(run_pambot, tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where a directory should be")
    result = run_pambot("ask", "--json", "upgrade 6.5.4",
                        env={"PAMBOT_DB": str(blocker / "pambot.db")})
    assert result.returncode == 0
    assert json.loads(result.stdout)["rule"] == "upgrade-6.5.4"
    assert "Traceback" not in result.stderr


def test_rules_check_passes_on_the_shipped_rules(run_pambot):
    result = run_pambot("rules", "check")
    assert result.returncode == 0
    assert result.stdout.startswith("OK: ")


def test_rules_check_fails_clearly_on_a_broken_file(run_pambot, rules_copy):
    path = rules_copy / "upgrade.yaml"
    path.write_text(path.read_text().replace('from: "==6.5.4"', 'from: "6.5.4 or so"'))
    result = run_pambot("rules", "check", str(rules_copy))
    assert result.returncode == 1
    assert f"{path}:" in result.stderr
    assert "is not a valid version range" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_broken_pambot_rules_stops_start_up_with_a_message(run_pambot, rules_copy):
    (rules_copy / "general.yaml").write_text("rules: [\n")
    result = run_pambot("ask", "help", env={"PAMBOT_RULES": str(rules_copy)})
    assert result.returncode == 2
    assert result.stderr.startswith("pambot: the rule files have 1 problem(s):")
    assert "general.yaml" in result.stderr
    assert result.stdout == ""


def test_pambot_rules_points_at_another_rule_directory(run_pambot, rules_copy):
    path = rules_copy / "settings.yaml"
    path.write_text(path.read_text().replace("support_contact: Osirium Support",
                                             "support_contact: the PAM on-call lead"))
    result = run_pambot("ask", "--json", "upgrade 5.0", env={"PAMBOT_RULES": str(rules_copy)})
    assert json.loads(result.stdout)["text"].startswith("Contact the PAM on-call lead")


def test_a_malformed_variable_is_named(run_pambot):
    result = run_pambot("ask", "help", env={"SLACK_BOT_TOKEN": "not-a-token"})
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "pambot: SLACK_BOT_TOKEN must be a bot token starting with 'xoxb-'.")


def test_shell_from_a_pipe_answers_each_line_and_exits(run_pambot):
    result = run_pambot("shell", input="upgrade 6.5.4\nrestore leader\n")
    assert result.returncode == 0
    assert result.stdout.count("Source: ") == 2
    assert result.stdout.startswith("Backup and restore required")


def test_bare_pambot_without_credentials_is_the_local_shell(run_pambot, pambot_env):
    result = run_pambot(input="backup\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Take VM level backups of every node")
    with sqlite3.connect(pambot_env["PAMBOT_DB"]) as db:
        assert db.execute("select source from queries").fetchall() == [("shell",)]


def test_shell_at_a_terminal(pambot_env, pambot_script, tmp_path):
    pid, fd = pty.fork()
    if pid == 0:  # the child: pambot at a real terminal
        try:
            os.chdir(tmp_path)
            os.execve(pambot_script, [pambot_script, "shell"], pambot_env)
        finally:
            os._exit(127)  # only reached if exec failed: never return into pytest
    screen = _read_until(fd, "pam> ")
    assert "pambot local shell" in screen
    os.write(fd, b"upgrade 6.5.4\r")
    assert "Backup and restore required" in _read_until(fd, "pam> ")
    os.write(fd, b"help\r")
    assert "Ask me about PAM Server upgrades" in _read_until(fd, "pam> ")
    os.write(fd, b"quit\r")
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert "upgrade 6.5.4" in (tmp_path / ".pambot_history").read_text()


def test_no_test_reads_the_packaged_rules_from_elsewhere():
    # The CLI tests above rely on the rules shipped inside the installed package.
    assert (packaged_rules_dir() / "upgrade.yaml").is_file()


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


def test_a_bad_log_setting_is_named(run_pambot):
    result = run_pambot("ask", "help", env={"PAMBOT_LOG_FORMAT": "xml"})
    assert result.returncode == 2
    assert result.stderr.strip() == "pambot: PAMBOT_LOG_FORMAT must be text or json, not 'xml'."
    result = run_pambot("ask", "help", env={"PAMBOT_LOG_LEVEL": "loud"})
    assert result.returncode == 2
    assert result.stderr.startswith("pambot: PAMBOT_LOG_LEVEL must be one of DEBUG, INFO")


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
