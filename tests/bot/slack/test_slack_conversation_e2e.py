"""The incident thread as a conversation, end to end through `pambot serve`: choices as
buttons on every surface, replies that answer pambot's question, context for later
mentions, and silence for everything else said in the thread."""

from __future__ import annotations

import json

import pytest

from bot.blocks import parse_button_value

pytestmark = pytest.mark.slow


def mention(slack, channel: str, text: str, *, ts: str, thread_ts: str | None = None,
            user: str = "U0ASKER") -> dict:
    event = {"type": "app_mention", "user": user, "text": f"<@{slack.BOT_USER}> {text}",
             "ts": ts, "channel": channel}
    return {**event, "thread_ts": thread_ts} if thread_ts else event


def reply_in_thread(channel: str, text: str, *, ts: str, thread_ts: str,
                    user: str = "U0ASKER", **extra) -> dict:
    """A person's reply in a channel thread, as message.channels delivers it."""
    return {"type": "message", "channel_type": "channel", "user": user, "text": text,
            "ts": ts, "thread_ts": thread_ts, "channel": channel, **extra}


def posts(standin, channel: str):
    return standin.posted(lambda c: c.body.get("channel") == channel)


def header(post) -> str:
    return post.body["blocks"][0]["text"]["text"]


def rule_of(post) -> str:
    return json.dumps(post.body["blocks"]).split("Rule `", 1)[1].split("`", 1)[0]


def buttons(blocks: list[dict]) -> dict[str, dict]:
    return {e["action_id"]: e for b in blocks if b["type"] == "actions" for e in b["elements"]}


def labels(blocks: list[dict]) -> dict[str, str]:
    """The choice buttons' labels by action_id."""
    return {key: b["text"]["text"] for key, b in buttons(blocks).items()
            if key.startswith("pam_choice_")}


def query_id_of(post) -> str:
    return buttons(post.body["blocks"])["pam_helpful"]["value"]


@pytest.mark.parametrize("question, pick, label, rule", [
    ("restore", "pam_choice_0", "leader", "restore-leader"),
    ("restore", "pam_choice_2", "whole cluster", "restore-cluster"),
    ("how do we upgrade?", "pam_choice_1", "6.5.4", "upgrade-6.5.4"),
    ("how do we upgrade?", "pam_choice_3", "earlier than 5.2.x", "upgrade-earlier-than-5.2"),
    ("upgrade 6.5 to 7.2", "pam_choice_0", "6.5.4", "upgrade-6.5.4"),
    ("upgrade 6.5 to 7.2", "pam_choice_1", "another 6.5.x",
     "upgrade-6.2-to-6.5.3-not-in-table"),
    ("upgarde 6.5.4", "pam_did_you_mean", "Did you mean: upgrade 6.5.4?", "upgrade-6.5.4"),
], ids=["node-leader", "node-cluster", "row-6.5.4", "row-earliest", "release-6.5.4",
        "release-other", "did-you-mean"])
def test_a_click_in_the_thread_answers_the_choice_there_and_is_logged_linked(
        slack, standin, pambot_server, question, pick, label, rule):
    channel = slack.unique("C")
    slack.event(mention(slack, channel, question, ts="1700000100.000100"))
    [asking] = posts(standin, channel)
    shown = buttons(asking.body["blocks"])[pick]["text"]["text"]
    assert shown == label

    name = slack.click_on(asking, pick, user="U0CLICK")
    [asking_post, answer] = standin.wait_for(lambda: posts(standin, channel), count=2)
    assert answer.body["thread_ts"] == "1700000100.000100"
    assert rule_of(answer) == rule
    assert f"<@U0CLICK> picked “{label}”" in json.dumps(answer.body["blocks"],
                                                         ensure_ascii=False)
    # The question's buttons are replaced by who picked what, for everyone.
    [marked] = standin.wait_for(lambda: standin.responses(name))
    assert marked.body["replace_original"] is True
    assert pick not in json.dumps(marked.body["blocks"])
    assert f"<@U0CLICK> picked “{label}”" in json.dumps(marked.body["blocks"],
                                                         ensure_ascii=False)
    # Logged as a query from a button, linked to the question it answers.
    clicked = query_id_of(answer)
    question = parse_button_value(buttons(asking.body["blocks"])[pick]["value"]).question
    assert pambot_server.rows("SELECT source, \"user\", channel, thread_ts, rule, text, typed "
                              "FROM queries WHERE id = ?", (clicked,)) == [
        ("button", "U0CLICK", channel, "1700000100.000100", rule, question, label)]
    assert pambot_server.rows("SELECT parent_id, how FROM query_links WHERE query_id = ?",
                              (clicked,)) == [
        (query_id_of(asking_post), "suggestion" if pick == "pam_did_you_mean" else "choice")]


