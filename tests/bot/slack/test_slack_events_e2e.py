"""Events API end to end: signed events into `pambot serve`, answers read off the stand-in."""

from __future__ import annotations

import json
import re
import threading
import time

import pytest

UNESCAPED_SPECIAL = re.compile(r"<[!@#]")

# Starts real processes or servers: skipped by a quick `pytest -m "not slow"`.
pytestmark = pytest.mark.slow


def texts_of(blocks: list[dict]) -> list[str]:
    """Every text in a message's blocks."""
    found = []
    for block in blocks:
        if "text" in block:
            found.append(block["text"]["text"])
        for element in block.get("elements", []):
            text = element.get("text")
            found.append(text["text"] if isinstance(text, dict) else text or "")
    return found


def mention(slack, channel: str, text: str, *, ts: str = "1700000001.000100", **extra) -> dict:
    return {"type": "app_mention", "user": "U0ASKER", "text": text, "ts": ts,
            "channel": channel, **extra}


def dm(slack, channel: str, text: str, *, ts: str = "1700000002.000200", **extra) -> dict:
    return {"type": "message", "channel_type": "im", "user": "U0ASKER", "text": text,
            "ts": ts, "channel": channel, **extra}


def test_top_level_mention_is_answered_in_a_thread_under_it(slack, standin):
    channel = slack.unique("C")
    reply = slack.event(mention(slack, channel, f"<@{slack.BOT_USER}> upgrade 6.5.4",
                                ts="1700000001.000100"))
    assert reply.status == 200
    [post] = standin.posted(lambda c: c.body.get("channel") == channel)
    assert post.body["thread_ts"] == "1700000001.000100"
    verdict = post.body["blocks"][0]["text"]["text"].lower()
    assert "backup" in verdict and "restore" in verdict
    context = " ".join(texts_of([b for b in post.body["blocks"] if b["type"] == "context"]))
    assert "upgrade-6.5.4" in context and "Source:" in context
    assert post.body["text"].strip()
    assert post.headers["authorization"] == "Bearer xoxb-test-token"
    actions = [b for b in post.body["blocks"] if b["type"] == "actions"]
    assert [e["action_id"] for e in actions[0]["elements"]] == [
        "pam_checklist", "pam_warnings", "pam_helpful", "pam_not_helpful"]


def test_mention_in_a_thread_is_answered_in_that_thread(slack, standin):
    channel = slack.unique("C")
    slack.event(mention(slack, channel, f"<@{slack.BOT_USER}> restore leader",
                        ts="1700000005.000500", thread_ts="1700000000.000001"))
    [post] = standin.posted(lambda c: c.body.get("channel") == channel)
    assert post.body["thread_ts"] == "1700000000.000001"


def test_direct_message_is_answered_in_the_dm(slack, standin):
    channel = slack.unique("D")
    slack.event(dm(slack, channel, "restore follower"))
    [post] = standin.posted(lambda c: c.body.get("channel") == channel)
    assert "thread_ts" not in post.body
    assert post.body["blocks"][0]["type"] == "header"


def test_direct_message_in_a_thread_is_answered_in_the_thread(slack, standin):
    channel = slack.unique("D")
    slack.event(dm(slack, channel, "backup", thread_ts="1700000000.000009"))
    [post] = standin.posted(lambda c: c.body.get("channel") == channel)
    assert post.body["thread_ts"] == "1700000000.000009"


def test_channel_message_that_mentions_the_bot_is_answered_once(slack, standin):
    channel = slack.unique("C")
    text = f"<@{slack.BOT_USER}> upgrade 7.2"
    # With message.channels subscribed, Slack sends both events for the one message.
    slack.event({"type": "message", "channel_type": "channel", "user": "U0ASKER",
                 "text": text, "ts": "1700000003.000300", "channel": channel})
    slack.event(mention(slack, channel, text, ts="1700000003.000300"))
    assert len(standin.posted(lambda c: c.body.get("channel") == channel)) == 1


