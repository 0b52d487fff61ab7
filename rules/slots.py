"""Step 3 of reading a message: the slots of one sentence (intent, versions, node, backup
kind, topic), each filled from a few grammar patterns over its tokens, with a note of why
when an explanation is asked for (`pambot ask --explain`)."""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass, field

from rules.nodes import failed_node, of_a_cluster, owns_a_backup, parts, with_followers
from rules.tokens import AUXILIARIES, LEADING, QUESTION_WORDS, WH_WORDS, Token
from rules.versions import (
    CONJUNCTIONS,
    MAX_VERSIONS,
    NEGATIONS,
    VERSION_WORDS,
    Subject,
    VersionReader,
    share_target,
)
from rules.vocabulary import Vocabulary

# After one of these, what came before is withdrawn: "correction: we're on 6.5.4".
_CORRECTIONS = frozenset({"correction", "actually", "sorry", "scratch", "typo", "meant"})
# Words a negation reaches over: "we don't want to rebuild", "not going to restore".
_LIGHT = frozenset({"want", "to", "need", "going", "be", "have", "a", "the", "any", "do",
                    "really", "actually", "hold", "got", "an", "single", "whatsoever"})
# A count of these says how many nodes they run: "a 3 node cluster", "5 followers".
_NODE_COUNTS = frozenset({"node", "nodes", "follower", "followers", "leaders"})
# Meanings that a topic's own words do not have: "master" in "master encryption key", "lost"
# in "the mek is lost", "followers" in "how many followers".
_INSIDE_A_TOPIC = frozenset({"node", "incident", "healthy"})
# Words that turn what is asked round, as a negation does: "any way to avoid rebuilding the
# followers?" asks whether they can stay.
_AVOIDING = frozenset({"avoid", "skip", "prevent", "dodge", "bypass"})
# Undocumented kinds that describe what is wrong rather than ask about something: the
# message is about them unless another part of it asks ("pam hung after the 7.3 upgrade").
_SYMPTOMS = frozenset({"troubleshooting"})
# Words before a symptom that say it is not happening ("without errors", "avoid errors").
_NOT_HAPPENING = frozenset({"without", "no", "avoid", "avoiding", "prevent", "preventing",
                            "any", "zero", "never"})
# Words before "restore" that say it is under way or done, not asked for ("errors when
# restoring the backup", "can't log in after the restore"); and, before "restored" or
# "restoring", who did it or that it is so ("we restored it", "done, restored").
_UNDER_WAY = frozenset({"when", "while", "during", "after", "since", "mid"})
_DONE_BY = frozenset({"we", "i", "they", "have", "has", "had", "was", "were", "been", "just",
                      "already", "is", "are", "we're", "currently", "still", "done"})
# What a negation turns a meaning into: "not clustered", "no restore needed".
_OPPOSITE = {"standalone": "cluster", "cluster": "standalone", "required": "straight",
             "straight": "required", "followers": "followers-fine",
             "followers-fine": "followers"}
_TAGS = frozenset({"right", "correct", "yes", "true", "ok", "okay", "yeah", "yep", "agreed",
                   "confirm", "not", "no", "surely"})


