"""The Block Kit renderer against Slack's limits, for real answers and for arbitrary text."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from slack_sdk.models.blocks import Block

from bot.blocks import (
    BUTTON_TEXT_LIMIT,
    BUTTON_VALUE_LIMIT,
    CONTEXT_ELEMENTS_LIMIT,
    FALLBACK_TEXT_LIMIT,
    MAX_BLOCKS,
    SECTION_TEXT_LIMIT,
    answer_blocks,
    answer_text,
    code_blocks,
    escape,
    fit,
    notice_blocks,
    parse_share_value,
    unescape,
)
from bot.listeners import question_text
from rules import answer

# What our own markup may put in a message: links to http(s) sources and the sharer's ID.
OWN_MARKUP = re.compile(r"<https?://[^|>]+\|[^>]*>|<@U0SHARER>")


def texts(blocks: list[dict]) -> list[str]:
    found = []
    for block in blocks:
        if "text" in block:
            found.append(block["text"]["text"])
        for element in block.get("elements", []):
            if isinstance(element.get("text"), str):
                found.append(element["text"])
    return found


def check_limits(blocks: list[dict]) -> None:
    """Slack's documented limits, checked by hand and by slack_sdk's own block models."""
    assert 1 <= len(blocks) <= MAX_BLOCKS
    for block in blocks:
        Block.parse(block).validate_json()
        if block["type"] == "section":
            assert block["text"]["text"].strip()
            assert len(block["text"]["text"]) <= SECTION_TEXT_LIMIT
        if block["type"] == "context":
            assert len(block["elements"]) <= CONTEXT_ELEMENTS_LIMIT
            assert all(e["text"].strip() for e in block["elements"])
            assert all(len(e["text"]) <= SECTION_TEXT_LIMIT for e in block["elements"])
        if block["type"] == "actions":
            for button in block["elements"]:
                assert len(button["text"]["text"]) <= BUTTON_TEXT_LIMIT
                assert len(button["value"]) <= BUTTON_VALUE_LIMIT
    # Nothing pings: every "<" left is our own link or the sharer's mention.
    for text in texts(blocks):
        assert "<" not in OWN_MARKUP.sub("", text), text


def test_a_real_answer_verdict_first_then_steps_warnings_source_buttons():
    result = answer("upgrade 6.5.4")
    blocks = answer_blocks(result, query_id="q1", shareable=True)
    check_limits(blocks)
    assert blocks[0]["text"]["text"] == f"*{result.verdict}*"
    kinds = [b["type"] for b in blocks]
    assert kinds[-2:] == ["context", "actions"]
    body = "\n".join(texts(blocks))
    assert body.index("*Steps*") < body.index("*Warnings*") < body.index("upgrade-6.5.4")
    assert "1. Take a PAM Server generated backup" in body
    assert f"<{result.source_url}|" in body
    ids = [b["action_id"] for b in blocks[-1]["elements"]]
    assert ids == ["pam_share", "pam_helpful", "pam_not_helpful"]
    assert parse_share_value(blocks[-1]["elements"][0]["value"]) == ("upgrade 6.5.4", "q1")


def test_a_support_answer_shows_reason_and_checklist():
    result = answer("upgrade 5.0")
    blocks = answer_blocks(result)
    check_limits(blocks)
    if result.support_checklist:
        assert "*Have this ready for support*" in "\n".join(texts(blocks))


def test_no_query_id_no_feedback_buttons_and_help_gets_usage():
    blocks = answer_blocks(answer("help"), command="/pam", shareable=True)
    check_limits(blocks)
    # No query id: no votes; usage is for the asker alone: no sharing.
    assert not [b for b in blocks if b["type"] == "actions"]
    assert "`/pam QUESTION`" in "\n".join(texts(blocks))


def test_shared_copy_names_the_sharer_and_has_no_share_button():
    blocks = answer_blocks(answer("backup"), query_id="q2", shared_by="U0SHARER")
    check_limits(blocks)
    assert "Shared by <@U0SHARER>" in "\n".join(texts(blocks))
    assert "pam_share" not in json.dumps(blocks)
    # Only a real user ID becomes a mention.
    blocks = answer_blocks(answer("backup"), shared_by="<!channel>")
    assert "Shared by" not in json.dumps(blocks)


def test_a_huge_answer_is_trimmed_with_a_visible_note():
    result = replace(answer("upgrade 6.5.4"), steps=tuple("step <!here> " * 300 for _ in range(80)),
                     warnings=tuple("w" * 4000 for _ in range(30)))
    blocks = answer_blocks(result, query_id="q", shareable=True)
    check_limits(blocks)
    assert "trimmed to fit in Slack" in "\n".join(texts(blocks))
    assert blocks[-1]["type"] == "actions"
    assert len(answer_text(result)) <= FALLBACK_TEXT_LIMIT


def test_a_question_too_long_to_share_has_no_share_button():
    blocks = answer_blocks(answer("upgrade 6.5.4 " + "x" * 3000), query_id="q", shareable=True)
    check_limits(blocks)
    assert "pam_share" not in json.dumps(blocks)


def test_escape_and_fit():
    assert escape("<!channel> & <@U1>") == "&lt;!channel&gt; &amp; &lt;@U1&gt;"
    assert unescape(escape("a <b> & c")) == "a <b> & c"
    assert fit("<<<<", 10) == "&lt;&lt;…"
    assert fit("short", 10) == "short"


def test_question_text_strips_only_the_bots_mention_and_decodes_entities():
    assert question_text("<@U0BOT> upgrade 6.5.4", "U0BOT") == "upgrade 6.5.4"
    assert question_text("hey <@U0BOT|pambot>: restore  leader", "U0BOT") == "hey : restore leader"
    assert question_text("<@U0BOT> ask <@U0OTHER>", "U0BOT") == "ask <@U0OTHER>"
    assert question_text("a &lt;b&gt; &amp;amp;", None) == "a <b> &amp;"
    assert question_text(None) == ""


def test_notice_and_code_blocks_escape_and_fit():
    check_limits(notice_blocks("<!everyone> " * 1000))
    blocks = code_blocks("x <@U1>\n" * 2000)
    check_limits(blocks)
    assert blocks[0]["text"]["text"].startswith("```") and blocks[0]["text"]["text"].endswith("```")


text = st.text(alphabet=st.characters(codec="utf-8"), max_size=4000)
slack_ish = st.text(alphabet="<>&!@#|*_`~ :aU0\n", max_size=6000)
any_text = st.one_of(text, slack_ish)


@settings(max_examples=150, deadline=None)
@given(
    query=any_text, verdict=any_text, summary=st.none() | any_text, reason=st.none() | any_text,
    steps=st.lists(any_text, max_size=60), warnings=st.lists(any_text, max_size=20),
    checklist=st.lists(any_text, max_size=10), suggestion=st.none() | any_text,
    source=any_text, source_url=st.none() | any_text, rule=any_text,
    outcome=st.sampled_from(["path", "support", "help", "unknown"]),
    query_id=st.none() | st.text(max_size=40), shareable=st.booleans(),
)
def test_any_text_stays_within_limits_and_never_pings(
        query, verdict, summary, reason, steps, warnings, checklist, suggestion, source,
        source_url, rule, outcome, query_id, shareable):
    result = replace(
        answer("upgrade 6.5.4"), query=query, verdict=verdict, summary=summary, reason=reason,
        steps=tuple(steps), warnings=tuple(warnings), support_checklist=tuple(checklist),
        suggestion=suggestion, source=source, source_url=source_url, rule=rule,
        outcome=outcome, text=verdict + "\n" + query,
    )
    blocks = answer_blocks(result, query_id=query_id, shareable=shareable, command="/pam",
                           shared_by="U0SHARER")
    check_limits(blocks)
    fallback = answer_text(result)
    assert 1 <= len(fallback) <= FALLBACK_TEXT_LIMIT and "<" not in fallback


@pytest.mark.parametrize("question", ["upgrade 6.5.4", "restore leader", "restore follower",
                                      "restore cluster", "backup", "help", "", "upgarde 6.5",
                                      "upgrade 7.2", "upgrade 5.0", "what?"])
def test_every_packaged_answer_renders_within_limits(question):
    check_limits(answer_blocks(answer(question), query_id="q", shareable=True, command="/pam"))


def test_echoed_question_text_is_shown_literally_not_formatted():
    typed = "upgrade 6.5.4 ```*urgent*``` _now_ ~x~"
    blocks = answer_blocks(answer(typed), query_id="1")
    [echo] = [t for t in texts(blocks) if t.startswith("Question: ")]
    # One inline code span: Slack applies no *bold*, _italic_ or ~strike~ inside it.
    assert echo == "Question: `upgrade 6.5.4 ˋˋˋ*urgent*ˋˋˋ _now_ ~x~`"


def test_a_suggestion_is_shown_literally():
    blocks = answer_blocks(answer("upgarde *6.5.4*"), query_id="1")
    [hint] = [t for t in texts(blocks) if t.startswith("Did you mean")]
    assert hint.count("`") == 2 and "ˋ" not in hint


def test_logged_text_cannot_break_out_of_the_stats_code_block():
    [block] = code_blocks("Top unanswered\n    1  upgrade ```\n*bold* <!here>")
    text = block["text"]["text"]
    assert text.startswith("```") and text.endswith("```") and text.count("`") == 6
    assert "&lt;!here&gt;" in text


def all_text(blocks):
    texts = []
    for block in blocks:
        if block["type"] == "section":
            texts.append(block["text"]["text"])
        elif block["type"] == "context":
            texts += [element["text"] for element in block["elements"]]
    return "\n".join(texts)


def test_every_question_of_a_message_is_shown_incident_first():
    blocks = answer_blocks(answer("we're upgrading 6.5.4 tonight. also the follower died"),
                           query_id="q1", shareable=True)
    text = all_text(blocks)
    assert text.index("Restore the follower") < text.index("Backup and restore required")
    assert "Also, for: we're upgrading 6.5.4 tonight" in text
    assert "Rule `upgrade-6.5.4`" in text and "Rule `restore-follower`" in text
    assert len(blocks) <= 50


def test_a_clarifying_answer_lists_its_choices_with_the_questions_they_stand_for():
    text = all_text(answer_blocks(answer("upgrade 6.5"), query_id="q1"))
    assert "6.5.4: upgrade 6.5.4" in text
    assert "another 6.5.x: upgrade 6.5.x not 6.5.4" in text
