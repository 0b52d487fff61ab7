"""Process logs as an operator reads them: JSON lines with the request's ids, and no secrets.

Real `pambot serve` and `pambot socket` processes, driven with real requests, logging at
DEBUG; every record at INFO or above is checked for tokens, the signing secret and the text
people asked.
"""

from __future__ import annotations

import json
import time
import urllib.parse

import pytest

from tests.bot.slack.conftest import (
    APP_TOKEN,
    BOT_TOKEN,
    SIGNING_SECRET,
    start_socket,
    stop_server,
)

# Starts real processes or servers: skipped by a quick `pytest -m "not slow"`.
pytestmark = pytest.mark.slow

# Question text no log line at INFO or above may carry.
CANARIES = ("zebra-canary-17", "walrus-canary-42", "okapi-canary-9", "lemur-canary-3")
# The tokens, the signing secret, and the ticket in a Socket Mode URL.
SECRETS = (BOT_TOKEN, APP_TOKEN, SIGNING_SECRET, "ticket=")
SHOUTED = ("INFO", "WARNING", "ERROR", "CRITICAL")


def records(text: str) -> list[dict]:
    """Every line of `text` as a JSON object (failing on a line that is not one)."""
    found = []
    for line in text.splitlines():
        if line.strip():
            try:
                found.append(json.loads(line))
            except json.JSONDecodeError:
                raise AssertionError(f"not a JSON log line: {line[:300]!r}") from None
    return found


def assert_nothing_leaks(found: list[dict]) -> None:
    for record in found:
        if record["level"] in SHOUTED:
            line = json.dumps(record)
            for secret in (*SECRETS, *CANARIES):
                assert secret not in line, f"{secret!r} in an {record['level']} line: {line}"


def test_serve_logs_json_lines_with_ids_and_no_secrets_or_questions(
        fresh_server, slack_to, standin):
    server = fresh_server(env={"PAMBOT_LOG_FORMAT": "json", "PAMBOT_LOG_LEVEL": "DEBUG"})
    slack = slack_to(server)
    channel = slack.unique("CLOG")
    reply = slack.command(f"upgrade 6.5.4 {CANARIES[0]}", channel=channel)
    assert reply.status == 200
    event_id = slack.unique("EvLOG")
    assert slack.event({"type": "app_mention", "user": "U0ASKER", "channel": channel,
                        "text": f"<@{slack.BOT_USER}> restore leader {CANARIES[1]}",
                        "ts": "1700000101.000100"}, event_id=event_id).status == 200
    # Redelivered: logged as a duplicate, by event id.
    assert slack.event({"type": "app_mention", "user": "U0ASKER", "channel": channel,
                        "text": f"<@{slack.BOT_USER}> restore leader {CANARIES[1]}",
                        "ts": "1700000101.000100"}, event_id=event_id, retry=1).status == 200
    # A post Slack refuses: the error path logs what failed, with its traceback.
    standin.fail_next("chat.postMessage", body={"ok": False, "error": "channel_not_found"})
    failing = slack.unique("EvLOGFAIL")
    slack.event({"type": "message", "channel_type": "im", "user": "U0ASKER",
                 "channel": channel, "text": f"backup {CANARIES[2]}",
                 "ts": "1700000102.000100"}, event_id=failing)
    # A forged request.
    forged = urllib.parse.urlencode({"command": "/pam", "text": CANARIES[3]}).encode()
    assert slack.post(forged, content_type="application/x-www-form-urlencoded",
                      secret="wrongwrongwrongwrong1234").status == 401
    assert stop_server(server) == 0

    found = records(server.log())
    assert {"time", "level", "logger", "message"} <= found[0].keys()
    assert_nothing_leaks(found)
    answered = [r for r in found if r["message"].startswith("answered a ")]
    slash = next(r for r in answered if "slash" in r["message"])
    assert slash["channel"] == channel and slash["team"] == "T0TEAM" and slash["query_id"]
    mention = next(r for r in answered if "mention" in r["message"])
    assert mention["event_id"] == event_id and mention["channel"] == channel
    assert any(r.get("event_id") == event_id and "already answered" in r["message"]
               for r in found)
    [failed] = [r for r in found if r["level"] == "ERROR" and r.get("event_id") == failing]
    assert "channel_not_found" in failed["exc_info"]
    # DEBUG did show the questions (so the check above had something to miss).
    assert any(CANARIES[0] in json.dumps(r) for r in found if r["level"] == "DEBUG")


def test_socket_logs_json_lines_with_no_secrets_or_questions(
        standin, websocket, slack_env, tmp_path):
    env = {**slack_env, "PAMBOT_LOG_FORMAT": "json", "PAMBOT_LOG_LEVEL": "DEBUG"}
    process, log_path = start_socket(env, tmp_path, "--ping-interval", "0.5")
    try:
        assert websocket.connected.wait(20), log_path.read_text()
        websocket.send({
            "envelope_id": "env-log", "type": "slash_commands", "accepts_response_payload": True,
            "payload": {"command": "/pam", "text": f"upgrade 7.1 {CANARIES[0]}",
                        "user_id": "U0ASKER", "channel_id": "C0SOCKLOG", "team_id": "T0TEAM",
                        "response_url": standin.response_url("socket-log"),
                        "api_app_id": "A0PAMBOT", "trigger_id": "1.2.3"},
        })
        deadline = time.monotonic() + 15
        while not websocket.acks("env-log") and time.monotonic() < deadline:
            time.sleep(0.02)
        assert websocket.acks("env-log")
        websocket.abort()
        assert websocket.wait_for_handshakes(2)
    finally:
        process.terminate()
        process.wait(timeout=20)
    found = records(log_path.read_text())
    assert_nothing_leaks(found)
    assert any(r["message"] == "Socket Mode disconnected; reconnecting" for r in found)
    assert any(r.get("channel") == "C0SOCKLOG" and r.get("query_id") for r in found)