@dataclass
class Clause:
    """What one sentence says, slot by slot, and why each slot was filled."""

    tokens: list[Token]
    intents: dict[str, str] = field(default_factory=dict)  # intent -> the words that said so
    incident: str | None = None
    subjects: list[Subject] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    node: str | None = None
    # The backup kinds said to be on hand, and said not to be ("no vm snapshots", "veeam
    # doesn't have it"), and the one said to be all there is ("only the pam backup").
    backups: list[str] = field(default_factory=list)
    backups_denied: list[str] = field(default_factory=list)
    backup_only: str | None = None
    # What they run, as said ("standalone", "not clustered", "our cluster"), and as implied
    # by a follower named or asked about, or a count of nodes: what is said wins.
    topologies: list[str] = field(default_factory=list)
    implied: list[str] = field(default_factory=list)
    # The consequences asked about (vocabulary "asks"), after negations: "no restore
    # needed" asks "straight".
    asks: list[str] = field(default_factory=list)
    yes_no: bool = False
    # The facts asked about, in order: the most specific topic of each part of the sentence
    # between commas and "and"s ("session recordings in the backup, and the ports").
    topics: list[str] = field(default_factory=list)
    # Where the first topic was named and where the first other question word or version
    # was: the answers come in the order they were asked.
    topic_at: int = 0
    asked_at: int = 0
    # The kind of question the documentation does not answer ("rollback"), if any.
    not_documented: str | None = None
    # The not-documented phrase is asked about, not only mentioned beside another question;
    # and asked in a part of its own, beside a path question ("what's the path, and what
    # does it cost?").
    not_documented_asked: bool = False
    not_documented_elsewhere: bool = False
    # The versions are said in the undocumented question's own part ("whether 7.2 -> 7.5 can
    # be rolled back"): they belong to it, not to a path question.
    versions_with_undocumented: bool = False
    # What is wrong is described, not asked about ("pam hung after the 7.3 upgrade"): the
    # sentence's question unless another sentence asks one.
    symptom_stated: bool = False
    # Every restore the sentence names is under way or over, and nothing failed ("we
    # restored it from veeam", "done, restored").
    restore_done: bool = False
    # The sentence as the person wrote it (cased, tidied), for "Also, for ..." quotes.
    said: str = ""
    corrected: bool = False
    # A version came after "onto" or "into": a backup loaded onto a server.
    onto: bool = False
    # A backup said to be from a version ("bak from a 5.1 box").
    backup_of_a_version: bool = False
    # "backup and restore" (or "backup + restore"), the procedure the table's column names.
    backup_and_restore: bool = False
    # "restore needed", "need a restore": a restore asked about (see _clause_questions).
    restore_asked: bool = False
    # A later sentence took this one's versions or node as its context; this one took its
    # versions from another.
    lent: bool = False
    borrowed: bool = False
    # A version came with "from", "to" or an arrow: the sentence is about an upgrade path.
    labelled: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def has_versions(self) -> bool:
        return bool(self.subjects or self.excluded)

    @property
    def versions(self) -> list[str]:
        return [s.version for s in self.subjects if s.version]

    @functools.cached_property
    def asking(self) -> bool:
        """Whether the sentence is a question: "?", or its first word (after fillers such as
        "so", "ok") is a question word ("we do have backups" is not)."""
        words = [t.text for t in self.tokens if t.kind == "word" and t.text not in LEADING]
        return any(t.kind == "stop" for t in self.tokens) or bool(
            words and words[0] in QUESTION_WORDS)

# The grammar words a near miss of a command word is never taken for.
GRAMMAR_WORDS = VERSION_WORDS | _CORRECTIONS