def test_a_click_on_the_private_slash_answer_replaces_it(slack, standin, pambot_server):
    channel = slack.unique("C")
    message = slack.command("restore", channel=channel, user="U0ASKER").json()
    assert labels(message["blocks"]) == {"pam_choice_0": "leader", "pam_choice_1": "follower",
                                         "pam_choice_2": "whole cluster",
                                         "pam_choice_3": "standalone server"}
    name = slack.click_private(message, "pam_choice_1", channel=channel)
    [replaced] = standin.wait_for(lambda: standin.responses(name))
    assert replaced.body["response_type"] == "ephemeral"
    assert replaced.body["replace_original"] is True
    assert replaced.body["blocks"][0]["text"]["text"] == (
        "Restore the follower from its VM level backup")
    # Still private, so it can still be shared.
    assert "pam_share" in buttons(replaced.body["blocks"])
    assert posts(standin, channel) == []
    clicked = buttons(replaced.body["blocks"])["pam_helpful"]["value"]
    assert pambot_server.rows("SELECT source, rule FROM queries WHERE id = ?", (clicked,)) == [
        ("button", "restore-follower")]


def test_a_click_in_a_dm_is_answered_in_the_dm(slack, standin):
    channel = slack.unique("D")
    slack.event({"type": "message", "channel_type": "im", "user": "U0ASKER",
                 "text": "we need to upgrade", "ts": "1700000200.000100", "channel": channel})
    [asking] = posts(standin, channel)
    slack.click_on(asking, "pam_choice_0", user="U0ASKER")
    [_, answer] = standin.wait_for(lambda: posts(standin, channel), count=2)
    assert "thread_ts" not in answer.body or answer.body["thread_ts"] is None
    assert rule_of(answer) == "upgrade-7.x"


def test_a_reply_that_answers_the_open_question_is_answered_once_without_a_mention(
        slack, standin, pambot_server):
    channel = slack.unique("C")
    thread = "1700000300.000100"
    slack.event(mention(slack, channel, "our pam server needs restoring", ts=thread))
    [asking] = posts(standin, channel)
    assert header(asking) == "A restore needs a backup file; which node failed?"

    body = slack.event_body(reply_in_thread(channel, "the leader", ts="1700000300.000200",
                                            thread_ts=thread))
    assert slack.event({}, body=body).status == 200
    for retry in (1, 2):  # Slack's redeliveries of the same event
        assert slack.event({}, body=body, retry=retry).status == 200
    [_, answer] = posts(standin, channel)
    assert answer.body["thread_ts"] == thread
    assert rule_of(answer) == "restore-leader"
    assert "Read `the leader` in this conversation as: `restore leader`" in json.dumps(
        answer.body["blocks"], ensure_ascii=False)
    answered = query_id_of(answer)
    assert pambot_server.rows("SELECT source, text, typed, rule FROM queries WHERE id = ?",
                              (answered,)) == [("thread", "restore leader", "the leader",
                                                "restore-leader")]
    assert pambot_server.rows("SELECT parent_id, how FROM query_links WHERE query_id = ?",
                              (answered,)) == [(query_id_of(asking), "reply")]
    # The question is answered: a later "follower" in the thread is chatter.
    slack.event(reply_in_thread(channel, "follower", ts="1700000300.000300", thread_ts=thread))
    assert len(posts(standin, channel)) == 2


