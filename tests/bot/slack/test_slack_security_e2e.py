"""Request verification and robustness end to end: forged, stale and malformed requests."""

from __future__ import annotations

import json
import time
import urllib.parse

import pytest

# Starts real processes or servers: skipped by a quick `pytest -m "not slow"`.
pytestmark = pytest.mark.slow


def mention_body(slack, channel: str, text: str = "upgrade 6.5.4") -> bytes:
    event = {"type": "app_mention", "user": "U0ASKER", "ts": "1700000020.000100",
             "text": f"<@{slack.BOT_USER}> {text}", "channel": channel}
    return json.dumps(slack.event_body(event)).encode()


@pytest.mark.parametrize("how", ["wrong-secret", "unsigned", "stale", "future", "garbled"])
def test_unverified_requests_get_401_and_no_answer(slack, standin, how):
    channel = slack.unique("C")
    body = mention_body(slack, channel)
    now = int(time.time())
    if how == "wrong-secret":
        reply = slack.post(body, content_type="application/json", secret="0" * 32)
    elif how == "unsigned":
        reply = slack.post(body, content_type="application/json", signed=False)
    elif how == "stale":
        reply = slack.post(body, content_type="application/json", timestamp=now - 5 * 60 - 30)
    elif how == "future":
        reply = slack.post(body, content_type="application/json", timestamp=now + 5 * 60 + 30)
    else:
        reply = slack.post(body, content_type="application/json",
                           headers={"X-Slack-Request-Timestamp": "soon",
                                    "X-Slack-Signature": "v0=nonsense"})
    assert reply.status == 401
    assert standin.posted(lambda c: c.body.get("channel") == channel) == []


def test_a_signed_body_altered_in_transit_gets_401(slack, standin):
    channel = slack.unique("C")
    body = mention_body(slack, channel)
    timestamp = int(time.time())
    altered = body.replace(b"upgrade 6.5.4", b"upgrade 7.1.0")
    reply = slack.post(altered, content_type="application/json", signed=False, headers={
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": slack.signature(body, timestamp),
    })
    assert reply.status == 401
    assert standin.posted(lambda c: c.body.get("channel") == channel) == []


def test_unsigned_slash_command_gets_401(slack):
    form = urllib.parse.urlencode({"command": "/pam", "text": "upgrade 6.5.4",
                                   "user_id": "U0X", "channel_id": "C0X"}).encode()
    reply = slack.post(form, content_type="application/x-www-form-urlencoded", signed=False)
    assert reply.status == 401
    assert "Backup" not in reply.text


@pytest.mark.parametrize("body, content_type", [
    (b"{not json", "application/json"),
    (b"[1, 2, 3]", "application/json"),
    (b'"just a string"', "application/json"),
    (b"payload=%7Bnot+json", "application/x-www-form-urlencoded"),
    (b"\xff\xfe not utf-8", "application/json"),
], ids=["bad-json", "array", "string", "bad-payload-form", "not-utf8"])
def test_signed_malformed_payloads_are_refused_and_the_server_stays_up(
        slack, pambot_server, body, content_type):
    reply = slack.post(body, content_type=content_type)
    # Correctly signed, so not 401: the body is what is wrong.
    assert reply.status == 400
    assert reply.json() == {"ok": False, "error": "malformed payload"}
    assert pambot_server.healthy()


def _event(event) -> dict:
    return {"type": "event_callback", "team_id": "T0TEAM", "api_app_id": "A0PAMBOT",
            "event_id": f"EvMALFORMED{abs(hash(repr(event)))}", "event_time": 1, "event": event}


def _click(**fields) -> dict:
    return {"type": "block_actions", "user": {"id": "U0CLICK"}, "team": {"id": "T0TEAM"},
            "response_url": "http://127.0.0.1:9/respond/none", **fields}


