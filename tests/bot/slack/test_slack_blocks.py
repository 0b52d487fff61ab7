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
    ACTIONS_ELEMENTS_LIMIT,
    BUTTON_TEXT_LIMIT,
    BUTTON_VALUE_LIMIT,
    CONTEXT_ELEMENTS_LIMIT,
    FALLBACK_TEXT_LIMIT,
    HEADER_TEXT_LIMIT,
    MAX_BLOCKS,
    SECTION_TEXT_LIMIT,
    StaleButton,
    answer_blocks,
    answer_text,
    button_value,
    code_blocks,
    escape,
    fit,
    linkify,
    notice_blocks,
    parse_button_value,
    parse_share_value,
    unescape,
    warning_sections,
)
from bot.listeners.common import question_text
from rules import answer
from rules.model import Choice

# What our own markup may put in a message: links to http(s) sources and the ID of the
# user who shared an answer or picked a choice.
OWN_MARKUP = re.compile(r"<https?://[^|>]+\|[^>]*>|<@U0SHARER>|<@U0PICKER>")


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
    block_ids = [b["block_id"] for b in blocks if "block_id" in b]
    assert len(block_ids) == len(set(block_ids)), "block ids are unique within a message"
    for block in blocks:
        Block.parse(block).validate_json()
        if block["type"] == "header":
            assert block["text"]["type"] == "plain_text"
            assert 1 <= len(block["text"]["text"]) <= HEADER_TEXT_LIMIT
        if block["type"] == "section":
            assert block["text"]["text"].strip()
            assert len(block["text"]["text"]) <= SECTION_TEXT_LIMIT
        if block["type"] == "context":
            assert len(block["elements"]) <= CONTEXT_ELEMENTS_LIMIT
            assert all(e["text"].strip() for e in block["elements"])
            assert all(len(e["text"]) <= SECTION_TEXT_LIMIT for e in block["elements"])
        if block["type"] == "actions":
            assert 1 <= len(block["elements"]) <= ACTIONS_ELEMENTS_LIMIT
            action_ids = [button["action_id"] for button in block["elements"]]
            assert len(action_ids) == len(set(action_ids)), "action ids are unique in a block"
            for button in block["elements"]:
                assert 1 <= len(button["text"]["text"]) <= BUTTON_TEXT_LIMIT
                assert len(button["value"]) <= BUTTON_VALUE_LIMIT
    # Nothing pings: every "<" left is our own link or the sharer's mention.
    for text in texts(blocks):
        assert "<" not in OWN_MARKUP.sub("", text), text


def buttons(blocks: list[dict]) -> dict[str, dict]:
    """Every button of a message by action_id."""
    return {e["action_id"]: e for b in blocks if b["type"] == "actions" for e in b["elements"]}


def test_a_real_answer_verdict_first_then_steps_warnings_source_buttons():
    result = answer("upgrade 6.5.4")
    blocks = answer_blocks(result, query_id="q1", shareable=True)
    check_limits(blocks)
    # The verdict is the message's first line, as a header.
    assert blocks[0] == {"type": "header", "text": {
        "type": "plain_text", "text": "Backup and restore required", "emoji": True}}
    kinds = [b["type"] for b in blocks]
    assert kinds[-2:] == ["context", "actions"]
    body = "\n".join(texts(blocks))
    assert body.index("*Steps*") < body.index("3 warnings") < body.index("upgrade-6.5.4")
    assert "1. Take a PAM Server generated backup" in body
    assert f"<{result.source_url}|" in body
    ids = [b["action_id"] for b in blocks[-1]["elements"]]
    assert ids == ["pam_warnings", "pam_share", "pam_helpful", "pam_not_helpful"]
    assert parse_share_value(blocks[-1]["elements"][1]["value"]) == ("upgrade 6.5.4", "q1")


