"""`pambot log ...` with PAMBOT_DB and no Slack credentials: in process, and one real process."""

from __future__ import annotations

import csv
import io
import json

import pytest


def _fill(db_path, open_log, make_answer):
    log = open_log(db_path)
    for n in range(5):
        query_id = log.record_query(make_answer(f"upgrade 6.{n}"), source="cli", elapsed_ms=1.0)
    log.record_query(make_answer("upgrade 2.0", outcome="support", rule="too-old"),
                     source="slash", elapsed_ms=1.0)
    log.record_feedback(query_id, helpful=True, user="U1")
    log.close()


def test_stats_export_and_prune(db_path, open_log, make_answer, pambot_log, count_rows):
    _fill(db_path, open_log, make_answer)

    stats = pambot_log("stats", "--since", "24h")
    assert stats.exit_code == 0, stats.stderr
    assert f"Query log {db_path}: 6 queries since " in stats.stdout
    assert "    1  upgrade 2.0" in stats.stdout
    assert "Helpful votes: 1 of 1 (100.0%)" in stats.stdout

    export = pambot_log("export", "--format", "json")
    assert export.exit_code == 0, export.stderr
    assert sorted(row["text"] for row in json.loads(export.stdout)) == [
        "upgrade 2.0", "upgrade 6.0", "upgrade 6.1", "upgrade 6.2", "upgrade 6.3", "upgrade 6.4"]

    csv_export = pambot_log("export", "--since", "2000-01-01")
    assert csv_export.exit_code == 0
    assert len(csv_export.stdout.splitlines()) == 7

    prune = pambot_log("prune", "--older-than", "1d")
    assert prune.exit_code == 0
    assert "Deleted 0 queries, 0 votes and 0 checklists" in prune.stdout
    assert count_rows(db_path) == 6


def test_bad_durations_give_one_line_and_exit_2(db_path, open_log, make_answer, pambot_log):
    _fill(db_path, open_log, make_answer)
    for args in (["stats", "--since", "fortnight"], ["export", "--since", "7y"],
                 ["prune", "--older-than", "soon"]):
        result = pambot_log(*args)
        assert result.exit_code == 2
        assert "Traceback" not in result.stderr
        [line] = result.stderr.splitlines()
        assert line.startswith("pambot: --")
        assert "expected a duration such as 30m, 24h, 7d or 4w" in line


def test_no_log_yet_is_a_message_not_a_crash(db_path, pambot_log):
    stats = pambot_log("stats")
    assert stats.exit_code == 0
    assert stats.stdout.strip() == f"no queries logged yet at {db_path}"
    export = pambot_log("export")
    assert export.exit_code == 0
    assert export.stdout == ""
    assert export.stderr.strip() == f"pambot: no queries logged yet at {db_path}"
    prune = pambot_log("prune", "--older-than", "90d")
    assert prune.exit_code == 0
    assert prune.stdout.strip() == f"no queries logged yet at {db_path}; nothing to prune"
    assert not db_path.exists()


def test_a_file_that_is_not_a_database_is_a_message_not_a_crash(db_path, pambot_log):
    db_path.write_text("not a database at all\n" * 100)
    for args in (["stats"], ["export"], ["prune", "--older-than", "90d"]):
        result = pambot_log(*args)
        assert "Traceback" not in result.stdout + result.stderr
        assert "not a database" in result.stdout + result.stderr
        assert result.exit_code == 1


@pytest.mark.slow
def test_the_console_script_runs_log_stats_and_export(db_path, open_log, make_answer,
                                                      pambot_log_process):
    _fill(db_path, open_log, make_answer)
    stats = pambot_log_process("stats")
    assert stats.returncode == 0, stats.stderr
    assert "6 queries since" in stats.stdout
    export = pambot_log_process("export", "--format", "json")
    assert export.returncode == 0
    assert len(json.loads(export.stdout)) == 6
    bad = pambot_log_process("prune", "--older-than", "soon")
    assert bad.returncode == 2
    assert bad.stderr.startswith("pambot: --older-than: expected a duration")


FORMULAS = ["=HYPERLINK(\"http://evil.example\",\"click\")", "+1+1", "-2+3", "@SUM(A1)",
            "\tleading tab", "\rleading return"]


def test_csv_export_never_starts_a_cell_with_a_formula(db_path, open_log, make_answer,
                                                       pambot_log):
    log = open_log(db_path)
    for text in FORMULAS:
        log.record_query(make_answer(text), source="cli", elapsed_ms=1.0)
    log.close()
    result = pambot_log("export", "--format", "csv")
    assert result.exit_code == 0
    texts = [row["text"] for row in csv.DictReader(io.StringIO(result.stdout))]
    assert sorted(texts) == sorted("'" + t.replace("\r", "\\x0d") for t in FORMULAS)
    # JSON is data, not a spreadsheet: the text as asked.
    exported = json.loads(pambot_log("export", "--format", "json").stdout)
    assert sorted(row["text"] for row in exported) == sorted(FORMULAS)


def test_terminal_escapes_in_logged_text_never_reach_the_terminal(db_path, open_log,
                                                                  make_answer, pambot_log):
    log = open_log(db_path)
    evil = "upgrade 9.9 \x1b]0;owned\x07\x1b[2J\x9b31m\x7f"
    log.record_query(make_answer(evil, outcome="support", rule="too-new\x1b[5m"), source="cli",
                     elapsed_ms=1.0)
    log.close()
    for args in (["stats"], ["export", "--format", "csv"]):
        result = pambot_log(*args)
        assert result.exit_code == 0
        assert not any(c in result.stdout for c in "\x1b\x07\x9b"), args
        assert "\\x1b]0;owned" in result.stdout
    # JSON keeps the text exactly, every control character written as an escape.
    result = pambot_log("export", "--format", "json")
    assert not any(c in result.stdout for c in "\x1b\x07\x9b\x7f")
    assert [row["text"] for row in json.loads(result.stdout)] == [evil]


@pytest.mark.parametrize("args", [["stats", "--since", "999999w"],
                                  ["export", "--since", "999999w"],
                                  ["prune", "--older-than", "999999w"]])
def test_a_duration_reaching_before_year_one_is_one_line_and_exit_2(db_path, open_log,
                                                                    make_answer, pambot_log,
                                                                    args):
    _fill(db_path, open_log, make_answer)
    result = pambot_log(*args)
    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    assert line.startswith(f"pambot: {args[1]}: 999999w reaches back before the year 1")