# Signed bodies of shapes Slack never sends (each was a 500 or a traceback).
MALFORMED = {
    "home-user-a-number": _event({"type": "app_home_opened", "user": 42, "tab": "home"}),
    "home-user-an-object": _event({"type": "app_home_opened", "user": {"id": "U0X"},
                                   "tab": "home"}),
    "actions-empty": _click(actions=[]),
    "actions-a-string": _click(actions="pam_share"),
    "action-a-number": _click(actions=[42]),
    "action-id-a-number": _click(actions=[{"action_id": 5, "value": "x"}]),
    "mention-text-a-number": _event({"type": "app_mention", "user": "U0ASKER", "text": 42,
                                     "ts": "1.1", "channel": "C0MALFORMED"}),
    "dm-text-an-object": _event({"type": "message", "channel_type": "im", "user": "U0ASKER",
                                 "text": {"a": 1}, "ts": "1.1", "channel": "D0MALFORMED"}),
    "event-a-string": _event("app_mention"),
    "view-without-type": {"type": "view_submission", "user": {"id": "U0X"},
                          "view": {"id": "V1", "callback_id": "x"}},
}


@pytest.mark.parametrize("name", list(MALFORMED))
def test_malformed_signed_payloads_get_400_one_log_line_and_a_metric(slack, pambot_server,
                                                                      name):
    payload = MALFORMED[name]
    before_log = len(pambot_server.log())
    before = pambot_server.metric("pambot_slack_acks_total", status="400")
    if payload["type"] == "event_callback":
        reply = slack.post(json.dumps(payload).encode(), content_type="application/json")
    else:
        form = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
        reply = slack.post(form, content_type="application/x-www-form-urlencoded")
    assert (reply.status, reply.json()) == (400, {"ok": False, "error": "malformed payload"})
    assert pambot_server.metric("pambot_slack_acks_total", status="400") == before + 1
    logged = pambot_server.log()[before_log:]
    assert len([line for line in logged.splitlines() if "malformed" in line]) == 1, logged
    assert "Traceback" not in logged and "Exception in ASGI" not in logged
    assert pambot_server.healthy()


def test_a_request_pambot_does_not_handle_gets_404_and_one_line(slack, pambot_server):
    # pambot opens no modals, so nothing of it can be submitted.
    payload = {"type": "view_submission", "user": {"id": "U0X"}, "team": {"id": "T0TEAM"},
               "view": {"id": "V0X", "type": "modal", "callback_id": "survey",
                        "state": {"values": {}}}}
    before_log = len(pambot_server.log())
    before = pambot_server.metric("pambot_slack_acks_total", status="404")
    form = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
    reply = slack.post(form, content_type="application/x-www-form-urlencoded")
    assert reply.status == 404
    assert pambot_server.metric("pambot_slack_acks_total", status="404") == before + 1
    logged = pambot_server.log()[before_log:].splitlines()
    # One line of pambot's, not Bolt's multi-line "Unhandled request" with sample code.
    assert len(logged) == 1 and "view_submission" in logged[0], logged


@pytest.mark.parametrize("event", [
    {"type": "app_mention"},
    {"type": "app_mention", "text": "<@U0BOT> upgrade 6.5.4"},
    {"type": "message", "channel_type": "im", "text": None, "user": "U0ASKER", "ts": "1.1"},
    {"type": "app_mention", "user": {"id": "U0ASKER"}, "text": 42, "ts": 1, "channel": []},
], ids=["bare", "no-channel", "null-text", "wrong-types"])
def test_events_with_missing_or_odd_fields_do_not_crash(slack, standin, pambot_server, event):
    channel = slack.unique("D")
    body = slack.event_body({**event, "channel": event.get("channel", channel)})
    reply = slack.event({}, body=body)
    # Missing fields are Slack's own (a bot's message has no user); wrong types are not.
    assert reply.status == (400 if "user" in event and not isinstance(event["user"], str)
                            else 200)
    assert pambot_server.healthy()


@pytest.mark.parametrize("content_type", ["application/json", "application/x-www-form-urlencoded"])
def test_deeply_nested_json_gets_400_with_a_json_error(slack, pambot_server, content_type):
    nested = "[" * 100_000 + "]" * 100_000
    if content_type == "application/json":
        body = ('{"type": "event_callback", "event": ' + nested + "}").encode()
    else:
        body = urllib.parse.urlencode({"payload": '{"type": "block_actions", "x": ' + nested
                                       + "}"}).encode()
    reply = slack.post(body, content_type=content_type)
    assert reply.status == 400
    assert reply.json() == {"ok": False, "error": "malformed payload"}
    assert pambot_server.healthy()


