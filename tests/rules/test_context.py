"""A conversation: a reply that answers pambot's open question, and later questions read in
the thread's context. Written as exchanges: what pambot said, what the person typed next."""

from __future__ import annotations

import doctest
import json

import pytest

import rules.context
from rules import answer, default_ruleset, parse
from rules.context import Context, question_for, read
from rules.model import BACKUPS


def after(*questions: str) -> Context:
    """The context of a thread in which these questions were answered, in order."""
    context = Context()
    for question in questions:
        context = context.after(answer(question))
    return context


def answered(text: str, context: Context, **kwargs):
    reading = read(text, context, **kwargs)
    return None if reading is None else answer(reading.question)


@pytest.mark.parametrize("reply, rule", [
    ("leader", "restore-leader"),
    ("the leader please", "restore-leader"),
    ("Leader.", "restore-leader"),
    ("follower", "restore-follower"),
    ("follower-2 died", "restore-follower"),
    ("whole cluster", "restore-cluster"),
    ("all nodes", "restore-cluster"),
    ("1", "restore-leader"),
    ("option 2", "restore-follower"),
    ("3", "restore-cluster"),
])
def test_a_reply_answers_which_node_failed(reply, rule):
    result = answered(reply, after("we need to restore our pam server"), only_answers=True)
    assert result is not None and result.rule == rule


@pytest.mark.parametrize("reply, rule", [
    ("we're on 6.5.4", "upgrade-6.5.4"),
    ("6.5.4", "upgrade-6.5.4"),
    ("7.2", "upgrade-7.x"),
    ("2", "upgrade-6.5.4"),
    ("6.1.4 or lower", "upgrade-6.1.4-or-lower"),
    ("earlier than 5.2.x", "upgrade-earlier-than-5.2"),
    ("we are still on 6.3", "upgrade-6.2-to-6.5.3-not-in-table"),
])
def test_a_reply_answers_which_version(reply, rule):
    result = answered(reply, after("how do we upgrade?"), only_answers=True)
    assert result is not None and result.rule == rule


def test_a_reply_keeps_the_target_the_question_named():
    context = after("we want to upgrade to 7.2")
    reading = read("6.5.4", context, only_answers=True)
    assert reading.question == "upgrade 6.5.4 to 7.2"
    assert answer(reading.question).to_version == "7.2"


def test_a_reply_picks_a_release_by_label_or_number():
    context = after("upgrade 6.5")
    assert answered("6.5.4", context, only_answers=True).rule == "upgrade-6.5.4"
    other = answered("another 6.5.x", context, only_answers=True)
    assert other.contact_support and other.from_version == "6.5.x"
    assert answered("2", context, only_answers=True).contact_support


@pytest.mark.parametrize("chatter", [
    "lol ok", "thanks!", "on it", "backup", "what's the latest 7.x?", "upgrade 7.1",
    "ping me when done", "10.0.0.5 is the address", "INC-1234", "3 nodes", "7",
])
def test_chatter_in_the_thread_does_not_answer_which_node(chatter):
    assert read(chatter, after("restore"), only_answers=True) is None


@pytest.mark.parametrize("reply, rule", [
    ("it was the leader", "restore-leader"),
    ("I think it's the leader", "restore-leader"),
    ("leader node, prod-pam-01", "restore-leader"),
    ("follower 2 maybe?", "restore-follower"),
    ("the leader won't boot since the patching last night", "restore-leader"),
])
def test_a_short_or_incident_reply_naming_the_node_answers_which_node(reply, rule):
    result = answered(reply, after("restore"), only_answers=True)
    assert result is not None and result.rule == rule


@pytest.mark.parametrize("remark", [
    # Said to the people in the thread, naming a node in passing: pambot keeps quiet.
    "brb, grabbing coffee before I look at the leader",
    "checking the leader's logs now",
    "leader's CPU is high, checking graphs",
    # Unsure between two nodes is not "the whole cluster".
    "not sure yet, could be the leader or a follower",
    "leader or follower, no idea",
])
def test_a_remark_naming_a_node_in_passing_does_not_answer_which_node(remark):
    assert read(remark, after("restore"), only_answers=True) is None


@pytest.mark.parametrize("chatter", [
    "lol ok", "restore leader", "the leader died", "backup", "INC-1234 opened",
    "call at 22.00", "2 nodes", "see 10.0.0.5",
])
def test_chatter_in_the_thread_does_not_answer_which_version(chatter):
    assert read(chatter, after("upgrade"), only_answers=True) is None


def test_once_answered_nothing_is_open_and_replies_are_not_questions():
    context = after("restore", "restore leader")
    assert context.asking is None
    assert read("follower", context, only_answers=True) is None


def test_a_later_question_takes_the_version_from_the_thread():
    context = after("upgrade 6.5.4")
    followers = answered("and the followers?", context)
    assert followers.rule == "upgrade-6.5.4" and followers.follower_rebuild
    assert answered("what about the followers?", context).rule == "upgrade-6.5.4"
    target = read("to 7.4?", context)
    assert target.question == "upgrade 6.5.4 to 7.4" and target.how == "context"


def test_a_later_question_takes_the_node_from_the_thread():
    context = after("restore follower on 7.2")
    assert read("restore", context).question == "restore follower on 7.2"


