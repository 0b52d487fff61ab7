"""Runbook checklists end to end: started from an answer, ticked by several people at once,
redrawn for everyone with chat.update, and still working after a restart."""

from __future__ import annotations

import json
import threading

import pytest

from tests.conftest import sql

pytestmark = pytest.mark.slow

STEPS_6_5_4 = 4


def answer_in_thread(slack, standin, question: str = "upgrade 6.5.4"):
    """A mention answered in a new thread; (channel, the answer's post)."""
    channel = slack.unique("C")
    slack.event({"type": "app_mention", "user": "U0ASKER", "channel": channel,
                 "text": f"<@{slack.BOT_USER}> {question}", "ts": "1700002000.000100"})
    [post] = standin.posted(lambda c: c.body.get("channel") == channel)
    return channel, post


def start_checklist(slack, standin, question: str = "upgrade 6.5.4", user: str = "U0ALICE"):
    """Click "Start checklist" on an answer; (channel, the checklist's post)."""
    channel, answer = answer_in_thread(slack, standin, question)
    slack.click_on(answer, "pam_checklist", user=user)
    [_, checklist] = standin.wait_for(
        lambda: standin.posted(lambda c: c.body.get("channel") == channel), count=2)
    return channel, checklist


def updates(standin, checklist) -> list:
    ts = checklist.response["ts"]
    return standin.posted(lambda c: c.body.get("ts") == ts, api_method="chat.update")


def steps_shown(blocks: list[dict]) -> dict[int, tuple[bool, str]]:
    """Step number -> (ticked, the line under it saying who ticked it)."""
    shown = {}
    for index, block in enumerate(blocks):
        if block.get("accessory", {}).get("type") == "checkboxes":
            number = int(block["block_id"].rsplit(":", 1)[1])
            ticked = bool(block["accessory"].get("initial_options"))
            shown[number] = (ticked, blocks[index + 1]["elements"][0]["text"])
    return shown


def shows(standin, checklist, predicate):
    """The checklist's updates once the latest satisfies `predicate` (waiting for it)."""
    def latest():
        found = updates(standin, checklist)
        return found if found and predicate(found[-1].body["blocks"]) else []

    return standin.wait_for(latest)


def test_start_checklist_posts_one_checkbox_per_step_in_the_thread(slack, standin):
    channel, checklist = start_checklist(slack, standin)
    body = checklist.body
    assert body["thread_ts"] == "1700002000.000100"
    blocks = body["blocks"]
    assert blocks[0]["text"]["text"] == "Checklist: Backup and restore required"
    assert "Started by <@U0ALICE>" in blocks[1]["elements"][0]["text"]
    assert "0 of 4 steps done" in blocks[1]["elements"][0]["text"]
    assert steps_shown(blocks) == {n: (False, "Not done yet") for n in range(1, 5)}
    # The source is cited under every step.
    sources = [b["elements"][1]["text"] for b in blocks
               if b["type"] == "context" and len(b["elements"]) == 2]
    assert len(sources) == STEPS_6_5_4
    assert all('|Osirium PAM install guide' in s and 'row "6.5.4"' in s for s in sources)
    assert blocks[2]["text"]["text"].startswith("*1.* Take a PAM Server generated backup")


def test_starting_twice_keeps_one_checklist(slack, standin):
    channel, answer = answer_in_thread(slack, standin)
    slack.click_on(answer, "pam_checklist")
    standin.wait_for(lambda: standin.posted(lambda c: c.body.get("channel") == channel),
                     count=2)
    name = slack.click_on(answer, "pam_checklist")
    [told] = standin.wait_for(lambda: standin.responses(name))
    assert "already in this thread" in told.body["text"]
    assert len(standin.posted(lambda c: c.body.get("channel") == channel)) == 2


def test_ticks_and_unticks_show_for_everyone_with_who_and_when_and_are_logged(
        slack, standin, pambot_server):
    channel, checklist = start_checklist(slack, standin)
    slack.tick(checklist, 2, user="U0BOB")
    [*_, update] = shows(standin, checklist, lambda b: steps_shown(b)[2][0])
    ticked, who = steps_shown(update.body["blocks"])[2]
    assert who.startswith(":white_check_mark: <@U0BOB>, ") and who.endswith(" UTC")
    assert "1 of 4 steps done" in update.body["blocks"][1]["elements"][0]["text"]

    slack.tick(checklist, 2, ticked=False, user="U0CAROL")
    [*_, update] = shows(standin, checklist, lambda b: not steps_shown(b)[2][0])
    assert steps_shown(update.body["blocks"])[2][1].startswith(
        "Not done (unticked by <@U0CAROL>, ")
    rows = pambot_server.rows(
        "SELECT t.channel, t.thread_ts, t.step, t.\"user\", t.ticked FROM runbook_ticks t "
        "JOIN runbooks r ON r.id = t.runbook_id WHERE r.channel = ? ORDER BY t.id",
        (channel,), count=2)
    assert rows == [(channel, "1700002000.000100", 2, "U0BOB", 1),
                    (channel, "1700002000.000100", 2, "U0CAROL", 0)]