def test_event_envelope_without_an_event_does_not_crash(slack, pambot_server):
    body = {"type": "event_callback", "team_id": "T0TEAM", "event_id": slack.unique("Ev")}
    reply = slack.post(json.dumps(body).encode(), content_type="application/json")
    assert (reply.status, reply.json()) == (400, {"ok": False, "error": "malformed payload"})
    assert pambot_server.healthy()


def test_slash_command_without_text_or_user_gets_usage(slack):
    form = urllib.parse.urlencode({"command": "/pam"}).encode()
    reply = slack.post(form, content_type="application/x-www-form-urlencoded")
    assert reply.status == 200
    assert "upgrade 6.5.4" in reply.text


def test_a_50_kb_question_is_answered_within_slack_limits(slack, standin, pambot_server):
    channel = slack.unique("C")
    huge = "upgrade 6.5.4 " + "<!channel> why " * 3500
    slack.event({"type": "app_mention", "user": "U0ASKER", "ts": "1700000030.000100",
                 "text": f"<@{slack.BOT_USER}> {huge}", "channel": channel})
    [post] = standin.posted(lambda c: c.body.get("channel") == channel)
    assert len(post.body["blocks"]) <= 50
    assert all(len(b["text"]["text"]) <= 3000 for b in post.body["blocks"] if "text" in b)
    assert len(post.body["text"]) <= 3000
    assert "<!channel>" not in json.dumps(post.body)
    reply = slack.command(huge[:4000])
    assert reply.status == 200 and "<!channel>" not in reply.text
    assert pambot_server.healthy()


def test_a_body_over_one_megabyte_is_refused(slack, pambot_server):
    reply = slack.post(b"{" + b" " * (1 << 20) + b"}", content_type="application/json")
    assert reply.status == 413
    assert pambot_server.healthy()


def test_other_paths_and_methods(pambot_server):
    assert pambot_server.get("/healthz")[0] == 200
    assert pambot_server.get("/slack/events")[0] == 405
    assert pambot_server.get("/nothing-here")[0] == 404


def test_slacks_unsigned_ssl_check_gets_200_and_nothing_else(slack, standin):
    form = b"ssl_check=1&token=legacy-verification-token"
    reply = slack.post(form, content_type="application/x-www-form-urlencoded", signed=False)
    assert (reply.status, reply.text) == (200, "")
    # An ssl_check flag smuggled into an unsigned command does not make it a command.
    name = slack.unique("smuggled")
    form = urllib.parse.urlencode({"ssl_check": "1", "command": "/pam", "text": "upgrade 6.5.4",
                                   "user_id": "U0X", "channel_id": "C0X",
                                   "response_url": standin.response_url(name)}).encode()
    reply = slack.post(form, content_type="application/x-www-form-urlencoded", signed=False)
    assert (reply.status, reply.text) == (200, "")
    assert standin.responses(name) == []


def test_a_share_click_with_a_mangled_value_gets_a_clear_message_and_shares_nothing(
        slack, standin, pambot_server):
    response_url = standin.response_url(slack.unique("mangled"))
    reply = slack.click("pam_share", "{not json", response_url=response_url)
    assert reply.status == 200
    [told] = standin.wait_for(lambda: standin.responses(response_url.rsplit("/", 1)[1]))
    assert told.body["response_type"] == "ephemeral"
    assert "no longer works" in told.body["text"] and "Traceback" not in told.body["text"]
    assert pambot_server.healthy()


@pytest.mark.parametrize("payload", [
    {"type": "block_actions", "actions": []},
    {"type": "block_actions"},
    {"type": "block_actions", "actions": [{"action_id": "pam_helpful"}], "user": None},
], ids=["no-actions", "missing-actions", "bare-action"])
def test_block_actions_with_missing_fields_do_not_crash(slack, pambot_server, payload):
    body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
    reply = slack.post(body, content_type="application/x-www-form-urlencoded")
    assert (reply.status, reply.json()) == (400, {"ok": False, "error": "malformed payload"})
    assert pambot_server.healthy()