def test_long_warnings_fold_into_one_line_and_a_show_warnings_button():
    result = answer("upgrade 6.5.4")
    blocks = answer_blocks(result, query_id="q1")
    [folded] = [t for t in texts(blocks) if "warnings" in t and "Show warnings" in t]
    assert folded.startswith(":warning: *3 warnings*")
    assert "Restoring a standalone PAM Server (7.5.3 documentation)" in folded
    # The steps come before any warning text, and no warning is shown in full.
    body = "\n".join(texts(blocks))
    assert "Master Encryption Key" not in body
    assert body.index("4. If you run followers") < body.index(":warning:")
    show = buttons(blocks)["pam_warnings"]
    assert show["text"]["text"] == "Show warnings (3)"
    assert parse_button_value(show["value"]).question == "upgrade 6.5.4"
    # What the button shows: every warning in full, its documentation link clickable.
    full = "\n".join(texts(warning_sections(result.warnings)))
    assert "Master Encryption Key" in full
    assert ("(<https://osirium.com/documentation/pam/7.5.3/pam-guide/recovery/pam-server/"
            "restoring/|Restoring (7.5.3 docs)>)") in full


def test_short_warnings_are_shown_in_full_with_clickable_links():
    blocks = answer_blocks(answer("restore follower"), query_id="q1")
    check_limits(blocks)
    body = "\n".join(texts(blocks))
    assert "*Warnings*" in body and "pam_warnings" not in json.dumps(blocks)
    assert ("(<https://osirium.com/documentation/pam/pam-clustering-guide/|"
            "PAM clustering guide>)") in body
    assert "https://osirium.com/documentation/pam/pam-clustering-guide/)" not in \
        body.replace("|PAM clustering guide>)", "")


def test_links_are_made_only_of_addresses_and_never_swallow_punctuation():
    assert linkify("see https://x.example/a-b/c/. Then") == \
        "see <https://x.example/a-b/c/|C>. Then"
    assert linkify("no link here &lt;!here&gt;") == "no link here &lt;!here&gt;"
    assert linkify("(https://osirium.com/documentation/pam/)") == \
        "(<https://osirium.com/documentation/pam/|PAM documentation>)"


def test_choices_are_buttons_that_ask_the_question_each_stands_for():
    blocks = answer_blocks(answer("restore"), query_id="q1")
    check_limits(blocks)
    [choices] = [b for b in blocks if b.get("block_id") == "pam_choices_0"]
    labels = [e["text"]["text"] for e in choices["elements"]]
    assert labels == ["leader", "follower", "whole cluster", "standalone server"]
    values = [parse_button_value(e["value"]) for e in choices["elements"]]
    assert [v.question for v in values] == ["restore leader", "restore follower",
                                            "restore cluster", "restore standalone server"]
    assert {v.parent for v in values} == {"q1"}


def test_a_choice_value_too_long_for_a_button_is_never_offered():
    too_long = "upgrade " + "6.5.4 " * 400
    assert button_value(too_long) is None
    result = answer("restore")
    blocks = answer_blocks(replace(result, choices=(*result.choices[:2], Choice("huge", too_long))),
                           query_id="q1")
    check_limits(blocks)
    [choices] = [b for b in blocks if b.get("block_id") == "pam_choices_0"]
    assert [e["text"]["text"] for e in choices["elements"]] == ["leader", "follower"]
    assert "huge" not in json.dumps(blocks)
    # When no choice fits a button, none is offered as one: the questions are said instead.
    said = answer_blocks(replace(result, choices=(Choice("huge", too_long),)), query_id="q1")
    check_limits(said)
    assert not [b for b in said if b["type"] == "actions" and b.get("block_id") != "pam_actions"]
    assert "Ask again with one of: upgrade 6.5.4 6.5.4" in all_text(said)


