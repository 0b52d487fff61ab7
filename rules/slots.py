"""Step 3 of reading a message: the slots of one sentence (intent, versions, node, backup
kind, topic), each filled from a few grammar patterns over its tokens, with a note of why
when an explanation is asked for (`pambot ask --explain`)."""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass, field

from rules.tokens import QUESTION_WORDS, Token
from rules.vocabulary import Vocabulary

MAX_VERSIONS = 6

# Grammar words, the same for every organisation (the vocabulary is for domain words).
_FROM_WORDS = frozenset({"from", "on", "running", "at", "currently", "still"})
_TO_WORDS = frozenset({
    "to", "into", "onto", "target", "towards", "targeting", "latest", "newest", "want",
    "wants", "reach", "reaching",
})
# "load the 7.1 backup onto a 7.4 server" restores; "get it onto 7.2" does not.
_ONTO_WORDS = frozenset({"onto", "into"})
# A wish just before "on" makes the version after it a target: "they want us on 7.3".
_WANTING = frozenset({"want", "wants", "wanted", "need", "needs", "like", "get", "gets",
                      "getting", "move", "moving", "land", "go"})
_LOADING = frozenset({
    "backup", "backups", "restore", "restoring", "restored", "load", "loading", "loaded",
    "put", "import", "importing",
})
_NEGATIONS = frozenset({
    "not", "isn't", "aren't", "wasn't", "never", "no", "don't", "dont", "rather", "instead",
    "scratch", "without", "neither", "nor",
})
# Words that may stand between a label and its version: "from a 5.1 backup", "to the latest 7.x".
_FILLERS = frozenset({
    "a", "an", "the", "our", "my", "its", "their", "this", "that", "version", "v", "pam",
    "release", "server", "osirium", "build", "current", "currently", "we're", "were",
    "are", "is", "was", "it's", "still", "prod", "production", "at", "on", "than", "of",
    "going", "longer", "now", "just", "go", "yet", "box", "ver", "new", "fresh", "brand",
    "clean", "spare", "empty",
})
# "same as the normal 7.x path": the version after these is a comparison, not a subject.
# ("like" is not one: "we're on like 6.5" is said aloud, and means 6.5.)
_REFERENCES = frozenset({"same", "normal", "usual", "similar", "unlike"})
# "the table says latest 7.x", "according to the docs": versions quoted, not the person's.
_SAYING = frozenset({"says", "say", "said", "states", "shows", "lists", "mentions", "reads",
                     "gives", "give", "names", "specifies"})
_DOC_WORDS = frozenset({"table", "docs", "doc", "documentation", "page", "guide", "matrix",
                        "kb", "article", "manual", "website", "it", "vendor", "osirium"})
_SPEAKERS = frozenset({"we", "i", "our", "we're", "were", "us", "my"})
# "the target", "is the target": the version just before it is where to go.
_POSTFIX_TARGET = ("is", "as", "be", "the")
CONJUNCTIONS = frozenset({"and", "or", "&", "plus", "also", "then", "vs", "versus"})
# After one of these, what came before is withdrawn: "correction: we're on 6.5.4".
_CORRECTIONS = frozenset({"correction", "actually", "sorry", "scratch", "typo", "meant"})
# Words a negation reaches over: "we don't want to rebuild", "not going to restore".
_LIGHT = frozenset({"want", "to", "need", "going", "be", "have", "a", "the", "any", "do",
                    "really", "actually", "hold", "got", "an", "single", "whatsoever"})
# "new server is 7.5.3": after these, the next version is where a backup goes.
_NEW = frozenset({"new", "replacement", "rebuilt"})
_SERVERS = frozenset({"server", "servers", "box", "vm", "leader", "appliance", "node",
                      "instance", "machine", "host", "install", "deployment", "site"})
