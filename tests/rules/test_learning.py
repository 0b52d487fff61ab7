"""Learning a site's words from what pambot could not read (issue 16), from the user's side:
which words a review suggests teaching and as what, which questions are one question asked
many ways, what a taught phrase may not do, and what `pambot rules diff` lists."""

from pathlib import Path

import pytest
import yaml

from rules import RuleFileError, answer, default_ruleset
from rules.learning import changes, group, learned_ruleset, phrase_of, unknown_words

RULES = default_ruleset()
CORPUS = yaml.safe_load((Path(__file__).parent / "corpus.yaml").read_text(encoding="utf-8"))
NODE = ["node:leader", "node:follower", "node:cluster"]


def suggested(question: str) -> dict[str, list[str]]:
    """The unknown words of `question` and the meanings a review suggests for each."""
    return {w.word: w.meanings for w in unknown_words(question, RULES.vocabulary)}


# ---- what a review suggests -------------------------------------------------------------


@pytest.mark.parametrize("question", [
    "the pdc is down", "PDC died!!", "pdc-1 crashed overnight", "our pdc went down again",
    "restore pdc", "we need to restore the pdc asap", "how do I rebuild pdc",
])
def test_a_nickname_where_a_node_is_named_is_suggested_as_a_node(question):
    assert suggested(question) == {"pdc": NODE}


@pytest.mark.parametrize("question", [
    "the nimbus backup is from last night", "restore from the nimbus snapshot",
    "are nimbus snapshots enough?", "the nimbus backup failed",
])
def test_a_nickname_before_backup_or_snapshot_is_suggested_as_a_backup_kind(question):
    assert suggested(question) == {"nimbus": ["backup:vm", "backup:pam"]}


@pytest.mark.parametrize("question, word, meaning", [
    ("the fllower is down", "fllower", "node:follower"),
    ("restore the leadr", "leadr", "node:leader"),
    ("upgarde 6.5.4", "upgarde", "intent:upgrade"),
    ("we have a veeeam backup of it", "veeeam", "backup:vm"),
])
def test_a_typo_of_a_known_word_is_suggested_by_spelling(question, word, meaning):
    right = {"fllower": "follower", "leadr": "leader", "upgarde": "upgrade",
             "veeeam": "veeam"}[word]
    assert suggested(question)[word] == [meaning, f"spelling:{right}"]


@pytest.mark.parametrize("question", [
    "upgrade 6.5.4 to 7.1 tonight please", "we are on v7.2.1-1187, going to 7.5.3",
    "restore 10.0.0.5", "PAM-4821: upgrade 6.5.4", "the leader is down",
    "follower 2 crashed, restore it from the VM backup", "hi team, thanks for the help",
    "what does a backup contain?", "is the weather nice today?",
])
def test_plain_english_versions_and_known_words_are_never_reported(question):
    assert suggested(question) == {}


@pytest.mark.parametrize("question", [
    "our customer is asking about the upgrade", "where do we store the backups?",
    "it was stored on the nas", "the estate is on 7.2", "we upgraded it a couple of ages ago",
    "we held the change until the host was patched", "can you read the docs first",
])
def test_an_english_word_near_a_known_word_is_no_typo(question):
    assert suggested(question) == {}


@pytest.mark.xfail(strict=True, reason="known: plain English one letter from a known word, "
                   "or where a nickname may stand, is suggested (no English word list)")
@pytest.mark.parametrize("question", [
    "does it matter which node goes first?", "the status check failed",
    "the leader is completely dead", "a restore usually takes an hour",
])
def test_plain_english_where_a_nickname_may_stand_is_not_reported(question):
    assert suggested(question) == {}


def test_what_the_rules_know_is_never_suggested_across_the_corpus():
    known = RULES.vocabulary.known | set(RULES.vocabulary.spellings)
    reported = {w.word for e in CORPUS for w in unknown_words(e["q"], RULES.vocabulary)}
    assert not reported & known
    assert not {w for w in reported if any(c.isdigit() for c in w)}


# ---- one question asked many ways ---------------------------------------------------------


def test_one_question_asked_many_ways_is_one_group_with_the_counts_summed():
    found = group([("pdc died", 3, "2026-12-01T09:00:00Z"),
                   ("upgrade 6.5.4", 5, "2026-12-01T08:00:00Z"),
                   ("PDC died!!", 4, "2026-12-02T10:00:00Z"),
                   ("Pdc   died", 1, "2026-11-30T10:00:00Z")])
    assert [(g.question, g.count, g.last_asked) for g in found] == [
        ("PDC died!!", 8, "2026-12-02T10:00:00Z"), ("upgrade 6.5.4", 5, "2026-12-01T08:00:00Z")]
    assert found[0].questions == [("PDC died!!", 4), ("pdc died", 3), ("Pdc   died", 1)]


@pytest.mark.parametrize("one, other", [
    ("the pdc is down", "the bdc is down"),
    ("upgrade 6.5.4 failed", "upgrade 5.2.0 failed"),
    ("pdc died on 7.1", "pdc died on 7.2"),
    ("restore", "restore the pdc from last night's nimbus snapshot"),
    ("pdc died", "pdc died, we only have the pam backup file and the mek"),
])
def test_different_questions_are_different_groups(one, other):
    found = group([(one, 2, "2026-12-01T09:00:00Z"), (other, 1, "2026-12-01T09:00:00Z")])
    assert [g.questions for g in found] == [[(one, 2)], [(other, 1)]]


