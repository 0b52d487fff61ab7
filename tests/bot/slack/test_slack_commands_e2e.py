"""Slash command and buttons end to end: the ack carries the answer, the buttons follow up."""

from __future__ import annotations

import json
import re

import pytest

UNESCAPED_SPECIAL = re.compile(r"<[!@#]")

# Starts real processes or servers: skipped by a quick `pytest -m "not slow"`.
pytestmark = pytest.mark.slow


def buttons(message: dict) -> dict[str, dict]:
    """The answer's buttons by action_id."""
    return {element["action_id"]: element
            for block in message["blocks"] if block["type"] == "actions"
            for element in block["elements"]}


def all_text(message: dict) -> str:
    return json.dumps(message, ensure_ascii=False)


def test_slash_command_answers_privately_in_the_ack(slack, standin):
    reply = slack.command("upgrade 6.5.4", channel=slack.unique("C"))
    assert reply.status == 200
    message = reply.json()
    assert message["response_type"] == "ephemeral"
    verdict = message["blocks"][0]["text"]["text"].lower()
    assert "backup" in verdict and "restore" in verdict
    assert "upgrade-6.5.4" in all_text(message)
    assert message["text"].startswith("Backup and restore required")
    assert set(buttons(message)) == {"pam_warnings", "pam_share", "pam_helpful",
                                     "pam_not_helpful"}
    assert reply.headers["content-type"].startswith("application/json")


def test_the_same_question_twice_gets_two_query_ids_each_logged(slack, pambot_server):
    channel = slack.unique("C")
    first, second = (slack.command("restore", channel=channel).json() for _ in range(2))
    ids = [buttons(m)["pam_helpful"]["value"] for m in (first, second)]
    assert ids[0] != ids[1]
    # Every button of an answer carries its own answer's id, the choices too.
    for message, query_id in zip((first, second), ids, strict=True):
        choices = [b for key, b in buttons(message).items() if key.startswith("pam_choice_")]
        assert choices and all(json.loads(b["value"])["p"] == query_id for b in choices)
        assert json.loads(buttons(message)["pam_share"]["value"])["id"] == query_id
    rows = pambot_server.rows("SELECT id FROM queries WHERE channel = ? ORDER BY id",
                              (channel,), count=2)
    assert [str(row[0]) for row in rows] == sorted(ids, key=int)


@pytest.mark.parametrize("field, value", [
    ("text", "upgrade 6.5.4 payload"),
    ("channel_name", "payload-war-room"),
    ("user_name", "payload.person"),
    ("team_domain", "payloadco"),
    ("text", "upgrade 6.5.4 payload={}"),
])
def test_the_word_payload_anywhere_in_a_command_does_not_stop_the_answer(slack, field, value):
    if field == "text":
        reply = slack.command(value)
    else:
        reply = slack.command("upgrade 6.5.4", **{field: value})
    assert reply.status == 200
    assert "upgrade-6.5.4" in all_text(reply.json())


def test_bare_command_and_help_show_usage_with_examples(slack):
    for text in ("", "help", "  HELP "):
        message = slack.command(text).json()
        assert message["response_type"] == "ephemeral"
        shown = all_text(message)
        assert "/pam" in shown and "upgrade 6.5.4" in shown and "restore leader" in shown


def test_slash_command_text_is_escaped(slack):
    # Typed "<!channel>" arrives as &lt;!channel&gt;; a mention token as itself.
    message = slack.command("upgrade 6.5.4 &lt;!channel&gt; <!here> <@U0VICTIM>").json()
    for block in message["blocks"]:
        for text in re.findall(r'"text": "((?:[^"\\]|\\.)*)"', json.dumps(block)):
            assert not UNESCAPED_SPECIAL.search(text), text
    assert not UNESCAPED_SPECIAL.search(message["text"])
    shown = all_text(message)
    assert "&lt;!channel&gt;" in shown and "&lt;!here&gt;" in shown
    assert "&lt;@U0VICTIM&gt;" in shown