# A count of these says how many nodes they run: "a 3 node cluster", "5 followers".
_NODE_COUNTS = frozenset({"node", "nodes", "follower", "followers", "leaders"})
# How far (in tokens) a node may be from "died" or "restore" to be the node it is about.
_NODE_REACH = 4
# Meanings that a topic's own words do not have: "master" in "master encryption key", "lost"
# in "the mek is lost", "followers" in "how many followers".
_INSIDE_A_TOPIC = frozenset({"node", "incident", "healthy"})
# Words that turn what is asked round, as a negation does: "any way to avoid rebuilding the
# followers?" asks whether they can stay.
_AVOIDING = frozenset({"avoid", "skip", "prevent", "dodge", "bypass"})
# What a negation turns a meaning into: "not clustered", "no restore needed".
_OPPOSITE = {"standalone": "cluster", "cluster": "standalone", "required": "straight",
             "straight": "required", "followers": "followers-fine",
             "followers-fine": "followers"}
# Yes/no questions: an auxiliary first (after greetings and fillers), or a tag at the end.
AUXILIARIES = frozenset({
    "is", "are", "was", "were", "will", "would", "do", "does", "did", "can", "could",
    "should", "must", "shall", "has", "have", "had", "isn't", "aren't", "won't", "wouldn't",
    "don't", "doesn't", "didn't", "can't", "cannot", "couldn't", "shouldn't", "mustn't", "am",
    "may", "might", "dont", "doesnt", "cant", "wont", "isnt",
})
_WH_WORDS = frozenset({"what", "what's", "whats", "which", "how", "why", "when", "where",
                       "who", "whether"})
LEADING = frozenset({
    "so", "ok", "okay", "and", "but", "also", "quick", "question", "q", "hi", "hey", "hello",
    "just", "then", "right", "well", "sorry", "like", "basically", "team", "all", "folks",
    "guys", "btw", "anyway", "alright", "now", "yes", "no", "oh", "actually", "pambot",
    "hmm", "one", "last", "thing", "follow", "up",
})
_TAGS = frozenset({"right", "correct", "yes", "true", "ok", "okay", "yeah", "yep", "agreed",
                   "confirm", "not", "no", "surely"})


@dataclass
class Subject:
    """One installation the sentence is about: its version and where it should go."""

    version: str | None = None
    target: str | None = None
    # The version came after "for" with no current version before it: a target if another
    # sentence gives the current one ("we're on 6.5.4. what's needed for 7.2?").
    after_for: bool = False
    # The version came after "from", "on" or "running": it is where they are.
    said_from: bool = False


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
GRAMMAR_WORDS = (_FROM_WORDS | _TO_WORDS | _NEGATIONS | _FILLERS | CONJUNCTIONS
                 | _CORRECTIONS)