def test_groups_come_most_asked_first():
    found = group([("restore the bdc", 1, "t1"), ("PDC died", 1, "t2"), ("pdc died", 3, "t3"),
                   ("where is the mek kept", 2, "t4")])
    assert [(g.question, g.count) for g in found] == [
        ("pdc died", 4), ("where is the mek kept", 2), ("restore the bdc", 1)]


def test_corpus_questions_pambot_answers_differently_are_never_one_group():
    """The corpus holds a thousand distinct questions: two that pambot reads, and answers
    by different rules or from different versions, are two questions, never one asked two
    ways."""
    questions = list(dict.fromkeys(e["q"] for e in CORPUS))
    read = {q: (a.rule, a.from_version) for q in questions
            for a in [answer(q, RULES)] if a.outcome not in ("unknown", "clarify")}
    mixed = [[q for q, _ in g.questions] for g in group((q, 1, "") for q in questions)
             if len({read[q] for q, _ in g.questions if q in read}) > 1]
    assert mixed == []


# ---- what a taught phrase may not do ------------------------------------------------------


@pytest.mark.parametrize("pair, says", [
    (("leader", "node:follower"), "'leader' is claimed by node:leader and node:follower"),
    (("primary", "backup:vm"), "'primary' is claimed by node:leader and backup:vm"),
    (("pdc", "node:boss"), "'node:boss' is not a meaning of the vocabulary"),
    (("pdc", "topic:lunch"), "'topic:lunch' is not a meaning of the vocabulary"),
    (("pdc", "spelling:pdq"), "'pdq' is no word of the vocabulary"),
])
def test_a_phrase_that_means_something_else_or_a_meaning_that_does_not_exist_is_refused(
        pair, says):
    with pytest.raises(RuleFileError) as refused:
        learned_ruleset(RULES, [("sdc", "node:follower"), pair])
    messages = [p.message for p in refused.value.problems]
    assert len(messages) == 1 and says in messages[0]
    assert all("\n" not in str(p) for p in refused.value.problems)
    assert answer("the leader is down", RULES).node == "leader"  # the rules are as they were


def test_a_phrase_the_rules_already_give_that_meaning_changes_nothing():
    assert learned_ruleset(RULES, [("primary", "node:leader")]) is RULES


def test_a_taught_phrase_is_read_and_says_so_in_the_rules_version():
    learned = learned_ruleset(RULES, [("pdc", "node:leader"), ("nimbus", "backup:vm")])
    assert answer("the pdc is down", RULES).outcome == "unknown"
    reply = answer("the pdc is down, we have a nimbus backup of it", learned)
    assert (reply.rule, reply.node, reply.backup) == ("restore-leader-vm", "leader", "vm")
    assert learned.version.startswith(RULES.version + "+") and learned.version != RULES.version
    assert "2 learned phrase(s)" in learned.origin


@pytest.mark.parametrize("said", ["PDC-1", "pdc1", "Pdc", "pdc12", "PDC-12"])
def test_a_host_name_taught_as_typed_is_read_in_the_questions_that_name_it(said):
    learned = learned_ruleset(RULES, [(phrase_of(said), "node:leader")])
    for question in ("pdc-1 is down", "PDC-2 died", "restore pdc1", "the pdc is down"):
        assert answer(question, learned).node == "leader", question


@pytest.fixture(scope="module")
def corpus_answers() -> dict[str, dict]:
    return {e["q"]: answer(e["q"], RULES).to_dict() for e in CORPUS}


@pytest.mark.parametrize("pairs", [
    [("pdc", "node:leader")], [("pdc", "node:follower")], [("pdc", "backup:vm")],
    [("pdc", "intent:restore")], [("pdc", "incident")], [("pdc", "spelling:leader")],
    [("pdc", "topic:ports")], [("big blue box", "node:cluster"), ("pdc", "healthy")],
], ids=lambda pairs: "+".join(f"{p}={m}" for p, m in pairs))
def test_learning_never_changes_the_answer_to_a_question_without_the_word(pairs,
                                                                          corpus_answers):
    assert not any("pdc" in phrase_of(q).split() or "big blue box" in phrase_of(q)
                   for q in corpus_answers)
    learned = learned_ruleset(RULES, pairs)
    changed = [q for q, before in corpus_answers.items() if answer(q, learned).to_dict() != before]
    assert changed == []


# ---- what `rules diff` lists ---------------------------------------------------------------


def test_changes_lists_only_the_questions_that_read_differently_most_asked_first():
    learned = learned_ruleset(RULES, [("pdc", "node:leader"), ("bdc", "node:follower")])
    asked = {"upgrade 6.5.4": 40, "restore the bdc": 2, "the pdc is down": 7,
             "PDC died!!": 3, "restore leader": 12, "what's for lunch": 1}
    found = changes(RULES, learned, asked)
    assert [(c.question, c.asked) for c in found] == [
        ("the pdc is down", 7), ("PDC died!!", 3), ("restore the bdc", 2)]
    assert [(c.before.outcome, c.after.rule) for c in found] == [
        ("unknown", "restore-leader"), ("unknown", "restore-leader"),
        (answer("restore the bdc", RULES).outcome, "restore-follower")]
    assert changes(RULES, RULES, asked) == []


def test_a_lettered_host_name_is_suggested_whole_so_its_siblings_stay_apart():
    rules = default_ruleset()
    [word] = unknown_words("vault-a wont boot", rules.vocabulary)
    assert word.word == "vault a" and word.meanings[0] == "node:leader"
    learned = learned_ruleset(rules, [("vault a", "node:leader"), ("vault b", "node:follower")])
    assert answer("vault-a wont boot", learned).rule == "restore-leader"
    assert answer("vault-b died", learned).rule == "restore-follower"