@pytest.mark.parametrize("said", [
    reply_in_thread("-", "lol ok, on it", ts="1700000400.000200", thread_ts="T"),
    reply_in_thread("-", "INC-1234 raised, call at 22.00", ts="1700000400.000201",
                    thread_ts="T"),
    reply_in_thread("-", "leader", ts="1700000400.000202", thread_ts="T",
                    bot_id="B0OTHER", subtype="bot_message"),
    reply_in_thread("-", "leader", ts="1700000400.000203", thread_ts="T", user="U0BOT",
                    bot_id="B0BOT"),
    {"type": "message", "channel_type": "channel", "subtype": "message_changed",
     "hidden": True, "channel": "-", "ts": "1700000400.000204",
     "message": {"type": "message", "user": "U0ASKER", "text": "leader",
                 "ts": "1700000400.000205", "thread_ts": "T"}},
    {"type": "message", "channel_type": "channel", "user": "U0ASKER", "text": "leader",
     "ts": "1700000400.000206", "channel": "-"},
    reply_in_thread("-", "leader", ts="1700000400.000207", thread_ts="1700000499.000001"),
], ids=["chatter", "tickets-and-times", "other-bot", "own-post", "edit", "top-level",
        "another-thread"])
def test_everything_else_said_around_the_question_is_ignored_silently(slack, standin, said):
    channel = slack.unique("C")
    thread = "1700000400.000100"
    slack.event(mention(slack, channel, "restore please", ts=thread))
    assert len(posts(standin, channel)) == 1
    event = json.loads(json.dumps(said).replace('"-"', f'"{channel}"')
                       .replace('"T"', f'"{thread}"'))
    assert slack.event(event).status == 200
    assert len(posts(standin, channel)) == 1


def test_a_reply_that_mentions_pambot_is_answered_once(slack, standin):
    channel = slack.unique("C")
    thread = "1700000500.000100"
    slack.event(mention(slack, channel, "restore", ts=thread))
    text = f"<@{slack.BOT_USER}> follower"
    # Slack sends both events for one message that mentions the bot in a thread.
    slack.event(reply_in_thread(channel, text, ts="1700000500.000200", thread_ts=thread))
    slack.event(mention(slack, channel, "follower", ts="1700000500.000200", thread_ts=thread))
    [_, answer] = posts(standin, channel)
    assert rule_of(answer) == "restore-follower"


def test_a_later_mention_in_the_thread_is_read_in_its_context(slack, standin):
    channel = slack.unique("C")
    thread = "1700000600.000100"
    slack.event(mention(slack, channel, "we're on 6.5.4, what's the path?", ts=thread))
    slack.event(mention(slack, channel, "and the followers?", ts="1700000600.000200",
                        thread_ts=thread))
    slack.event(mention(slack, channel, "to 7.4 then?", ts="1700000600.000300",
                        thread_ts=thread))
    [first, followers, target] = posts(standin, channel)
    assert rule_of(first) == rule_of(followers) == rule_of(target) == "upgrade-6.5.4"
    # Asking about the followers says they run followers: the cluster's answer from then on.
    assert "Read `and the followers?` in this conversation as: `upgrade 6.5.4 in a cluster`" \
        in json.dumps(followers.body["blocks"], ensure_ascii=False)
    assert "`upgrade 6.5.4 to 7.4 in a cluster`" in json.dumps(target.body["blocks"])
    # In another thread, the same words know nothing.
    other = slack.unique("C")
    slack.event(mention(slack, other, "and the followers?", ts="1700000600.000400",
                        thread_ts="1700000600.000001"))
    [alone] = posts(standin, other)
    assert rule_of(alone) != "upgrade-6.5.4"