def read_clause(tokens: list[Token], vocabulary: Vocabulary, explain: bool) -> Clause:
    clause = Clause(tokens, asked_at=len(tokens))
    note = clause.notes.append if explain else _ignore
    reader = _VersionReader(clause, note)
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
        if token.text in _NEGATIONS:
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
            elif slot == "node" and value == "cluster" and _of_a_cluster(tokens, index):
                clause.topologies.append("cluster")  # "the leader of their cluster"
                note(f"{token.text}: what they run, not the node ('of' or 'in' before it)")
            elif slot == "node" and _owns_a_backup(tokens, index):
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
    _share_target(clause.subjects, note)
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
    clause.node = _failed_node(tokens, mentions or [o for o in owners if o[1] == "leader"],
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
    # "how long does it take?", "can we roll back if 7.2 fails?": asked; "16 GB ram each,
    # path to 7.4?" or "downtime is approved": context beside the question.
    asking_parts = _asking_parts(tokens, part_of) if undocumented else set()
    for index, kind in undocumented:
        asked = part_of[index] in asking_parts or any(
            t.text in QUESTION_WORDS for t in tokens[max(0, index - 2):index + 1]) or any(
            t.text == "whether" and part_of[i] == part_of[index]  # "they ask whether ..."
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
            if not any(w in _WH_WORDS for w in words[auxiliary:auxiliary + 5]):
                return True
    if any(t.text in _WH_WORDS for t in tokens[:3]):
        return False
    if any("?" in t.text for t in tokens) and not any(t.text in _WH_WORDS for t in tokens):
        return True  # "straight upgrade?", "6.5.4 -> 7.2, backup restore needed?"
    ends = [t.text for t in tokens if t.kind != "comma"]
    if "?" in "".join(ends[-1:]) and len(ends) > 1:
        return ends[-2] in _TAGS
    return False


def _share_target(subjects: list[Subject], note) -> None:
    """"6.1.4, 6.5.4 and 7.2 - which need a restore to get to 7.5?": a target after a list
    of versions is where each of them goes."""
    if len(subjects) > 1 and subjects[-1].target and subjects[-1].version \
            and not any(s.target for s in subjects[:-1]):
        for subject in subjects[:-1]:
            subject.target = subjects[-1].target
        note(f"{subjects[-1].target}: the target of every version listed before it")


class _VersionReader:
    """Gives each version its role from the grammar words just before it.

    "from X to Y", "to Y from X", "X -> Y", "on X": a label counts when it stands right
    before the version (a few filler words such as "the latest" may come between); "not X"
    excludes X; "X and Y" or "X, Y" are two installations; "X Y" is from X to Y.
    """

    def __init__(self, clause: Clause, note) -> None:
        self.clause, self.note = clause, note
        self.label: str | None = None
        self.negate = False
        self.joined = False
        self.gap = 0
        self.since_version = 99
        self.reference = False
        # Versions quoted from the documentation ("the table says latest 7.x"), until a comma.
        self.quoting = False
        self.toward = False  # "new server": its version is where the backup goes
        self.from_word = ""
        self.previous: list[str] = []

    def postfix_target(self) -> None:
        """"7.4 is the target": the version just given is where to go, not where we are."""
        last = self.clause.subjects[-1] if self.clause.subjects else None
        if last is not None and last.version and last.target is None:
            last.version, last.target = None, last.version
            self.note(f"{last.target}: target version ('target' after it)")

    def read(self, token: Token) -> None:
        kind, text = token.kind, token.text
        self.since_version += 1
        if kind == "word":
            if text in ("target", "goal") and self.since_version <= 3 and self.previous \
                    and self.previous[-1] in _POSTFIX_TARGET:
                self.postfix_target()
            if text == "according" or text in _SAYING and _DOC_WORDS.intersection(
                    self.previous[-3:]) and not _WH_WORDS.union(AUXILIARIES).intersection(
                    self.previous):  # "what does the upgrade table say for 6.0.3?" asks it
                self.quoting = True
            elif text in _SPEAKERS:
                self.quoting = False  # "..., but we want 8.0": the person again
            if text in _SERVERS and _NEW.intersection(self.previous[-2:]):
                self.toward = True  # "the new server", "a replacement leader VM"
            self.previous = (self.previous + [text])[-6:]
            if text in _REFERENCES:
                self.reference = True
            if text in ("that", "it") and self.previous[-2:-1] == ["make"]:
                self.label, self.gap = "instead", 0  # "7.2 - actually no, make that 7.4"
            elif text == "for" and not self.negate:
                # "we're on 6.5.4, do we need a backup restore for 7.3?": where to go, once
                # a current version is known; else where we are ("restore needed for 6.5.4?")
                self.label, self.gap, self.reference = "for", 0, False
            elif text == "on" and _WANTING.intersection(self.previous[-4:-1]):
                # "mgmt want us on 7.3", "we need to be on 7.4": where to go, not where we are
                self.label, self.gap, self.reference = "to", 0, False
            elif text in _FROM_WORDS and not self.negate:
                self.label, self.gap, self.reference = "from", 0, False
                self.from_word = text
            elif text in _TO_WORDS:
                self.label, self.gap, self.reference = "to", 0, False
                if text in _ONTO_WORDS and _LOADING.intersection(self.previous[-3:-1]):
                    self.clause.onto = True  # "load it onto", "restore the backup into"
            elif text in _NEGATIONS:
                self.negate, self.gap = True, 0
            elif text in CONJUNCTIONS:
                self.joined, self.label, self.negate = True, None, False
            elif text in _FILLERS and self.gap < 3 and (
                    token.meaning is None or token.meaning[0] in ("domain", "part")):
                self.gap += 1
            elif self.negate and token.meaning and token.meaning[0] == "intent":
                pass  # "not upgrading to 7.0": the version is still the one said not to be
            else:
                self.label, self.negate, self.gap = None, False, 0
        elif kind == "arrow":
            self.label, self.gap = "to", 0
        elif kind == "comma":
            self.joined, self.label, self.negate = True, None, False
        elif kind == "version":
            if self.toward and self.from_word != "from" and self.label != "to":
                # "the backup is from 7.3, the new server is 7.5.3"; "the new box is 7.2"
                self.label = "to"
                self.clause.onto = bool(self.clause.subjects or self.clause.backups)
                self.note(f"{text}: where the backup goes (a new server's version)")
            if self.quoting:
                self.note(f"{text}: quoted from the documentation, not the person's version")
            elif self.reference:
                self.note(f"{text}: a comparison ('{'/'.join(sorted(_REFERENCES))}' before it)")
            else:
                self.version(text)
            self.label, self.negate, self.gap, self.joined = None, False, 0, False
            self.since_version, self.reference, self.previous = 0, False, []
            self.toward, self.from_word = False, ""
        else:  # an IP address, a date, a ticket key...: whatever came before does not carry
            self.label, self.negate = None, False
        if kind == "comma" or text == "but":
            self.reference = self.quoting = False

    def version(self, text: str) -> None:
        subjects, note = self.clause.subjects, self.note
        last = subjects[-1] if subjects else None
        if self.negate:
            self.clause.excluded.append(text)
            note(f"{text}: a version said NOT to be the one ('not' before it)")
        elif self.label == "instead" and last is None:
            subjects.append(Subject(target=text))  # "actually make that 8.0": a new target
            note(f"{text}: target version, replacing the one said before ('make that')")
        elif self.label == "instead" and last is not None:
            replaced = "target" if last.target else "version"
            setattr(last, replaced, text)
            note(f"{text}: replaces the {replaced} said before ('make that')")
        elif self.label == "for" and (last is None or last.target is not None):
            subjects.append(Subject(version=text, after_for=True))
            note(f"{text}: current version, unless another sentence gave it ('for' before it)")
        elif self.label == "to" and (last is None or last.target is not None) and any(
                s.target == text for s in subjects):
            note(f"{text}: the target again")  # "new VM on 7.4 - restore onto 7.4 directly?"
        elif self.label in ("to", "for"):
            self.clause.labelled = True
            if last is not None and last.target is None:
                last.target = text
            else:
                subjects.append(Subject(target=text))
            note(f"{text}: target version ('to' or an arrow before it)")
        elif (self.label == "from" and self.from_word == "from" and last is not None
              and last.version and last.target is None and not last.said_from
              and not self.joined):
            # "7.2 from 6.5.4?": the version before "from" is where to go
            last.target, last.version, last.said_from = last.version, text, True
            self.clause.labelled = True
            note(f"{text}: current version ('from' before it; {last.target} is the target)")
        elif self.label == "from" and last is not None and last.version is None:
            self.clause.labelled = True
            last.version = text
            note(f"{text}: current version (a 'from' after the target)")
        elif self.label == "from" or last is None or self.joined or last.target is not None:
            self.clause.labelled = self.clause.labelled or self.label == "from"
            subjects.append(Subject(version=text, said_from=self.label == "from"))
            why = "'from', 'on' or 'running' before it" if self.label else (
                "first version given" if last is None else "another installation")
            note(f"{text}: current version ({why})")
        elif text != last.version:
            last.target = text
            note(f"{text}: target version (a second version right after the current one)")


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


def _failed_node(tokens: list[Token], mentions: list[tuple[int, str]],
                 anchors: list[int], denied: list[int], note) -> str | None:
    """The node a restore is about: the one next to "died" or "restore" (and any joined to
    it by "and"); else the ones named. Not a node said to be fine or not failed ("not the
    follower", "the cluster isn't down", "the leader is healthy"), nor "backups of all
    nodes" when another node is next to the failure."""
    # Distances count a phrase ("every node", "in the cluster") as one word.
    position = list(itertools.accumulate(
        (t.meaning or ("",))[0] != "part" for t in tokens))

    def distance(i: int, places: list[int]) -> int:
        return min((abs(position[i] - position[a]) for a in places
                    if not _split_by_but(tokens, i, a)), default=99)

    # What one part of the sentence says is fine, another may say is dead.
    part = parts(tokens)
    fine: set[int] = set()
    for place in denied:  # each "isn't down" or "is fine" is said of the nearest node
        near = sorted((m for m in mentions if part[m[0]] == part[place]),
                      key=lambda m: (distance(m[0], [place]), m[0] > place))
        if near and distance(near[0][0], [place]) <= min(_NODE_REACH,
                                                         distance(near[0][0], anchors)):
            fine.add(near[0][0])
    fine |= {i for i, _ in mentions if any(_joined(tokens, i, j) for j in fine)}
    # A part that calls something fine and reports no failure says so of every node it
    # names: "the leader and the followers on site B are unaffected, only the follower in
    # site A is dead".
    calm = {part[i] for i, t in enumerate(tokens) if t.meaning and t.meaning[0] == "healthy"}
    calm -= {part[i] for i in anchors}
    fine |= {i for i, _ in mentions if part[i] in calm}
    mentions = [(i, node) for i, node in mentions if i not in fine]
    if not mentions:
        return None
    attached = [(i, node) for i, node in mentions if distance(i, anchors) <= _NODE_REACH]
    for i, node in mentions:
        if (i, node) not in attached and any(_joined(tokens, i, j) for j, _ in attached):
            attached.append((i, node))
    chosen = {node for _, node in attached or mentions}
    specific = chosen - {"any"}
    if not specific:
        note("node: not said which ('one of the nodes')")
        return None
    named = [(i, node) for i, node in attached or mentions if node in specific]
    if len(specific) > 1 and "cluster" not in specific and all(  # "the leader or a follower"
            any(t.text == "or" for t in tokens[i:j])
            for (i, _), (j, _) in itertools.pairwise(named)):
        note(f"node: not said which ('{' or '.join(node for _, node in named)}')")
        return None
    chosen = specific
    result = "cluster" if len(chosen) > 1 or "cluster" in chosen else chosen.pop()
    note(f"node: {result} (named next to the failure or restore)" if attached
         else f"node: {result} (the nodes named)")
    return result


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


def parts(tokens: list[Token]) -> list[int]:
    """Each token's part of its sentence; parts are split by commas and "but"."""
    return list(itertools.accumulate(t.kind == "comma" or t.text == "but" for t in tokens))


def _split_by_but(tokens: list[Token], i: int, j: int) -> bool:
    """"follower-3 is gone but the leader is fine": "but" separates what it says of each."""
    return any(t.text == "but" for t in tokens[min(i, j):max(i, j)])


def _joined(tokens: list[Token], i: int, j: int) -> bool:
    """Whether two nearby words are joined by "and": "the leader and both followers"."""
    between = tokens[min(i, j):max(i, j)]
    return len(between) <= 3 and any(t.text in CONJUNCTIONS for t in between)



def _of_a_cluster(tokens: list[Token], index: int) -> bool:
    """"cluster" after "of", "in" or "on" is the cluster they run, not the node that failed:
    "the leader of their cluster", "a node in our PAM cluster", "died on our 7.3 cluster"."""
    return tokens[index].text in ("cluster", "clusters") and any(
        t.text in ("of", "in", "on") for t in tokens[max(0, index - 4):index])


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


def _owns_a_backup(tokens: list[Token], index: int) -> bool:
    """The node named at `index` is whose backup it is: "the leader's PAM backup", "a
    backup of the leader", "leader backup file"."""
    after = next((t for t in tokens[index + 1:index + 3] if (t.meaning or ("",))[0] != "part"),
                 None)
    if after is not None and after.meaning and after.meaning[0] == "backup" \
            or after is not None and after.meaning == ("intent", "backup"):
        return True
    before = [t for t in tokens[max(0, index - 3):index]]
    return any(t.text == "of" for t in before) and any(
        t.meaning and (t.meaning[0] == "backup" or t.meaning == ("intent", "backup"))
        for t in tokens[max(0, index - 6):index])


def _inside(tokens: list[Token], index: int) -> str | None:
    """The slot of the phrase whose later word is at `index` ("topology" for "clustering" in
    "we never set up clustering"), or None."""
    if (tokens[index].meaning or ("",))[0] != "part":
        return None
    start = index
    while start > 0 and (tokens[start].meaning or ("",))[0] == "part":
        start -= 1
    return (tokens[start].meaning or (None,))[0]
