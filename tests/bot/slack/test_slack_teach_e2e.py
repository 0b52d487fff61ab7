"""Teaching pambot a word from Slack, end to end: the admin's App Home shows what pambot
could not read with a "Teach" button, the button opens a modal, the submission teaches the
phrase (admins only), and pambot reads it from then on, on every worker."""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from tests.bot.slack.conftest import ADMIN, PAMBOT, REPO, clean_env, start_server, stop_server
from tests.conftest import BACKENDS

pytestmark = pytest.mark.slow

JARGON = "the pdc is down, what now?"


def open_home(slack, standin, user: str) -> dict:
    before = len(standin.posted(api_method="views.publish"))
    slack.event({"type": "app_home_opened", "user": user, "channel": slack.unique("D"),
                 "tab": "home", "event_ts": "1700003000.000100"})
    published = standin.wait_for(
        lambda: [c for c in standin.posted(api_method="views.publish")[before:]
                 if c.body.get("user_id") == user])
    return published[-1].body["view"]


def teach_buttons(view: dict) -> list[dict]:
    return [b["accessory"] for b in view["blocks"]
            if b.get("accessory", {}).get("action_id") == "pam_teach"]


def open_modal(slack, standin, value: str, *, user: str = ADMIN) -> dict:
    before = len(standin.posted(api_method="views.open"))
    reply = slack.click_home("pam_teach", value, user=user, label="Teach")
    assert reply.status == 200, reply.text
    [opened] = standin.wait_for(lambda: standin.posted(api_method="views.open")[before:])
    return opened.response["view"]


def submission(phrase: str, meaning: str) -> dict:
    return {"phrase": {"value": {"type": "plain_text_input", "value": phrase}},
            "meaning": {"value": {"type": "static_select", "selected_option": {
                "text": {"type": "plain_text", "text": meaning}, "value": meaning}}}}


def verdict(reply) -> str:
    assert reply.status == 200, reply.text
    return reply.json()["blocks"][0]["text"]["text"]


def learned(server) -> list[tuple]:
    return server.rows("SELECT phrase, meaning, who FROM learned", count=0)


@pytest.fixture(params=BACKENDS)
def server(request, fresh_server, tmp_path):
    """A `pambot serve` of the test's own, on a SQLite file, then on PostgreSQL."""
    if request.param == "sqlite":
        return fresh_server(db_path=tmp_path / "pambot.db")
    return fresh_server(db_path=request.getfixturevalue("pg_target"))


def test_an_admin_teaches_a_word_from_the_home_tab_and_pambot_reads_it(
        server, slack_to, standin):
    slack = slack_to(server)
    asker = slack.unique("U")
    assert "did not understand" in verdict(slack.command(JARGON, user=asker))
    server.rows("SELECT 1 FROM queries WHERE user = ?", (asker,))

    home = open_home(slack, standin, ADMIN)
    shown = json.dumps(home["blocks"], ensure_ascii=False)
    assert "*Words to teach*" in shown and "`the pdc is down, what now?`" in shown
    assert "*pdc* (stands where a node is named, before 'down')" in shown
    [button] = teach_buttons(home)

    modal = open_modal(slack, standin, button["value"])
    assert modal["callback_id"] == "pam_teach"
    inputs = {b["block_id"]: b["element"] for b in modal["blocks"] if b["type"] == "input"}
    assert inputs["phrase"]["initial_value"] == "pdc"
    assert inputs["meaning"]["initial_option"]["value"] == "node:leader"
    suggested = inputs["meaning"]["option_groups"][0]
    assert [o["value"] for o in suggested["options"]] == [
        "node:leader", "node:follower", "node:cluster"]

    reply = slack.submit_view(modal, submission("pdc", "node:leader"), user=ADMIN)
    assert reply.status == 200, reply.text
    done = reply.json()
    assert done["response_action"] == "update"
    text = json.dumps(done["view"], ensure_ascii=False)
    assert "Learned: `pdc` means *node:leader*" in text
    assert "now reads: *Restore the leader" in text
    assert learned(server) == [("pdc", "node:leader", f"slack:{ADMIN}")]
    assert "taught 'pdc' as node:leader (App Home)" in server.log()

    # Asked again, by anyone: read as the leader.
    assert verdict(slack.command("PDC died", user=asker)).startswith("Restore the leader")
    # The admin's Home is published again, with nothing left to teach.
    republished = standin.wait_for(lambda: [
        c for c in standin.posted(api_method="views.publish")
        if c.body.get("user_id") == ADMIN and "Nothing to teach" in json.dumps(c.body)])
    assert not teach_buttons(republished[-1].body["view"])