def test_two_people_ticking_different_steps_at_once_lose_neither_tick(slack, standin):
    _, checklist = start_checklist(slack, standin)
    barrier = threading.Barrier(2)

    def tick(step: int, user: str) -> None:
        barrier.wait()
        slack.tick(checklist, step, user=user)

    people = [threading.Thread(target=tick, args=(1, "U0BOB")),
              threading.Thread(target=tick, args=(3, "U0CAROL"))]
    for person in people:
        person.start()
    for person in people:
        person.join(30)
    [*_, final] = shows(standin, checklist,
                        lambda b: steps_shown(b)[1][0] and steps_shown(b)[3][0])
    shown = steps_shown(final.body["blocks"])
    assert "<@U0BOB>" in shown[1][1] and "<@U0CAROL>" in shown[3][1]
    assert "2 of 4 steps done" in final.body["blocks"][1]["elements"][0]["text"]


def test_every_step_ticked_says_so_and_how_long_it_took(slack, standin):
    _, checklist = start_checklist(slack, standin, question="restore leader")
    for step in (1, 2):
        slack.tick(checklist, step, user="U0BOB")
    [*_, final] = shows(standin, checklist,
                        lambda b: all(ticked for ticked, _ in steps_shown(b).values()))
    assert final.body["blocks"][-1]["text"]["text"] == (
        ":white_check_mark: *All 2 steps done* in under a minute.")
    assert final.body["text"] == "Checklist: Restore the leader from its VM level backup if " \
        "you have one (all done)"


def test_a_tick_on_a_checklist_that_is_gone_gets_a_clear_message(slack, standin,
                                                                  pambot_server):
    channel, checklist = start_checklist(slack, standin)
    # as retention or an admin removes it
    sql(pambot_server.db_path, "DELETE FROM runbooks WHERE channel = ?", (channel,))
    name = slack.tick(checklist, 1)
    [told] = standin.wait_for(lambda: standin.responses(name))
    assert told.body["response_type"] == "ephemeral"
    assert "That checklist no longer exists" in told.body["text"]
    assert updates(standin, checklist) == []


def test_a_tick_on_a_checklist_message_deleted_in_slack_says_so(slack, standin):
    _, checklist = start_checklist(slack, standin)
    standin.fail_next("chat.update", body={"ok": False, "error": "message_not_found"})
    name = slack.tick(checklist, 1)
    [told] = standin.wait_for(lambda: standin.responses(name))
    assert "checklist message is gone" in told.body["text"]


def test_a_forged_checkbox_gets_a_clear_message(slack, standin):
    _, checklist = start_checklist(slack, standin)
    forged = json.loads(json.dumps(checklist.body["blocks"]).replace("pam_step:", "pam_stp:"))
    checklist.body["blocks"] = forged
    name = slack.tick(checklist, 1)
    [told] = standin.wait_for(lambda: standin.responses(name))
    assert "That checkbox does not work" in told.body["text"]


def test_checklists_work_in_a_dm(slack, standin):
    channel = slack.unique("D")
    slack.event({"type": "message", "channel_type": "im", "user": "U0ASKER",
                 "text": "restore follower", "ts": "1700002100.000100", "channel": channel})
    [answer] = standin.posted(lambda c: c.body.get("channel") == channel)
    slack.click_on(answer, "pam_checklist", user="U0ASKER")
    [_, checklist] = standin.wait_for(
        lambda: standin.posted(lambda c: c.body.get("channel") == channel), count=2)
    # A thread under the answer, so the DM stays readable.
    assert checklist.body["thread_ts"] == answer.response["ts"]
    slack.tick(checklist, 1, user="U0ASKER")
    assert shows(standin, checklist, lambda b: steps_shown(b)[1][0])


def test_a_tick_after_a_restart_still_works(fresh_server, slack_to, standin, tmp_path):
    server = fresh_server()
    slack = slack_to(server)
    _, checklist = start_checklist(slack, standin)
    slack.tick(checklist, 1, user="U0BOB")
    assert shows(standin, checklist, lambda b: steps_shown(b)[1][0])
    fresh_server.stop(server)

    again = slack_to(fresh_server(db_path=server.db_path))
    again.tick(checklist, 2, user="U0CAROL")
    [*_, update] = shows(standin, checklist,
                         lambda b: steps_shown(b)[2][0] and steps_shown(b)[1][0])
    assert "<@U0BOB>" in steps_shown(update.body["blocks"])[1][1]
    assert "<@U0CAROL>" in steps_shown(update.body["blocks"])[2][1]