@pytest.mark.parametrize("event", [
    {"type": "message", "channel_type": "im", "subtype": "bot_message", "bot_id": "B0OTHER",
     "text": "upgrade 6.5.4", "ts": "1.1"},
    {"type": "message", "channel_type": "im", "user": "U0OTHERBOT", "bot_id": "B0OTHER",
     "text": "upgrade 6.5.4", "ts": "1.2"},
    {"type": "message", "channel_type": "im", "user": "U0BOT", "bot_id": "B0BOT",
     "text": "upgrade 6.5.4", "ts": "1.3"},
    {"type": "message", "channel_type": "im", "subtype": "message_changed", "hidden": True,
     "message": {"type": "message", "user": "U0ASKER", "text": "upgrade 6.5.4", "ts": "1.4"},
     "ts": "1.5"},
    {"type": "message", "channel_type": "im", "subtype": "message_deleted", "hidden": True,
     "deleted_ts": "1.4", "ts": "1.6"},
    {"type": "message", "channel_type": "im", "subtype": "channel_join", "user": "U0ASKER",
     "text": "joined", "ts": "1.7"},
    {"type": "app_mention", "user": "U0OTHERBOT", "bot_id": "B0OTHER",
     "text": "<@U0BOT> upgrade 6.5.4", "ts": "1.8"},
], ids=["bot_message", "other-bot", "own-message", "edit", "deletion", "join", "bot-mention"])
def test_bots_own_messages_edits_and_deletions_are_never_answered(slack, standin, event):
    channel = slack.unique("D")
    reply = slack.event({**event, "channel": channel})
    assert reply.status == 200
    assert standin.posted(lambda c: c.body.get("channel") == channel) == []


def test_user_text_is_escaped_and_never_pings(slack, standin):
    channel = slack.unique("C")
    # As Slack sends it: mentions as <!channel> / <@U...>, a typed "<" as &lt;.
    text = (f"<@{slack.BOT_USER}> upgrade 6.5.4 <!channel> <!here> <!everyone> <@U0VICTIM> "
            "<#C0SECRET> &lt;!subteam^S1&gt; a &amp; b")
    slack.event(mention(slack, channel, text))
    [post] = standin.posted(lambda c: c.body.get("channel") == channel)
    every_text = [post.body["text"], *texts_of(post.body["blocks"])]
    for text in every_text:
        assert not UNESCAPED_SPECIAL.search(text), text
    echoed = " ".join(every_text)
    assert "&lt;!channel&gt;" in echoed and "&lt;@U0VICTIM&gt;" in echoed
    assert "&lt;!subteam^S1&gt;" in echoed and "a &amp; b" in echoed
    assert "<@U0BOT>" not in echoed and "&lt;@U0BOT&gt;" not in echoed


def test_a_redelivered_event_that_was_answered_is_not_answered_again(slack, standin):
    channel = slack.unique("C")
    body = slack.event_body(mention(slack, channel, f"<@{slack.BOT_USER}> upgrade 6.5.4"))
    assert slack.event({}, body=body).status == 200
    for retry in (1, 2, 3):
        assert slack.event({}, body=body, retry=retry).status == 200
    assert len(standin.posted(lambda c: c.body.get("channel") == channel)) == 1


def test_a_redelivered_event_whose_answer_failed_is_answered(slack, standin, pambot_server):
    channel = slack.unique("C")
    body = slack.event_body(mention(slack, channel, f"<@{slack.BOT_USER}> restore cluster"))
    standin.fail_next("chat.postMessage")
    first = slack.event({}, body=body)
    # Not acknowledged as done: Slack redelivers an event that got an error.
    assert first.status >= 500
    assert standin.posted(lambda c: c.body.get("channel") == channel) == []
    assert "internal_error" in pambot_server.log()
    assert slack.event({}, body=body, retry=1).status == 200
    assert len(standin.posted(lambda c: c.body.get("channel") == channel)) == 1
    assert slack.event({}, body=body, retry=2).status == 200
    assert len(standin.posted(lambda c: c.body.get("channel") == channel)) == 1


