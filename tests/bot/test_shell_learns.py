"""`pambot shell` at a terminal reads a phrase taught while it is open, without a restart."""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from tests.bot.test_cli import _read_until, shell_at_a_terminal


@pytest.mark.slow
def test_a_phrase_taught_in_another_terminal_is_read_by_the_open_shell(
        pambot_env, pambot_script, tmp_path):
    pid, fd = shell_at_a_terminal(pambot_script, pambot_env, tmp_path)
    _read_until(fd, "pam> ")
    os.write(fd, b"pdc died\r")
    assert "Sorry, I did not understand that" in _read_until(fd, "pam> ")
    taught = subprocess.run([pambot_script, "learn", "pdc", "node:leader"], env=pambot_env,
                            cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert taught.returncode == 0, taught.stderr
    deadline = time.monotonic() + 15
    while True:  # within seconds (the shell looks for new phrases every 5)
        os.write(fd, b"pdc died\r")
        if "Restore the leader" in _read_until(fd, "pam> "):
            break
        assert time.monotonic() < deadline, "the open shell never read the phrase taught"
        time.sleep(1)
    os.write(fd, b"quit\r")
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