def test_did_you_mean_is_a_button_that_asks_the_corrected_question():
    blocks = answer_blocks(answer("upgarde 6.5.4"), query_id="q9")
    check_limits(blocks)
    suggestion = buttons(blocks)["pam_did_you_mean"]
    assert suggestion["text"]["text"] == "Did you mean: upgrade 6.5.4?"
    assert parse_button_value(suggestion["value"]).question == "upgrade 6.5.4"


def test_start_checklist_only_on_answers_with_steps_to_follow():
    assert "pam_checklist" in buttons(answer_blocks(answer("restore leader"), checklist=True))
    before = answer("what do we need before a cluster upgrade?")
    assert before.rule == "fact-cluster-upgrade"
    assert "pam_checklist" in buttons(answer_blocks(before, checklist=True))
    assert "pam_checklist" not in buttons(answer_blocks(answer("restore leader")))
    for question in ("restore", "upgrade 5.0", "help", "what?"):
        assert "pam_checklist" not in buttons(answer_blocks(answer(question), checklist=True))
    # Each answer of a several-question message gets its own, saying which it is.
    blocks = answer_blocks(answer("leader died. also upgrade 6.5.4"), checklist=True,
                           query_id="q1")
    check_limits(blocks)
    values = [parse_button_value(e["value"]) for b in blocks if b["type"] == "actions"
              for e in b["elements"] if e["action_id"] == "pam_checklist"]
    assert sorted(v.item for v in values) == [0, 1]


def test_a_reading_in_context_and_a_pick_say_so_under_the_verdict():
    result = answer("restore leader")
    blocks = answer_blocks(result, typed="the leader")
    assert blocks[1]["elements"][0]["text"] == (
        "Read `the leader` in this conversation as: `restore leader`")
    blocks = answer_blocks(result, typed="leader", picked_by="U0PICKER")
    check_limits(blocks)
    assert blocks[1]["elements"][0]["text"] == "<@U0PICKER> picked “leader”: *restore leader*"
    assert answer_blocks(result, typed="restore leader")[1]["type"] != "context"


@pytest.mark.parametrize("value", [
    None, "", "not json", "[1]", json.dumps({"q": "upgrade 6.5.4", "id": "q1"}),
    json.dumps({"v": 2, "q": "upgrade 6.5.4"}), json.dumps({"v": 1, "q": 5}),
    json.dumps({"v": 1, "q": "x", "i": -1}), json.dumps({"v": 1, "q": "x", "p": 3}),
], ids=["none", "empty", "text", "list", "share-value", "newer", "number", "item", "parent"])
def test_a_button_value_pambot_did_not_make_is_refused_with_a_reason(value):
    with pytest.raises(StaleButton) as refused:
        parse_button_value(value)
    assert str(refused.value)


def test_a_button_value_round_trips_and_a_too_long_question_gets_no_button():
    value = button_value("upgrade 6.5.4", item=2, parent="q1")
    assert parse_button_value(value) == type(parse_button_value(value))("upgrade 6.5.4", 2, "q1")
    assert button_value("x" * BUTTON_VALUE_LIMIT) is None