def read_clause(tokens: list[Token], vocabulary: Vocabulary, explain: bool) -> Clause:
    clause = Clause(tokens, asked_at=len(tokens))
    note = clause.notes.append if explain else _ignore
    reader = VersionReader(clause, note)
    incidents: list[int] = []
    restores: list[int] = []
    mentions: list[tuple[int, str]] = []
    denied: list[int] = []  # "isn't down", "no cluster", "is healthy": not the failed node
    undocumented: list[tuple[int, str]] = []
    owners: list[tuple[int, str]] = []
    negation_at = -9
    last_ask = -9
    topics, part_topic = vocabulary.topics, None
    part_of = parts(tokens)
    for index, token in enumerate(tokens):
        meaning = token.meaning if token.meaning and token.meaning[0] != "part" else None
        if meaning and token.question is not None and meaning[0] in _INSIDE_A_TOPIC:
            # "the master encryption key is lost": the topic's words, not a node that failed
            note(f"{_phrase(tokens, index)}: part of a question about "
                 f"'{_phrase_around(tokens, index)}'")
            meaning = None
        negated = False
        if token.text in NEGATIONS:
            negation_at = index
        elif token.text in _LIGHT and index - negation_at <= 3 and not meaning:
            negation_at += 1  # "don't want to rebuild": the negation reaches "rebuild"
        elif meaning and index - negation_at <= 2:
            negated = True
            note(f"{_phrase(tokens, index)}: said not to be so ('{tokens[negation_at].text}')")
            if meaning[0] in ("intent", "node", "incident"):
                denied.append(index)
            if meaning == ("intent", "backup"):
                clause.backups.append("none")  # "we do not hold any backup"
            if meaning[0] == "incident":
                clause.incident = clause.incident or _phrase(tokens, index)
            if meaning[0] in ("intent", "incident"):
                meaning = None
        question = token.question
        if token.kind == "comma" or token.text in CONJUNCTIONS:
            part_topic = None  # a new part of the sentence: its own topic
        if question and question[0] != "part" and _inside(tokens, index) == "topology":
            question = None  # "never set up clustering": what they run, not a question
        if question and question[0] == "topic":
            # The most specific topic of this part (the vocabulary lists them in that order):
            # "session recordings in the backup" asks about the recordings.
            if part_topic is None:
                clause.topics.append(question[1])
                clause.topic_at = clause.topic_at if len(clause.topics) > 1 else index
            elif topics.index(question[1]) < topics.index(part_topic):
                clause.topics[-1] = question[1]
            part_topic = clause.topics[-1]
        elif question and question[0] == "not_documented":
            undocumented.append((index, question[1]))
        if meaning:
            slot, value = meaning
            if slot == "intent":
                clause.intents.setdefault(value, _phrase(tokens, index))
                clause.asked_at = min(clause.asked_at, index)
                if value == "restore":
                    restores.append(index)
            elif slot == "incident" and _direction(tokens, index):
                note(f"{token.text}: a direction, not an outage ('back down to 7.4')")
            elif slot == "incident":
                clause.incident = clause.incident or _phrase(tokens, index)
                clause.asked_at = min(clause.asked_at, index)
                incidents.append(index)
            elif slot == "node" and value == "cluster" and of_a_cluster(tokens, index):
                clause.topologies.append("cluster")  # "the leader of their cluster"
                note(f"{token.text}: what they run, not the node ('of' or 'in' before it)")
            elif slot == "node" and with_followers(tokens, index):
                clause.topologies.append("cluster")  # "a cluster with 2 followers"
                note(f"{token.text}: what they run, not the node ('with' before it)")
            elif slot == "node" and owns_a_backup(tokens, index):
                owners.append((index, value))  # "the leaders pam backup": whose backup
            elif slot == "node":
                mentions.append((index, value))
                if value in ("follower", "cluster") and not negated:
                    clause.implied.append("cluster")  # they run followers
            elif slot == "healthy":
                denied.append(index)
            elif slot == "ask":
                if value in ("required", "straight") and index - last_ask <= 2 \
                        and clause.asks[-1:] in (["required"], ["straight"]):
                    pass  # "no backup restore is needed": one statement, already read
                else:
                    turned = negated or any(
                        t.text in _AVOIDING for t in tokens[max(0, index - 3):index])
                    clause.asks.append(_OPPOSITE.get(value, value) if turned else value)
                if value in ("followers", "followers-fine"):
                    clause.implied.append("cluster")  # asking about their followers
                last_ask = index + len(_phrase(tokens, index).split()) - 1
                # "restore needed" asks whether, with versions; without, that one is needed
                # ("backup and restore needed" is the table's question all the same).
                words = _phrase(tokens, index).split()
                clause.restore_asked |= value == "required" and "backup" not in words and any(
                    word.startswith(("restor", "rebuild")) for word in words)
            elif slot == "backup":
                gone = value != "none" and _said_gone(tokens, index)
                (clause.backups_denied if negated or gone else clause.backups).append(value)
                if not negated and not gone and _only(tokens, index):
                    clause.backup_only = value  # "we only have the pam backup file"
            elif slot == "topology":
                clause.topologies.append(_OPPOSITE[value] if negated else value)
        if token.text in _CORRECTIONS:
            clause.corrected = True
        if token.kind == "count" and token.text.isdigit() and int(token.text) > 1 \
                and index + 1 < len(tokens) and tokens[index + 1].text in _NODE_COUNTS:
            clause.implied.append("cluster")  # "a 3 node cluster", "two followers"
        if token.kind == "version":
            clause.asked_at = min(clause.asked_at, index)
        elif token.note:
            note(f"{token.text}: {token.kind}, not a version ({token.note})")
        elif token.kind not in ("word", "comma"):
            note(f"{token.text}: {token.kind}, not a version")
        reader.read(token)
    clause.backup_and_restore = bool(restores) and any(
        t.meaning == ("intent", "restore") and _after_backup(tokens, index)
        for index, t in enumerate(tokens))
    # "bak from a 5.1 box", "the backup was taken on 7.1": a backup of a version
    clause.backup_of_a_version = "backup" in clause.intents and any(
        t.meaning == ("intent", "backup") and any(
            u.text in ("from", "taken", "made", "was") for u in tokens[index + 1:index + 3])
        and not any(u.text in ("need", "take", "require", "requires")  # "do we need a backup
                    for u in tokens[max(0, index - 3):index])          # from 6.5.4 to 7.1?"
        for index, t in enumerate(tokens))
    clause.subjects = [s for s in clause.subjects if s.version or s.target][:MAX_VERSIONS]
    share_target(clause.subjects, note)
    for subject in clause.subjects:
        if subject.version in clause.excluded:
            subject.version = None
    # "the 7.2 cluster's follower", "our 7.3 cluster: the leader died": a bare "cluster"
    # beside a leader or a follower named is what they run.
    if any(node in ("leader", "follower") for _, node in mentions):
        bare = [m for m in mentions if m[1] == "cluster" and tokens[m[0]].text in (
            "cluster", "clusters")]
        if bare:
            clause.topologies.append("cluster")
            mentions = [m for m in mentions if m not in bare]
    # A node named as a backup's owner ("the osirium backup of the leader") is the node only
    # when no other is named, and only the leader (the PAM Server generated backup is the
    # leader's): "snapshots of all three nodes" says whose backups exist, not what failed.
    clause.node = failed_node(tokens, mentions or [o for o in owners if o[1] == "leader"],
                               incidents + restores, denied, note)
    if clause.node in ("leader", "follower") and "vm" in clause.backups and (
            incidents or restores) and any(
            node in ("leader", "follower") and node != clause.node for _, node in owners):
        # "restore the leader from a follower's vm snapshot": a VM level backup is of its own
        # node, so the node restored has none of its own
        clause.backups.remove("vm")
        clause.backups_denied.append("vm")
        note(f"vm backup: of another node than the {clause.node}")
    if clause.node in (None, "cluster") and clause.topologies == ["standalone"] * len(
            clause.topologies) and clause.topologies and (incidents or restores):
        clause.node = "leader"  # a standalone PAM Server is a leader on its own
        note("node: leader (a standalone PAM Server is a leader on its own)")
    clause.restore_done = bool(restores) and not incidents and all(
        _restore_under_way(tokens, i) for i in restores)
    # "how long does it take?", "can we roll back if 7.2 fails?": asked; "16 GB ram each,
    # path to 7.4?" or "downtime is approved": context beside the question.
    asking_parts = _asking_parts(tokens, part_of) if undocumented else set()
    for index, kind in undocumented:
        if kind in _SYMPTOMS and _not_wrong(tokens, index):
            note(f"{_phrase(tokens, index)}: not said to be happening")
            continue
        if kind in _SYMPTOMS:
            asked = _symptom_asked(clause, index, part_of, asking_parts, incidents, restores)
        else:
            asked = part_of[index] in asking_parts or any(
                t.text in QUESTION_WORDS for t in tokens[max(0, index - 2):index + 1]) or any(
                t.text == "whether" and part_of[i] == part_of[index]  # "they ask whether"
                for i, t in enumerate(tokens[:index]))
        if clause.not_documented is None or (asked and not clause.not_documented_asked):
            clause.not_documented, clause.not_documented_asked = kind, asked
            # An asking part before it asks something else: the path, or a documented fact
            # ("what's the path for 6.5.4, and what would it cost?").
            others = {p for p in asking_parts if p < part_of[index]}
            clause.not_documented_elsewhere = asked and bool(others) and any(
                part_of[i] in others and (t.meaning and t.meaning[0] in ("intent", "ask")
                                          or t.kind == "version" or t.question)
                for i, t in enumerate(tokens))
            clause.versions_with_undocumented = any(
                t.kind == "version" and part_of[i] == part_of[index]
                for i, t in enumerate(tokens))
    # The followers asked about beside another subject: a leader restored, an upgrade, the
    # PAM backup (not "how do I restore a follower?", which is the follower's own restore).
    beside = any(node in ("leader", "cluster") for _, node in mentions + owners) or bool(
        clause.subjects or "upgrade" in clause.intents)
    if clause.asking and not {"followers", "followers-fine"} & set(clause.asks):
        restored = [i for i, node in mentions if node == "follower" and any(
            abs(i - a) <= 2 for a in incidents + restores)]  # "restore a follower using..."
        asked = _followers_asked(tokens, [m for m in mentions if m[0] not in restored],
                                 part_of, beside)
        if asked:
            clause.asks.append(asked)
            note(f"asks: {asked} (the followers, asked about in other words)")
            if clause.node == "follower":  # the followers asked about did not fail
                clause.node = None
    # "...we only got the pam backup do the followers need redoing": an auxiliary just
    # before what is asked makes a yes/no question inside a longer sentence.
    clause.yes_no = bool(clause.asks) and (_yes_no(tokens, part_of) or any(
        t.meaning and t.meaning[0] == "ask" and any(
            u.text in AUXILIARIES for u in tokens[max(0, index - 3):index + 1])
        for index, t in enumerate(tokens)))
    if not explain:
        return clause
    for name, value in (("intent words", clause.intents), ("incident", clause.incident),
                        ("asks", ", ".join(clause.asks) + (" (a yes/no question)"
                                                           if clause.yes_no and clause.asks
                                                           else "")),
                        ("backup on hand", ", ".join(clause.backups)),
                        ("backup not on hand", ", ".join(clause.backups_denied)),
                        ("topology", ", ".join(dict.fromkeys(clause.topologies))),
                        ("topology implied", ", ".join(dict.fromkeys(clause.implied))),
                        ("topics", ", ".join(dict.fromkeys(clause.topics))),
                        ("not documented", clause.not_documented)):
        if value:
            note(f"{name}: {value}")
    return clause


