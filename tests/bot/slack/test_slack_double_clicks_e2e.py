"""A button clicked twice, by one person or by two at once, gives one answer: choices,
"Did you mean ...?", the App Home's examples and "Share in channel"."""

from __future__ import annotations

import json
import threading
import time

import pytest

pytestmark = pytest.mark.slow

# Longer than any click takes to be answered here: a second answer would be posted by then.
SETTLE_S = 1.5


def at_once(*clicks) -> None:
    """Run each of `clicks` (no-argument callables) in its own thread, released together."""
    barrier = threading.Barrier(len(clicks))

    def run(click) -> None:
        barrier.wait()
        click()

    threads = [threading.Thread(target=run, args=(click,)) for click in clicks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)


def posts(standin, channel: str):
    return standin.posted(lambda c: c.body.get("channel") == channel)


def asked(slack, standin, question: str):
    """A mention answered in a new thread with buttons; (channel, the answer's post)."""
    channel = slack.unique("C")
    slack.event({"type": "app_mention", "user": "U0ASKER", "channel": channel,
                 "text": f"<@{slack.BOT_USER}> {question}", "ts": "1700003000.000100"})
    [post] = posts(standin, channel)
    return channel, post


@pytest.mark.parametrize("question, button, users", [
    ("restore", "pam_choice_0", ("U0ALICE", "U0ALICE")),
    ("restore", "pam_choice_0", ("U0ALICE", "U0BOB")),
    ("upgarde 6.5.4", "pam_did_you_mean", ("U0ALICE", "U0ALICE")),
], ids=["double-click", "two-people", "did-you-mean"])
def test_a_choice_clicked_twice_at_once_is_answered_once(slack, standin, pambot_server,
                                                         question, button, users):
    channel, asking = asked(slack, standin, question)
    at_once(*(lambda user=user: slack.click_on(asking, button, user=user) for user in users))
    standin.wait_for(lambda: posts(standin, channel), count=2)
    time.sleep(SETTLE_S)
    [_, answer] = posts(standin, channel)
    # Whoever clicked first is named on the answer.
    assert any(f"<@{user}> picked" in json.dumps(answer.body["blocks"]) for user in users)
    rows = pambot_server.rows("SELECT count(*) FROM queries WHERE channel = ? AND "
                              "source = 'button'", (channel,))
    assert rows == [(1,)]


def test_another_choice_on_the_same_question_is_still_answered(slack, standin):
    channel, asking = asked(slack, standin, "restore")
    at_once(lambda: slack.click_on(asking, "pam_choice_0", user="U0ALICE"),
            lambda: slack.click_on(asking, "pam_choice_1", user="U0BOB"))
    assert len(standin.wait_for(lambda: posts(standin, channel), count=3)) == 3


def test_a_home_example_clicked_twice_is_answered_once_in_the_dm(slack, standin):
    user = slack.unique("U")
    value = json.dumps({"v": 1, "q": "restore leader"})
    at_once(*[lambda: slack.click_home("pam_example_2", value, user=user)] * 2)
    standin.wait_for(lambda: posts(standin, user))
    time.sleep(SETTLE_S)
    assert len(posts(standin, user)) == 1


def test_share_clicked_twice_shares_once(slack, standin):
    channel = slack.unique("C")
    answer = slack.command("restore leader", channel=channel, user="U0ASKER").json()
    [share] = [e for b in answer["blocks"] if b["type"] == "actions" for e in b["elements"]
               if e["action_id"] == "pam_share"]
    response_url = standin.response_url(slack.unique("share"))
    at_once(*[lambda: slack.click("pam_share", share["value"], response_url=response_url,
                                  user="U0ASKER", channel=channel)] * 2)
    name = response_url.rsplit("/", 1)[1]
    standin.wait_for(lambda: standin.responses(name), count=2)
    time.sleep(SETTLE_S)
    shared = [c for c in standin.responses(name) if c.body.get("response_type") == "in_channel"]
    assert len(shared) == 1


def test_a_click_whose_answer_failed_is_answered_when_clicked_again(slack, standin):
    channel, asking = asked(slack, standin, "restore")
    standin.fail_next("chat.postMessage", body={"ok": False, "error": "ratelimited"})
    slack.click_on(asking, "pam_choice_1", user="U0ALICE")
    standin.wait_for(lambda: [c for c in standin.calls if c.failed
                              and c.body.get("channel") == channel])
    time.sleep(0.5)
    assert len(posts(standin, channel)) == 1
    slack.click_on(asking, "pam_choice_1", user="U0ALICE")
    assert len(standin.wait_for(lambda: posts(standin, channel), count=2)) == 2