def test_a_support_answer_shows_why_and_what_to_have_ready():
    result = answer("upgrade 5.0")
    assert result.outcome == "support" and result.reason and result.support_checklist
    blocks = answer_blocks(result)
    check_limits(blocks)
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert f"Why: {escape(result.reason)}" in sections
    [ready] = [s for s in sections if s.startswith("*Have this ready for support*\n")]
    assert ready.splitlines()[1:] == [f"• {escape(item)}" for item in result.support_checklist]
    # Why first, then what to have ready.
    assert sections.index(f"Why: {escape(result.reason)}") < sections.index(ready)


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
    blocks = answer_blocks(result, query_id="q", shareable=True, checklist=True)
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
    outcome=st.sampled_from(["path", "support", "help", "unknown", "clarify"]),
    query_id=st.none() | st.text(max_size=40), shareable=st.booleans(),
    choices=st.lists(st.tuples(any_text, any_text), max_size=30),
    typed=st.none() | any_text, also=st.integers(0, 3),
)
def test_any_text_stays_within_limits_and_never_pings(
        query, verdict, summary, reason, steps, warnings, checklist, suggestion, source,
        source_url, rule, outcome, query_id, shareable, choices, typed, also):
    result = replace(
        answer("upgrade 6.5.4"), query=query, verdict=verdict, summary=summary, reason=reason,
        steps=tuple(steps), warnings=tuple(warnings), support_checklist=tuple(checklist),
        suggestion=suggestion, source=source, source_url=source_url, rule=rule,
        outcome=outcome, text=verdict + "\n" + query,
        choices=tuple(Choice(label, question) for label, question in choices),
    )
    result = replace(result, also=(result,) * also)
    blocks = answer_blocks(result, query_id=query_id, shareable=shareable, command="/pam",
                           shared_by="U0SHARER", checklist=True, typed=typed,
                           picked_by="U0PICKER")
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


def test_a_suggestion_too_long_for_a_button_is_shown_literally():
    result = replace(answer("upgarde 6.5.4"), suggestion="upgrade *6.5.4* " + "_now_ " * 20)
    blocks = answer_blocks(result, query_id="1")
    [hint] = [t for t in texts(blocks) if t.startswith("Did you mean")]
    assert hint.startswith("Did you mean `upgrade *6.5.4* _now_") and hint.count("`") == 2


def test_logged_text_cannot_break_out_of_the_stats_code_block():
    [block] = code_blocks("Top unanswered\n    1  upgrade ```\n*bold* <!here>")
    text = block["text"]["text"]
    assert text.startswith("```") and text.endswith("```") and text.count("`") == 6
    assert "&lt;!here&gt;" in text


def all_text(blocks):
    texts = []
    for block in blocks:
        if block["type"] in ("section", "header"):
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


def test_a_clarifying_answer_offers_its_choices_with_the_questions_they_stand_for():
    blocks = answer_blocks(answer("upgrade 6.5"), query_id="q1")
    choices = {e["text"]["text"]: parse_button_value(e["value"]).question
               for b in blocks if b.get("block_id") == "pam_choices_0" for e in b["elements"]}
    assert choices == {"6.5.4": "upgrade 6.5.4", "another 6.5.x": "upgrade 6.5.x not 6.5.4"}


TYPED = "upgrade *6.5.4* _now_ ~x~ `code` <!here>"
AS_TYPED = "`upgrade *6.5.4* _now_ ~x~ ˋcodeˋ &lt;!here&gt;`"


def test_a_checklists_question_line_shows_the_question_as_typed():
    from bot.checklist import checklist_blocks
    from bot.querylog import Runbook

    book = Runbook(id="r1", started="2026-11-25T10:04:00.000Z", channel="C1", thread_ts="1.1",
                   answer_ts="1.2", item=0, question=TYPED, steps=("Take a backup",),
                   title="Backup and restore required", source="the table", source_url=None,
                   started_by="U0PICKER", ticks={})
    progress = checklist_blocks(book)[1]["elements"][0]["text"]
    # One inline code span: the question's *bold* or _italic_ is not applied.
    assert progress.endswith(f" · Question: {AS_TYPED}")


def test_the_homes_questions_show_other_peoples_text_as_typed():
    from bot.home import home_view
    from bot.querylog import PastQuestion, Summary
    from rules import default_ruleset

    summary = Summary(since=None, total=3, by_intent=[("upgrade", 3)],
                      by_outcome=[("support", 3)], by_rule=[("upgrade-5.0", 3)],
                      top_unanswered=[(TYPED, 2)], votes=0, helpful_votes=0)
    recent = [PastQuestion("2026-11-25T10:04:00.000Z", TYPED, "Contact support", "support")]
    blocks = home_view(default_ruleset(), recent=recent, summary=summary)["blocks"]
    text = all_text([b for b in blocks if "fields" not in b])
    assert f"\n• {AS_TYPED} (2)" in text
    assert f"10:04 UTC 2026-11-25 · {AS_TYPED} → *Contact support*" in text


