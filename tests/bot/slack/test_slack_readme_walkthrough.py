"""The README's incident-thread walk-through is what `pambot serve` really posts.

Each ```json block under a `<!-- walkthrough: NAME -->` marker in the README must equal
the part of the message this test captures as NAME, once the values that change from run
to run (ids, timestamps, clock times) are masked. PAMBOT_WALKTHROUGH=FILE writes the
captured JSON to FILE, to paste when the messages change on purpose.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

README = Path(__file__).resolve().parents[3] / "README.md"
_VOLATILE = [
    (re.compile(r"\b[0-9a-f]{32}\b"), "<id>"),  # a checklist's id
    (re.compile(r"\b\d{15,19}\b"), "<id>"),  # a query's id
    (re.compile(r"\b1[78]\d{8}\.\d{6}\b"), "<ts>"),
    (re.compile(r"\b\d\d:\d\d UTC\b"), "<hh:mm> UTC"),
    (re.compile(r"\bC0\d+\b"), "<channel>"),
]


def masked(value):
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    for pattern, replacement in _VOLATILE:
        text = pattern.sub(replacement, text)
    return json.loads(text)


def readme_snippets() -> dict[str, object]:
    text = README.read_text()
    return {name: json.loads(block) for name, block in re.findall(
        r"<!-- walkthrough: ([\w-]+) -->\s*```json\n(.*?)```", text, re.S)}


def test_the_readme_walkthrough_is_a_real_incident_thread(slack, standin):
    channel = slack.unique("C0")
    thread = "1700005000.000100"

    def posts():
        return standin.posted(lambda c: c.body.get("channel") == channel)

    captured: dict[str, object] = {}
    mention = {"type": "app_mention", "user": "U0ALICE", "channel": channel, "ts": thread,
               "text": f"<@{slack.BOT_USER}> our PAM server is down and needs restoring"}
    slack.event(mention)
    [asking] = posts()
    captured["mention"] = mention
    captured["asks-back"] = {"thread_ts": asking.body["thread_ts"],
                             "blocks": [asking.body["blocks"][0],
                                        *[b for b in asking.body["blocks"]
                                          if b.get("block_id") == "pam_choices_0"]]}

    reply = {"type": "message", "channel_type": "channel", "user": "U0BOB",
             "channel": channel, "ts": "1700005000.000200", "thread_ts": thread,
             "text": "the leader"}
    slack.event(reply)
    [_, answer] = standin.wait_for(posts, count=2)
    captured["reply"] = reply
    captured["answer"] = {"thread_ts": answer.body["thread_ts"],
                          "text": answer.body["text"].split("\n")[0],
                          "blocks": answer.body["blocks"][:2] + answer.body["blocks"][-1:]}

    slack.click_on(answer, "pam_checklist", user="U0ALICE")
    [*_, checklist] = standin.wait_for(posts, count=3)
    captured["checklist"] = {"thread_ts": checklist.body["thread_ts"],
                             "blocks": checklist.body["blocks"][:4]}

    slack.tick(checklist, 1, user="U0BOB")
    ts = checklist.response["ts"]

    def ticked():
        found = standin.posted(lambda c: c.body.get("ts") == ts, api_method="chat.update")
        return [c for c in found if "initial_options" in json.dumps(c.body["blocks"])]

    [update, *_] = standin.wait_for(ticked)
    captured["ticked"] = {"ts": update.body["ts"],
                          "blocks": [update.body["blocks"][1], update.body["blocks"][3]]}

    if os.environ.get("PAMBOT_WALKTHROUGH"):
        Path(os.environ["PAMBOT_WALKTHROUGH"]).write_text(json.dumps(
            captured, indent=2, ensure_ascii=False))
    shown = readme_snippets()
    assert set(shown) == set(captured), "every step of the walk-through is in the README"
    for name, value in captured.items():
        assert masked(shown[name]) == masked(value), name