def test_share_button_posts_the_same_answer_for_everyone(slack, standin):
    channel = slack.unique("C")
    answer = slack.command("restore leader", channel=channel, user="U0ASKER").json()
    share = buttons(answer)["pam_share"]
    response_url = standin.response_url(slack.unique("share"))
    reply = slack.click("pam_share", share["value"], response_url=response_url,
                        user="U0ASKER", channel=channel)
    assert reply.status == 200
    name = response_url.rsplit("/", 1)[1]
    posted, deleted = standin.wait_for(lambda: standin.responses(name), count=2)
    assert posted.body["response_type"] == "in_channel"
    assert posted.body["replace_original"] is False
    assert posted.body["blocks"][0] == answer["blocks"][0]
    assert "Shared by <@U0ASKER>" in all_text(posted.body)
    assert "pam_share" not in buttons(posted.body)
    assert set(buttons(posted.body)) == {"pam_warnings", "pam_helpful", "pam_not_helpful"}
    assert deleted.body["delete_original"] is True


def test_feedback_is_acknowledged_thanked_and_recorded(slack, standin, pambot_server):
    channel = slack.unique("C")
    answer = slack.command("restore follower", channel=channel, user="U0ASKER").json()
    query_id = buttons(answer)["pam_not_helpful"]["value"]
    response_url = standin.response_url(slack.unique("vote"))
    reply = slack.click("pam_not_helpful", query_id, response_url=response_url,
                        user="U0VOTER", channel=channel)
    assert reply.status == 200
    [thanks] = standin.wait_for(lambda: standin.responses(response_url.rsplit("/", 1)[1]))
    assert thanks.body["response_type"] == "ephemeral"
    assert thanks.body["replace_original"] is False
    assert "Thanks" in thanks.body["text"]
    assert pambot_server.rows("SELECT helpful, \"user\", channel FROM feedback WHERE query_id = ?",
                              (query_id,)) == [(0, "U0VOTER", channel)]
    assert pambot_server.rows("SELECT source, \"user\", rule FROM queries WHERE id = ?",
                              (query_id,)) == [("slash", "U0ASKER", "restore-follower")]


def test_feedback_on_a_mention_answer_in_a_channel(slack, standin, pambot_server):
    channel = slack.unique("C")
    slack.event({"type": "app_mention", "user": "U0ASKER", "ts": "1700000010.000100",
                 "text": f"<@{slack.BOT_USER}> backup", "channel": channel})
    [post] = standin.posted(lambda c: c.body.get("channel") == channel)
    query_id = buttons(post.body)["pam_helpful"]["value"]
    response_url = standin.response_url(slack.unique("vote"))
    slack.click("pam_helpful", query_id, response_url=response_url, user="U0VOTER",
                channel=channel, ephemeral=False)
    assert standin.wait_for(lambda: standin.responses(response_url.rsplit("/", 1)[1]))
    assert pambot_server.rows("SELECT helpful FROM feedback WHERE query_id = ?",
                              (query_id,)) == [(1,)]


def test_stats_for_an_admin_is_a_code_block(slack):
    slack.command("upgrade 6.5.4")
    message = slack.command("stats", user=slack.ADMIN).json()
    assert message["response_type"] == "ephemeral"
    shown = message["blocks"][0]["text"]["text"]
    assert shown.startswith("```") and shown.endswith("```")
    message = slack.command("STATS 30d", user=slack.ADMIN).json()
    assert message["blocks"][0]["text"]["text"].startswith("```")


def test_stats_with_a_bad_duration_says_how_to_write_one(slack):
    message = slack.command("stats 7x", user=slack.ADMIN).json()
    shown = all_text(message)
    assert "```" not in shown and "7d" in shown


def test_stats_with_an_out_of_range_duration_says_how_to_write_one(slack):
    message = slack.command("stats 999999w", user=slack.ADMIN).json()
    shown = all_text(message)
    assert "before the year 1" in shown and "7d" in shown and "```" not in shown


def test_stats_for_anyone_else_is_a_polite_refusal(slack):
    message = slack.command("stats", user="U0NOBODY").json()
    assert message["response_type"] == "ephemeral"
    shown = all_text(message)
    assert "```" not in shown and "Sorry" in shown