def _not_wrong(tokens: list[Token], index: int) -> bool:
    """The symptom at `index` is not said to be happening: "without errors", "to avoid
    errors", "no errors so far", "we are slow to upgrade"."""
    before = tokens[index - 1].text if index else ""
    after = tokens[index + 1].text if index + 1 < len(tokens) else ""
    return before in _NOT_HAPPENING or tokens[index].text == "slow" and after == "to"


def _symptom_asked(clause: Clause, index: int, part_of: list[int], asking_parts: set[int],
                   incidents: list[int], restores: list[int]) -> bool:
    """Whether what is wrong, said at `index` ("pam is frozen"), is what the sentence asks
    about: unless it says a node failed or asks for a restore, it is where no other part
    asks something of its own ("slow since the upgrade, is that normal?"), and where no part
    asks at all it is told (`symptom_stated`): a remark beside a question asked in another
    sentence ("admin ui broken. how do i roll back?")."""
    tokens = clause.tokens
    asking_elsewhere = any(
        part_of[i] in asking_parts - {part_of[index]}
        and (t.meaning and t.meaning[0] not in ("part", "domain") or t.question
             or t.kind == "version")
        for i, t in enumerate(tokens))
    # "the restore failed", "upgrade stalled": the symptom's own words fail nothing else
    inside = {index} | set(itertools.takewhile(
        lambda i: tokens[i].question == ("part", ""), range(index + 1, len(tokens))))
    failures = [i for i in incidents if i not in inside]
    clause.symptom_stated = not asking_parts and not failures and all(
        _restore_under_way(tokens, i) for i in restores if i not in inside)
    asked = bool(asking_parts) and not asking_elsewhere or clause.symptom_stated
    if asked and incidents and not failures:
        clause.incident = None  # what failed is the restore, not a node
    return asked


