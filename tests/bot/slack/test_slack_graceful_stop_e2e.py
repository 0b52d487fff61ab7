"""A graceful stop (SIGTERM) or rules reload (SIGHUP) of `pambot serve` lets clicks in
progress finish: the answer posted, the choices marked as picked, the click logged."""

from __future__ import annotations

import json
import signal
import sqlite3
import time

import pytest

from tests.bot.slack.conftest import mention_envelope, start_socket, wait

pytestmark = pytest.mark.slow

# How long Slack takes to accept the click's answer: the stop arrives meanwhile.
SLOW_POST_S = 2.5


def click_during_slow_post(server, slack, standin):
    """A choice clicked on an answer in a thread while Slack is slow; (channel, the click's
    response_url name). Returns once the click's post is under way."""
    channel = slack.unique("C")
    slack.event({"type": "app_mention", "user": "U0ASKER", "channel": channel,
                 "text": f"<@{slack.BOT_USER}> restore", "ts": "1700004000.000100"})
    [asking] = standin.posted(lambda c: c.body.get("channel") == channel)
    standin.slow_next("chat.postMessage", SLOW_POST_S)
    name = slack.click_on(asking, "pam_choice_0", user="U0CLICK")
    time.sleep(0.5)  # the click's handler is now waiting on chat.postMessage
    return channel, name


def finished(server, standin, channel: str, name: str) -> None:
    """The click was answered, its choices marked as picked, and it is in the query log."""
    [_, answer] = standin.wait_for(
        lambda: standin.posted(lambda c: c.body.get("channel") == channel), count=2)
    assert "restore-leader" in json.dumps(answer.body["blocks"])
    [marked] = standin.wait_for(lambda: standin.responses(name))
    assert marked.body["replace_original"] is True
    assert "pam_choice_0" not in json.dumps(marked.body["blocks"])
    assert server.rows("SELECT source, rule FROM queries WHERE channel = ? AND "
                       "source = 'button'", (channel,)) == [("button", "restore-leader")]


def test_sigterm_lets_a_click_in_progress_finish(fresh_server, slack_to, standin):
    server = fresh_server()
    slack = slack_to(server)
    channel, name = click_during_slow_post(server, slack, standin)
    assert fresh_server.stop(server) == 0
    finished(server, standin, channel, name)
    assert "not kept" not in server.log()


def test_a_sighup_reload_lets_a_click_in_progress_finish(fresh_server, slack_to, standin):
    server = fresh_server()
    slack = slack_to(server)
    channel, name = click_during_slow_post(server, slack, standin)
    server.process.send_signal(signal.SIGHUP)
    time.sleep(SLOW_POST_S + 1)  # the old worker retires once the click is done
    finished(server, standin, channel, name)
    assert server.healthy()


def test_sigterm_lets_a_click_in_progress_finish_in_socket_mode(standin, websocket, slack_env,
                                                                tmp_path):
    process, log_path = start_socket(slack_env, tmp_path)
    try:
        assert websocket.connected.wait(20), log_path.read_text()
        channel = "C0SOCKCLICK"
        websocket.send(mention_envelope("env-ask", channel, "EvSOCKCLICK"))
        [asking] = standin.wait_for(lambda: standin.posted(
            lambda c: c.body.get("channel") == channel))
        assert "pam_choice_0" not in json.dumps(asking.body["blocks"])  # an answer, not a question
        standin.slow_next("chat.postMessage", SLOW_POST_S)
        websocket.send({"envelope_id": "env-click", "type": "interactive",
                        "accepts_response_payload": False, "payload": {
                            "type": "block_actions", "user": {"id": "U0CLICK"},
                            "team": {"id": "T0TEAM"}, "channel": {"id": channel},
                            "container": {"type": "message", "channel_id": channel,
                                          "message_ts": asking.response["ts"],
                                          "is_ephemeral": False},
                            "message": {"ts": asking.response["ts"],
                                        "blocks": asking.body["blocks"]},
                            "response_url": standin.response_url("socket-click"),
                            "actions": [{"type": "button", "action_id": "pam_did_you_mean",
                                         "block_id": "b", "action_ts": "1.1",
                                         "value": json.dumps({"v": 1, "q": "restore leader"}),
                                         "text": {"type": "plain_text",
                                                  "text": "restore leader"}}]}})
        assert wait(lambda: websocket.acks("env-click"))
        time.sleep(0.5)  # the click's handler is now waiting on chat.postMessage
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=30)
    assert code in (0, 143), log_path.read_text()
    assert len(standin.posted(lambda c: c.body.get("channel") == channel)) == 2
    with sqlite3.connect(slack_env["PAMBOT_DB"]) as db:
        rows = db.execute("SELECT source, rule FROM queries WHERE channel = ? "
                          "AND source = 'button'", (channel,)).fetchall()
    assert rows == [("button", "restore-leader")], log_path.read_text()