def test_a_mention_whose_first_post_is_slow_and_fails_is_answered_on_a_redelivery(
        slack, standin, pambot_server):
    # During an incident Slack is slow: the first chat.postMessage takes 4.5 s and fails.
    channel = slack.unique("C")
    body = slack.event_body(mention(slack, channel, f"<@{slack.BOT_USER}> restore leader"))
    standin.fail_next("chat.postMessage", after=4.5)
    first: list = []
    delivery = threading.Thread(target=lambda: first.append(slack.event({}, body=body)))
    delivery.start()
    # Slack gives up on an answer after 3 seconds and redelivers, while the first still runs.
    time.sleep(3.1)
    redelivery = slack.event({}, body=body, retry=1)
    # Not "done" (Slack would stop retrying, and nothing would ever be posted).
    assert redelivery.status >= 500
    delivery.join(30)
    assert first[0].status >= 500 and standin.posted(lambda c: c.body.get("channel") ==
                                                     channel) == []
    # Slack's next redelivery is answered, once.
    assert slack.event({}, body=body, retry=2).status == 200
    assert len(standin.posted(lambda c: c.body.get("channel") == channel)) == 1
    assert slack.event({}, body=body, retry=3).status == 200
    assert len(standin.posted(lambda c: c.body.get("channel") == channel)) == 1
    assert pambot_server.healthy()


def test_a_redelivery_during_a_slow_post_that_succeeds_is_not_answered_twice(
        slack, standin):
    channel = slack.unique("C")
    body = slack.event_body(mention(slack, channel, f"<@{slack.BOT_USER}> backup"))
    standin.slow_next("chat.postMessage", 2.0)
    delivery = threading.Thread(target=lambda: slack.event({}, body=body))
    delivery.start()
    time.sleep(0.8)
    assert slack.event({}, body=body, retry=1).status >= 500
    delivery.join(30)
    assert slack.event({}, body=body, retry=2).status == 200
    assert len(standin.posted(lambda c: c.body.get("channel") == channel)) == 1


def test_a_rate_limited_post_is_retried_after_retry_after(slack, standin):
    channel = slack.unique("C")
    standin.fail_next("chat.postMessage", status=429, body={"ok": False, "error": "ratelimited"},
                      headers={"Retry-After": "0"})
    reply = slack.event(mention(slack, channel, f"<@{slack.BOT_USER}> backup"))
    assert reply.status == 200
    assert len(standin.posted(lambda c: c.body.get("channel") == channel)) == 1


def test_a_failed_post_does_not_break_the_next_request(slack, standin):
    first, second = slack.unique("C"), slack.unique("C")
    standin.fail_next("chat.postMessage", body={"ok": False, "error": "channel_not_found"})
    slack.event(mention(slack, first, f"<@{slack.BOT_USER}> backup"))
    slack.event(mention(slack, second, f"<@{slack.BOT_USER}> backup"))
    assert standin.posted(lambda c: c.body.get("channel") == first) == []
    assert len(standin.posted(lambda c: c.body.get("channel") == second)) == 1


def test_every_answer_is_logged_with_where_it_was_asked(slack, standin, pambot_server):
    channel = slack.unique("C")
    event_id = slack.unique("Ev")
    slack.event(mention(slack, channel, f"<@{slack.BOT_USER}> upgrade 6.5.4",
                        ts="1700000009.000900"), event_id=event_id)
    rows = pambot_server.rows(
        "SELECT source, channel, \"user\", thread_ts, event_id, rule, text, team FROM queries "
        "WHERE channel = ?", (channel,))
    assert rows == [("mention", channel, "U0ASKER", "1700000009.000900", event_id,
                     "upgrade-6.5.4", "upgrade 6.5.4", "T0TEAM")]


def test_url_verification_echoes_the_challenge(slack):
    challenge = "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    body = {"token": "x", "challenge": challenge, "type": "url_verification"}
    reply = slack.post(json.dumps(body).encode(), content_type="application/json")
    assert reply.status == 200
    assert reply.json() == {"challenge": challenge}