def _restore_under_way(tokens: list[Token], index: int) -> bool:
    """The restore at `index` is under way or done: "when restoring", "we restored it",
    "restoring the backup gives an error"."""
    before = {t.text for t in tokens[max(0, index - 2):index]}
    word = tokens[index].text
    return bool(_UNDER_WAY & before or word.endswith(("ed", "ing")) and (
        index == 0 or _DONE_BY & before))


def _asking_parts(tokens: list[Token], part_of: list[int]) -> set[int]:
    """The parts of a sentence that ask: those starting with a question word, else the one
    with the question mark ("16 GB ram each, path to 7.4?")."""
    starts = {part_of[i] for i, t in enumerate(tokens)
              if t.text in QUESTION_WORDS and (i == 0 or part_of[i - 1] != part_of[i]
                                               or i < 2 or part_of[i - 2] != part_of[i])}
    if starts:
        return starts
    return {part_of[i] for i, t in enumerate(tokens) if "?" in t.text}


def _yes_no(tokens: list[Token], part_of: list[int]) -> bool:
    """Whether a sentence is a yes/no question: a part of it starts with an auxiliary verb
    and no question word follows it closely ("will the followers be ok?", "6.5.4 to 7.2, is
    a restore needed?"; not "can you tell me what happens..."), or it ends with a tag ("no
    restore needed, right?")."""
    for part in dict.fromkeys(part_of):
        words = [t.text for t, p in zip(tokens, part_of, strict=True)
                 if p == part and t.kind == "word"]
        content = [w for w in words if w not in LEADING]
        if content and content[0] in AUXILIARIES:
            auxiliary = words.index(content[0])
            if not any(w in WH_WORDS for w in words[auxiliary:auxiliary + 5]):
                return True
    if any(t.text in WH_WORDS for t in tokens[:3]):
        return False
    if any("?" in t.text for t in tokens) and not any(t.text in WH_WORDS for t in tokens):
        return True  # "straight upgrade?", "6.5.4 -> 7.2, backup restore needed?"
    ends = [t.text for t in tokens if t.kind != "comma"]
    if "?" in "".join(ends[-1:]) and len(ends) > 1:
        return ends[-2] in _TAGS
    return False