def test_a_dm_remembers_its_question_too(slack, standin):
    channel = slack.unique("D")

    def dm(text: str, ts: str) -> None:
        slack.event({"type": "message", "channel_type": "im", "user": "U0ASKER", "text": text,
                     "ts": ts, "channel": channel})

    dm("restore", "1700000700.000100")
    dm("2", "1700000700.000200")
    [asking, answer] = posts(standin, channel)
    assert header(asking).endswith("which node failed?")
    assert rule_of(answer) == "restore-follower"


@pytest.mark.parametrize("value, says", [
    ("{not json", "not a button pambot made"),
    (json.dumps({"q": "restore leader"}), "another version of pambot"),
    (json.dumps({"v": 1, "q": ["restore"]}), "malformed"),
], ids=["forged", "old-version", "malformed"])
def test_a_choice_button_pambot_did_not_make_gets_a_clear_message(slack, standin, value, says):
    channel = slack.unique("C")
    slack.event(mention(slack, channel, "restore", ts="1700000800.000100"))
    [asking] = posts(standin, channel)
    name = slack.click_on(asking, "pam_choice_0", value=value)
    [told] = standin.wait_for(lambda: standin.responses(name))
    assert told.body["response_type"] == "ephemeral"
    assert says in told.body["text"] and "Traceback" not in told.body["text"]
    assert len(posts(standin, channel)) == 1


def test_an_unknown_button_gets_a_clear_message(slack, standin):
    name = slack.unique("unknown")
    reply = slack.interact({"type": "button", "action_id": "pam_self_destruct", "value": "x",
                            "block_id": "b"}, user="U0X", channel="C0X",
                           container={"type": "message", "message_ts": "1.1",
                                      "channel_id": "C0X", "is_ephemeral": True},
                           response_url=standin.response_url(name))
    assert reply.status == 200
    [told] = standin.wait_for(lambda: standin.responses(name))
    assert "not one pambot knows" in told.body["text"]


def test_show_warnings_gives_the_clicker_every_warning_in_full(slack, standin):
    channel = slack.unique("C")
    slack.event(mention(slack, channel, "upgrade 6.5.4", ts="1700000900.000100"))
    [answer] = posts(standin, channel)
    assert "Master Encryption Key" not in json.dumps(answer.body["blocks"])
    name = slack.click_on(answer, "pam_warnings")
    [shown] = standin.wait_for(lambda: standin.responses(name))
    assert shown.body["response_type"] == "ephemeral" and not shown.body["replace_original"]
    text = json.dumps(shown.body["blocks"])
    assert "Master Encryption Key" in text
    assert "|Restoring (7.5.3 docs)>" in text


def test_paths_in_slack_is_the_diagram_of_the_rules(slack, standin):
    from bot.blocks import paths_blocks
    from rules import default_ruleset

    message = slack.command("paths").json()
    assert message["response_type"] == "ephemeral"
    assert message["blocks"] == paths_blocks(default_ruleset())
    diagram = message["blocks"][1]["text"]["text"]
    assert diagram.startswith("```") and "6.5.4              ==&gt;  7.x" in diagram
    channel = slack.unique("C")
    slack.event(mention(slack, channel, "paths", ts="1700001000.000100"))
    [post] = posts(standin, channel)
    assert post.body["blocks"] == message["blocks"]


def test_paths_in_slack_follows_a_change_to_the_rule_files(fresh_server, slack_to, rules_copy):
    upgrade = rules_copy / "upgrade.yaml"
    # An organisation decides 7.x also goes through a backup and restore.
    upgrade.write_text(upgrade.read_text().replace("backup_restore_required: false",
                                                   "backup_restore_required: true"))
    slack = slack_to(fresh_server(env={"PAMBOT_RULES": str(rules_copy)}))
    diagram = slack.command("paths").json()["blocks"][1]["text"]["text"]
    [line] = [x for x in diagram.split("\n") if x.startswith("7.x ")]
    assert "==&gt;  7.x  backup and restore" in line