def test_only_admins_see_teach_and_a_forged_click_or_submission_teaches_nothing(
        server, slack_to, standin):
    slack = slack_to(server)
    someone = slack.unique("U")
    slack.command(JARGON, user=someone)
    server.rows("SELECT 1 FROM queries WHERE user = ?", (someone,))
    assert "Words to teach" not in json.dumps(open_home(slack, standin, someone))

    value = json.dumps({"v": 1, "q": JARGON})
    before = len(standin.posted(api_method="views.open"))
    assert slack.click_home("pam_teach", value, user=someone).status == 200
    [told] = standin.wait_for(lambda: standin.posted(
        lambda c: c.body.get("channel") == someone, api_method="chat.postMessage"))
    assert "Only pambot's admins (PAMBOT_ADMINS) can teach it words." in told.body["text"]
    assert len(standin.posted(api_method="views.open")) == before

    modal = open_modal(slack, standin, value)  # an admin's modal, submitted by someone else
    reply = slack.submit_view(modal, submission("pdc", "node:leader"), user=someone)
    assert reply.json() == {"response_action": "errors", "errors": {
        "phrase": "Only pambot's admins (PAMBOT_ADMINS) can teach it words."}}
    assert learned(server) == []


@pytest.mark.parametrize("phrase, meaning, field, message", [
    ("leader", "node:follower", "phrase",
     "cannot learn 'leader' as node:follower: it already means node:leader in the rule files"),
    ("pdc", "node:chief", "meaning",
     "cannot learn 'pdc' as node:chief: 'node:chief' is not a meaning of the vocabulary"),
    ("!!!", "node:leader", "phrase", "'!!!' has no word pambot reads"),
])
def test_a_phrase_pambot_cannot_learn_is_refused_on_the_modal_in_one_line(
        server, slack_to, standin, phrase, meaning, field, message):
    slack = slack_to(server)
    modal = open_modal(slack, standin, json.dumps({"v": 1, "q": JARGON}))
    reply = slack.submit_view(modal, submission(phrase, meaning), user=ADMIN)
    assert reply.status == 200, reply.text
    body = reply.json()
    assert body["response_action"] == "errors" and list(body["errors"]) == [field]
    assert body["errors"][field].startswith(message) and "\n" not in body["errors"][field]
    assert learned(server) == []


def test_a_phrase_taught_on_the_command_line_is_read_by_every_worker_within_seconds(
        standin, slack_to, tmp_path):
    server = start_server(standin, tmp_path, workers=2)
    try:
        slack = slack_to(server)
        assert "did not understand" in verdict(slack.command(JARGON))
        taught = subprocess.run(
            [PAMBOT, "learn", "pdc", "node:leader"], cwd=REPO, capture_output=True, text=True,
            env=clean_env(PAMBOT_DB=str(server.db_path)), timeout=60)
        assert taught.returncode == 0, taught.stderr
        assert "Learned: 'pdc' means node:leader" in taught.stdout
        # Within seconds, without a restart: every answer reads it, whichever worker gives it
        # (each worker looks for new phrases on its own clock, so one may read it first).
        def answers() -> set[str]:
            return {verdict(slack.command(JARGON)).split(" from")[0] for _ in range(10)}

        deadline = time.monotonic() + 15
        while answers() != {"Restore the leader"}:
            assert time.monotonic() < deadline, "a worker never read the phrase"
            time.sleep(0.5)
        assert answers() | answers() == {"Restore the leader"}  # and keeps reading it
        assert "1 learned phrase(s) merged" in server.log()
    finally:
        stop_server(server)


def test_a_phrase_taught_on_one_replica_is_read_by_the_other(standin, slack_to, pg_target,
                                                             tmp_path):
    a, b = (start_server(standin, tmp_path, db_path=pg_target, name=f"replica-{n}")
            for n in range(2))
    try:
        on_a, on_b = slack_to(a), slack_to(b)
        assert "did not understand" in verdict(on_b.command(JARGON))
        modal = open_modal(on_a, standin, json.dumps({"v": 1, "q": JARGON}))
        done = on_a.submit_view(modal, submission("pdc", "node:leader"), user=ADMIN)
        assert done.json()["response_action"] == "update", done.text
        deadline = time.monotonic() + 15
        while not verdict(on_b.command(JARGON)).startswith("Restore the leader"):
            assert time.monotonic() < deadline, "replica B never read the phrase taught on A"
            time.sleep(0.5)
        taught = subprocess.run([PAMBOT, "learn", "--list"], cwd=REPO, capture_output=True,
                                text=True, env=clean_env(PAMBOT_DB=pg_target), timeout=60)
        assert taught.returncode == 0, taught.stderr
        assert taught.stdout.startswith("pdc  node:leader") and f"slack:{ADMIN}" in taught.stdout
    finally:
        for server in (a, b):
            stop_server(server)
