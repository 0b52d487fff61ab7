"""The App Home tab end to end: published when opened, for an admin and for anyone else."""

from __future__ import annotations

import json

import pytest

from bot.blocks import parse_button_value

pytestmark = pytest.mark.slow


def open_home(slack, standin, user: str, tab: str = "home") -> list:
    slack.event({"type": "app_home_opened", "user": user, "channel": slack.unique("D"),
                 "tab": tab, "event_ts": "1700003000.000100"})
    return standin.posted(lambda c: c.body.get("user_id") == user, api_method="views.publish")


def texts(view: dict) -> str:
    return json.dumps(view["blocks"], ensure_ascii=False)


def test_home_shows_what_pambot_answers_examples_and_your_own_questions(
        slack, standin, pambot_server):
    user = slack.unique("U")
    slack.command("upgrade 6.5.4", user=user)
    slack.command("upgrade 5.0", user=user)
    slack.command("restore leader", user="U0SOMEONEELSE")
    pambot_server.rows("SELECT 1 FROM queries WHERE \"user\" = ?", (user,), count=2)
    [published] = open_home(slack, standin, user)
    view = published.body["view"]
    assert view["type"] == "home"
    shown = texts(view)
    assert "pambot: PAM Server upgrades, restores and backups" in shown
    examples = [e for b in view["blocks"] if b.get("block_id") == "pam_examples"
                for e in b["elements"]]
    assert [parse_button_value(e["value"]).question for e in examples][:2] == [
        "upgrade 6.5.4", "upgrade from 6.5.4 to 7.1"]
    assert "`upgrade 6.5.4` → *Backup and restore required*" in shown
    assert "`upgrade 5.0` → *Contact Osirium Support*" in shown
    assert shown.index("upgrade 5.0") < shown.index("`upgrade 6.5.4`")  # newest first
    assert "restore leader` →" not in shown  # someone else's
    assert "Query log" not in shown  # not an admin


def test_home_for_an_admin_has_the_stats_as_blocks_not_a_code_block(slack, standin,
                                                                    pambot_server):
    slack.command("upgrade 4.2", user="U0STATS")
    pambot_server.rows("SELECT 1 FROM queries WHERE \"user\" = 'U0STATS'")
    [*_, published] = open_home(slack, standin, slack.ADMIN)
    blocks = published.body["view"]["blocks"]
    shown = texts(published.body["view"])
    assert "*Query log, last 7 days* (admins only)" in shown
    assert "```" not in shown
    [outcomes] = [b for b in blocks if b["type"] == "section" and "fields" in b]
    assert any(f["text"].startswith("*support*\n") for f in outcomes["fields"])
    assert "*Top unanswered questions*" in shown and "upgrade 4.2" in shown


def test_opening_the_messages_tab_publishes_nothing(slack, standin):
    user = slack.unique("U")
    assert open_home(slack, standin, user, tab="messages") == []


def test_an_example_on_the_home_tab_is_answered_in_your_dm(slack, standin, pambot_server):
    user = slack.unique("U")
    reply = slack.click_home("pam_example_2", json.dumps({"v": 1, "q": "restore leader"}),
                             user=user, label="restore leader")
    assert reply.status == 200
    [answer] = standin.wait_for(lambda: standin.posted(lambda c: c.body.get("channel") == user))
    assert answer.body["blocks"][0]["text"]["text"].startswith("Restore the leader")
    assert "pam_checklist" in json.dumps(answer.body["blocks"])
    assert pambot_server.rows("SELECT source, rule FROM queries WHERE \"user\" = ?", (user,)) == [
        ("button", "restore-leader")]


def test_a_stale_example_on_the_home_tab_is_explained_in_your_dm(slack, standin):
    user = slack.unique("U")
    slack.click_home("pam_example_0", "upgrade 6.5.4", user=user)
    [told] = standin.wait_for(lambda: standin.posted(lambda c: c.body.get("channel") == user))
    assert "That button no longer works" in told.body["text"]