def _phrase_around(tokens: list[Token], index: int) -> str:
    """The topic phrase that the word at `index` is in (it starts at or before it)."""
    start = index
    while start > 0 and (tokens[start].question or ("",))[0] == "part":
        start -= 1
    return _phrase(tokens, start, "question")


def _phrase(tokens: list[Token], index: int, attribute: str = "meaning") -> str:
    """The whole phrase that starts at `index`, for explanations."""
    words = [tokens[index].text]
    for token in tokens[index + 1:]:
        if (getattr(token, attribute) or ("", ""))[0] != "part":
            break
        words.append(token.text)
    return " ".join(words)


def _ignore(_: str) -> None:
    """Stands in for notes.append when nobody asked for an explanation."""


def _direction(tokens: list[Token], index: int) -> bool:
    """"down" in "back down to 7.4", "roll it down to": where to go, not a node that is down."""
    if tokens[index].text != "down":
        return False
    after = tokens[index + 1].text if index + 1 < len(tokens) else ""
    before = tokens[index - 1].text if index else ""
    return after == "to" or before in ("back", "roll", "step", "go", "going")


def _after_backup(tokens: list[Token], index: int) -> bool:
    """The word at `index` comes right after "backup", "backup and", "backup +" or "backup/"."""
    for before in reversed(tokens[max(0, index - 2):index]):
        if not (before.kind == "comma" or before.text in ("and", "&")):
            return before.meaning == ("intent", "backup")
    return False


# Words that, beside the followers in a question, ask what becomes of them ("what happens
# to the other servers?", "do the flw nodes get wiped?"); and words of rebuilding, which ask
# it only beside another subject ("if the leader is restored, are the others rebuilt?", not
# "how do I rebuild a follower?").
_HAPPENS = frozenset({"happens", "happen", "affected", "impact", "impacted", "wiped", "lost",
                      "lose"})
_REBUILDING = frozenset({"rebuild", "rebuilt", "recreate", "recreated", "rejoin", "rejoined",
                         "redo", "redone"})


def _followers_asked(tokens: list[Token], mentions: list[tuple[int, str]],
                     part_of: list[int], beside: bool) -> str | None:
    """"will the other boxes still work?", "do the flw nodes survive as-is?": a question about
    the followers, said without the vocabulary's phrases: a follower named (not the node that
    failed) beside a word of health or of rebuilding, in the same part of the sentence."""
    for index, node in mentions:
        near = [t for t, p in zip(tokens, part_of, strict=True) if p == part_of[index]]
        if node != "follower" or any(t.meaning and t.meaning[0] == "incident" for t in near):
            continue  # "pam-flw-02 died": the follower that failed
        if any(t.meaning and t.meaning[0] == "healthy" for t in near):
            return "followers-fine"
        if any(t.text in _HAPPENS for t in near) or beside and any(
                t.text in _REBUILDING or t.meaning == ("intent", "restore") for t in near):
            return "followers"
    return None


# After a backup named, words that say it is not there after all: "veeam doesn't have it",
# "the snapshots were purged", "commvault has nothing usable".
_GONE = frozenset({"doesn't", "didn't", "nothing", "empty", "purged", "expired", "unusable",
                   "deleted", "missing", "gone", "failed", "corrupt", "corrupted", "lost"})


def _said_gone(tokens: list[Token], index: int) -> bool:
    """The backup named at `index` is said, just after, not to be there."""
    for token in tokens[index + 1:index + 6]:
        if token.kind in ("comma", "stop") or token.meaning and token.meaning[0] == "backup":
            return False
        if token.text in _GONE:
            return True
    return False


def _only(tokens: list[Token], index: int) -> bool:
    """"only the osirium backup", "just the pam backup file", "all we have is the ...": the
    backup named at `index` is the only one."""
    before = [t.text for t in tokens[max(0, index - 5):index]]
    return "only" in before or "just" in before or "all we have" in " ".join(before)


def _inside(tokens: list[Token], index: int) -> str | None:
    """The slot of the phrase whose later word is at `index` ("topology" for "clustering" in
    "we never set up clustering"), or None."""
    if (tokens[index].meaning or ("",))[0] != "part":
        return None
    start = index
    while start > 0 and (tokens[start].meaning or ("",))[0] == "part":
        start -= 1
    return (tokens[start].meaning or (None,))[0]