def test_a_whole_question_is_read_as_typed_whatever_came_before():
    context = after("upgrade 6.5.4")
    for question in ("restore leader", "what's the latest 7.x?", "upgrade 7.1", "backup",
                     "help"):
        reading = read(question, context)
        assert (reading.question, reading.how) == (question, "typed")


def test_a_message_that_adds_nothing_is_read_as_typed():
    assert read("thanks!", after("upgrade 6.5.4")).how == "typed"
    assert read("leader", Context()).how == "typed"


def test_a_message_pambot_could_not_read_leaves_its_question_open():
    context = after("restore", "hmm, let me check")
    assert context.asking == "restore-which-node"
    assert read("leader", context, only_answers=True).question == "restore leader"
    assert after("restore", "backup").asking is None


def test_a_new_clarifying_answer_opens_a_new_question():
    context = after("upgrade 6.5")
    assert context.asking == "upgrade-which-release"
    assert [c.label for c in context.choices] == ["6.5.4", "another 6.5.x"]
    context = context.after(answer("restore"))
    assert context.asking == "restore-which-node"


def test_the_context_survives_being_stored_as_json():
    for context in (after("upgrade 6.5 to 7.2"), after("restore"), after("upgrade 6.5.4"),
                    after("our standalone server died, we only have the PAM backup file"),
                    after("upgrade 6.5.x not 6.5.4"), after("upgarde 6.5.4"), Context()):
        assert Context.from_dict(json.loads(json.dumps(context.to_dict()))) == context


def test_a_reply_refines_the_situation_of_the_thread():
    # What they have, said after the restore answer: that branch only.
    context = after("the leader died")
    pam = answered("we only have the pam backup file, no vm snapshots", context)
    assert (pam.rule, pam.backup, pam.follower_rebuild) == ("restore-leader-pam", "pam", True)
    # ...corrected: the latest said replaces what the thread knew.
    vm = answered("scratch that, veeam does have a snapshot of it", context.after(pam))
    assert (vm.rule, vm.backup, vm.follower_rebuild) == ("restore-leader-vm", "vm", False)
    # A version said during an outage is the restore's, not an upgrade question.
    assert answered("we're on 7.2 btw", context).intent == "restore"
    # "yes" takes a did-you-mean; and "another 6.5.x" is not asked again for the followers.
    assert read("yes", after("upgarde 6.5.4")).question == "upgrade 6.5.4"
    other = after("upgrade 6.5.x not 6.5.4")
    assert answered("and the followers?", other).rule != "upgrade-which-release"


@pytest.mark.parametrize("stored", [None, [], "x", {"intent": "explode", "node": "moon"},
                                    {"asking": "upgrade-no-version", "choices": "nope"},
                                    {"choices": [[1, 2], ["a"]], "from_version": 7},
                                    {"backup": "tape", "topology": 3, "excluded": "6.5.4"}])
def test_a_context_from_an_unknown_version_of_pambot_is_forgotten_not_fatal(stored):
    context = Context.from_dict(stored)
    assert context.asking is None and context.intent is None
    assert context.from_version is None
    assert (context.backup, context.topology, context.excluded) == (None, None, ())


WRITTEN_OUT = [
    (intent, from_version, to_version, node)
    for intent in ("upgrade", "restore")
    for from_version in (None, "6.5.4", "7.2", "6.5", "6.5.x", "5.1")
    for to_version in (None, "7.2", "7.x")
    # An upgrade's answer does not depend on the node; a restore names a target only with
    # the backup's version.
    for node in ((None,) if intent == "upgrade" else (None, "leader", "follower", "cluster"))
    if to_version != from_version and not (intent == "restore" and to_version
                                           and not from_version)
]


@pytest.mark.parametrize("intent, from_version, to_version, node", WRITTEN_OUT)
def test_a_written_out_question_reads_back_as_the_same_question(intent, from_version,
                                                                 to_version, node):
    query = parse(question_for(intent, from_version, to_version, node),
                  default_ruleset().vocabulary)
    assert (query.intent, query.from_version, query.to_version) == (
        intent, from_version, to_version)
    if not (from_version and to_version):
        assert query.node == node


@pytest.mark.parametrize("node", ["leader", "follower"])
@pytest.mark.parametrize("backup", BACKUPS)
def test_a_written_out_restore_keeps_the_backup_said(node, backup):
    # A reply to "which node failed?" is answered as the question written out: "fol2 dead,
    # no vm bkp" must not lose "no vm" on the way (it became the two-branch answer).
    query = parse(question_for("restore", "7.2", node=node, backup=backup),
                  default_ruleset().vocabulary)
    assert (query.intent, query.node, query.backup) == ("restore", node, backup)


def test_a_reply_naming_the_node_and_no_vm_backup_gets_that_answer():
    # "which node failed?" open after an upgrade question on 7.0.2
    context = after("upgrade 7.0.2", "restore")
    assert answered("fol2 dead no vm bkp", context).rule == "restore-follower-without-vm-backup"


def test_the_examples_in_the_docstrings_run():
    result = doctest.testmod(rules.context)
    assert result.attempted > 0 and result.failed == 0