def test_a_checklist_message_stays_within_limits_however_long_its_steps():
    from bot.checklist import checklist_blocks, parse_tick
    from bot.querylog import Runbook
    from bot.querylog.runbooks import Tick

    steps = tuple(f"step {n} <!here> " + "x" * 4000 for n in range(40))
    book = Runbook(id="r" * 32, started="2026-11-25T10:04:00.000Z", channel="C1",
                   thread_ts="1.1", answer_ts="1.2", item=0, question="<!channel> " * 100,
                   steps=steps, title="t" * 400, source="<@U0VICTIM>" * 50,
                   source_url="https://x.example/a", started_by="<!everyone>",
                   ticks={1: Tick(1, "U0PICKER", "2026-11-25T10:05:00.000Z", True),
                          2: Tick(2, "<!here>", "2026-11-25T10:06:00.000Z", False)})
    blocks = checklist_blocks(book)
    check_limits(blocks)
    assert "more steps are in the answer above" in json.dumps(blocks)
    first = next(b for b in blocks if b.get("accessory"))
    assert parse_tick({"block_id": first["block_id"],
                       "selected_options": first["accessory"]["initial_options"]}) == (
        "r" * 32, 1, True)


def test_the_home_view_stays_within_limits_with_a_big_log():
    from bot.home import home_view
    from bot.querylog import PastQuestion, Summary
    from rules import default_ruleset

    many = [(f"<!here> {n}" * 30, n) for n in range(40)]
    summary = Summary(since=None, total=10 ** 6, by_intent=many, by_outcome=many,
                      by_rule=many, top_unanswered=many, votes=10, helpful_votes=3)
    recent = [PastQuestion("2026-11-25T10:04:00.000Z", "<@U0VICTIM> " * 100, "v" * 400,
                           "path")] * 5
    view = home_view(default_ruleset(), recent=recent, summary=summary)
    assert view["type"] == "home" and len(view["blocks"]) <= 100
    for block in view["blocks"]:
        if "fields" in block:
            assert len(block["fields"]) <= 10
            assert all(len(f["text"]) <= 2000 for f in block["fields"])
            block = {**block, "text": {"type": "mrkdwn", "text": "x"}}
        Block.parse(block).validate_json()
    check_limits([b for b in view["blocks"] if "fields" not in b])


def test_the_examples_in_the_docstrings_run():
    import doctest

    import bot.blocks
    import bot.home

    for module in (bot.blocks, bot.home):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0, module.__name__


def test_a_yes_no_question_is_answered_yes_or_no_first_then_the_verdict():
    result = answer("do we have to rebuild the followers if we restore the leader from the "
                    "PAM backup file?")
    blocks = answer_blocks(result, query_id="q1")
    check_limits(blocks)
    assert blocks[0]["type"] == "header"
    assert blocks[0]["text"]["text"].startswith("Yes: restoring the PAM Server generated backup")
    # The short answer is longer than a header holds: shown whole under it, then the verdict.
    assert len(result.short_answer) > 150 and blocks[0]["text"]["text"].endswith("…")
    assert texts(blocks)[1:3] == [result.short_answer, f"*{result.verdict}*"]
    assert answer_text(result).startswith(result.short_answer)


def test_a_further_question_about_a_consequence_shows_its_short_answer():
    result = answer("upgrade 6.5.4 to 7.2. also, is a straight upgrade possible from 7.1 to 7.4?")
    [further] = result.also
    assert further.short_answer.startswith("Yes: straight upgrade")
    body = texts(answer_blocks(result, query_id="q1"))
    assert body.index(further.short_answer) == body.index(f"*{further.verdict}*") - 1
