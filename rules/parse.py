"""Read what on-call engineers type (in Slack or a terminal) into questions.

Three steps, each shown by `pambot ask --explain`:

1. tidy: Slack markup, mentions, entities, quotes and odd characters (`normalize`);
2. tokens: typed pieces, so that a number is a PAM version only when it has the shape
   and the context of one: versions, IP addresses, dates, times, ticket keys, counts,
   words and the vocabulary's phrases (rules/data/vocabulary.yaml), arrows, sentence ends;
3. slots: each sentence fills intent, versions, node, backup kind and topic from a few
   patterns; a sentence without a question of its own lends its versions and node to
   the ones after it, and a message can hold several questions.

    >>> [q.from_version for q in parse_message("not 6.5.4 but 6.1.4").queries]
    ['6.1.4']

Never raises: any string gives at least one Query, with intent "unknown" when nothing
is recognised.
"""

from __future__ import annotations

import difflib
import functools
import itertools
import re
from dataclasses import dataclass, field, replace

from rules.model import Query
from rules.tokens import (
    COUNT_NOUNS,
    NEW_QUESTION,
    QUESTION_WORDS,
    Token,
    normalize,
    sentences,
    tokenize,
)
from rules.vocabulary import Vocabulary

__all__ = ["Message", "normalize", "parse", "parse_message"]

# Versions read from one message at most; a paste of a version table is not a question.
MAX_VERSIONS = 6

# Grammar words, the same for every organisation (the vocabulary is for domain words).
_FROM_WORDS = frozenset({"from", "on", "running", "at", "currently", "still"})
_TO_WORDS = frozenset({
    "to", "into", "onto", "target", "towards", "targeting", "latest", "newest", "want",
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
    "scratch", "without",
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
_REFERENCES = frozenset({"same", "like", "normal", "usual", "similar", "unlike"})
# "the target", "is the target": the version just before it is where to go.
_POSTFIX_TARGET = ("is", "as", "be", "the")
_CONJUNCTIONS = frozenset({"and", "or", "&", "plus", "also", "then", "vs", "versus"})
# After one of these, what came before is withdrawn: "correction: we're on 6.5.4".
_CORRECTIONS = frozenset({"correction", "actually", "sorry", "scratch", "typo", "meant"})
# Words a negation reaches over: "we don't want to rebuild", "not going to restore".
_LIGHT = frozenset({"want", "to", "need", "going", "be", "have", "a", "the", "any", "do",
                    "really", "actually"})
# Near misses are measured against one word per intent and node.
_COMMAND_WORDS = ("upgrade", "restore", "backup", "help", "leader", "follower", "cluster")
_TYPO_SCAN_WORDS = 30
_GRAMMAR_WORDS = (_FROM_WORDS | _TO_WORDS | _NEGATIONS | _FILLERS | _CONJUNCTIONS
                  | NEW_QUESTION | _CORRECTIONS | COUNT_NOUNS)
# How far (in tokens) a node may be from "died" or "restore" to be the node it is about.
_NODE_REACH = 4


@dataclass
class Subject:
    """One installation the sentence is about: its version and where it should go."""

    version: str | None = None
    target: str | None = None
    # The version came after "for" with no current version before it: a target if another
    # sentence gives the current one ("we're on 6.5.4. what's needed for 7.2?").
    after_for: bool = False


@dataclass
class Clause:
    """What one sentence says, slot by slot, and why each slot was filled."""

    tokens: list[Token]
    intents: dict[str, str] = field(default_factory=dict)  # intent -> the words that said so
    incident: str | None = None
    subjects: list[Subject] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    node: str | None = None
    backup: str | None = None
    asks: set[str] = field(default_factory=set)
    # The facts asked about, in order: the most specific topic of each part of the sentence
    # between commas and "and"s ("session recordings in the backup, and the ports").
    topics: list[str] = field(default_factory=list)
    # Where the first topic was named and where the first other question word or version
    # was: the answers come in the order they were asked.
    topic_at: int = 0
    asked_at: int = 0
    not_documented: str | None = None
    # The not-documented phrase is asked about, not only mentioned beside another question.
    not_documented_asked: bool = False
    corrected: bool = False
    # A version came after "onto" or "into": a backup loaded onto a server.
    onto: bool = False
    # "backup and restore" (or "backup + restore"), the procedure the table's column names.
    backup_and_restore: bool = False
    # "restore needed", "need a restore": a restore asked about (see _clause_questions).
    restore_asked: bool = False
    # A later sentence took this one's versions or node as its context.
    lent: bool = False
    # A version came with "from", "to" or an arrow: the sentence is about an upgrade path.
    labelled: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def has_versions(self) -> bool:
        return bool(self.subjects or self.excluded)

    @property
    def versions(self) -> list[str]:
        return [s.version for s in self.subjects if s.version]

    @property
    def asking(self) -> bool:
        """Whether the sentence is a question ("?", or it starts with "what", "should"...)."""
        words = [t.text for t in self.tokens[:2]]
        return any(t.kind == "stop" for t in self.tokens) or bool(
            set(words) & QUESTION_WORDS)


@dataclass(frozen=True)
class Message:
    """A whole message: its questions (main first), and how it was read."""

    text: str
    queries: tuple[Query, ...]
    clauses: tuple[Clause, ...] = ()

    def explain(self) -> str:
        """The tokens, the slots and why each was filled, for rule authors."""
        lines = []
        for number, clause in enumerate(self.clauses, 1):
            shown = " ".join(_show(t) for t in clause.tokens) or "(nothing)"
            lines.append(f"sentence {number}: {shown}")
            lines += [f"  - {note}" for note in clause.notes]
        for number, query in enumerate(self.queries, 1):
            slots = ", ".join(
                f"{name}={value}" for name, value in (
                    ("intent", query.intent), ("from", query.from_version),
                    ("to", query.to_version), ("node", query.node), ("case", query.case),
                    ("not", ",".join(query.excluded) or None),
                    ("suggestion", query.suggestion)) if value)
            lines.append(f"question {number}: {slots}")
        return "\n".join(lines)


def _show(token: Token) -> str:
    if token.kind == "word" and token.meaning is None:
        return token.text
    label = f"{token.meaning[0]}:{token.meaning[1]}" if token.meaning else token.kind
    return f"[{token.text}|{label}]"


def parse(text: str, vocabulary: Vocabulary | None = None) -> Query:
    """The main question of a message (see `parse_message` for all of them)."""
    return parse_message(text, vocabulary).queries[0]


def parse_message(text: str, vocabulary: Vocabulary | None = None, *,
                  explain: bool = False) -> Message:
    """Every question in one message, main (an incident, if any) first."""
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    if vocabulary is None:
        from rules.load import default_ruleset  # the packaged vocabulary, loaded once

        vocabulary = default_ruleset().vocabulary
    if not explain:
        return _read(text, vocabulary)
    return _read.__wrapped__(text, vocabulary, explain=True)


@functools.lru_cache(maxsize=8192)
def _read(text: str, vocabulary: Vocabulary, *, explain: bool = False) -> Message:
    """`parse_message` itself. Cached: people ask the same things (a Message is immutable);
    see bench/bench_ask.py for what it saves."""
    clean = normalize(text)
    clauses = [_read_clause(tokens, vocabulary, explain) for tokens in
               sentences(tokenize(clean, vocabulary))]
    queries = _questions(text, clean, clauses, vocabulary, explain)
    return Message(text, tuple(queries), tuple(clauses) if explain else ())


# --- 3. slots -------------------------------------------------------------------------------


def _read_clause(tokens: list[Token], vocabulary: Vocabulary, explain: bool) -> Clause:
    clause = Clause(tokens, asked_at=len(tokens))
    note = clause.notes.append if explain else _ignore
    reader = _VersionReader(clause, note)
    incidents: list[int] = []
    restores: list[int] = []
    mentions: list[tuple[int, str]] = []
    denied: list[int] = []  # "isn't down", "no cluster", "is healthy": not the failed node
    negation_at = -9
    topics, part_topic = vocabulary.topics, None
    for index, token in enumerate(tokens):
        meaning = token.meaning if token.meaning and token.meaning[0] != "part" else None
        if token.text in _NEGATIONS:
            negation_at = index
        elif token.text in _LIGHT and index - negation_at <= 3:
            negation_at += 1  # "don't want to rebuild": the negation reaches "rebuild"
        elif meaning and index - negation_at <= 2 and meaning[0] in ("intent", "node",
                                                                     "incident"):
            note(f"{_phrase(tokens, index)}: said not to be so ('{tokens[negation_at].text}')")
            denied.append(index)
            if meaning[0] == "incident":
                clause.incident = clause.incident or _phrase(tokens, index)
            if meaning[0] != "node":
                meaning = None
        question = token.question
        if token.kind == "comma" or token.text in _CONJUNCTIONS:
            part_topic = None  # a new part of the sentence: its own topic
        if question and question[0] == "topic":
            # The most specific topic of this part (the vocabulary lists them in that order):
            # "session recordings in the backup" asks about the recordings.
            if part_topic is None:
                clause.topics.append(question[1])
                clause.topic_at = clause.topic_at if len(clause.topics) > 1 else index
            elif topics.index(question[1]) < topics.index(part_topic):
                clause.topics[-1] = question[1]
            part_topic = clause.topics[-1]
        elif question and question[0] == "not_documented" and clause.not_documented is None:
            clause.not_documented = _phrase(tokens, index, "question")
            # "how much downtime", "what's the latest": asked; "16 GB ram each": context
            clause.not_documented_asked = any(
                t.text in QUESTION_WORDS for t in tokens[max(0, index - 2):index + 1])
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
            elif slot == "node":
                mentions.append((index, value))
            elif slot == "healthy":
                denied.append(index)
            elif slot == "ask":
                clause.asks.add(value)
                # "restore needed" asks whether, with versions; without, that one is needed
                # ("backup and restore needed" is the table's question all the same).
                words = _phrase(tokens, index).split()
                clause.restore_asked |= value == "required" and "backup" not in words and any(
                    word.startswith(("restor", "rebuild")) for word in words)
            elif slot == "backup":
                clause.backup = value
        if token.text in _CORRECTIONS:
            clause.corrected = True
        if token.kind == "version":
            clause.asked_at = min(clause.asked_at, index)
        elif token.note:
            note(f"{token.text}: {token.kind}, not a version ({token.note})")
        elif token.kind not in ("word", "comma"):
            note(f"{token.text}: {token.kind}, not a version")
        reader.read(token)
    clause.backup_and_restore = any(
        t.meaning == ("intent", "restore") and _after_backup(tokens, index)
        for index, t in enumerate(tokens))
    clause.subjects = [s for s in clause.subjects if s.version or s.target][:MAX_VERSIONS]
    _share_target(clause.subjects, note)
    for subject in clause.subjects:
        if subject.version in clause.excluded:
            subject.version = None
    clause.node = _failed_node(tokens, mentions, incidents + restores, denied, note)
    for name, value in (("intent words", clause.intents), ("incident", clause.incident),
                        ("asks", clause.asks), ("backup", clause.backup),
                        ("topics", ", ".join(dict.fromkeys(clause.topics))),
                        ("not documented", clause.not_documented)):
        if value:
            note(f"{name}: {value}")
    return clause


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
            self.previous = (self.previous + [text])[-4:]
            if text in _REFERENCES:
                self.reference = True
            if text in ("that", "it") and self.previous[-2:-1] == ["make"]:
                self.label, self.gap = "instead", 0  # "7.2 - actually no, make that 7.4"
            elif text == "for" and not self.negate:
                # "we're on 6.5.4, do we need a backup restore for 7.3?": where to go, once
                # a current version is known; else where we are ("restore needed for 6.5.4?")
                self.label, self.gap, self.reference = "for", 0, False
            elif text == "on" and _WANTING.intersection(self.previous[:-1]):
                # "mgmt want us on 7.3", "we need to be on 7.4": where to go, not where we are
                self.label, self.gap, self.reference = "to", 0, False
            elif text in _FROM_WORDS and not self.negate:
                self.label, self.gap, self.reference = "from", 0, False
            elif text in _TO_WORDS:
                self.label, self.gap, self.reference = "to", 0, False
                if text in _ONTO_WORDS and self.previous[-2:-1] and self.previous[-2] in _LOADING:
                    self.clause.onto = True
            elif text in _NEGATIONS:
                self.negate, self.gap = True, 0
            elif text in _CONJUNCTIONS:
                self.joined, self.label, self.negate = True, None, False
            elif text in _FILLERS and self.gap < 3 and token.meaning is None:
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
            if self.reference:
                self.note(f"{text}: a comparison ('{'/'.join(sorted(_REFERENCES))}' before it)")
            else:
                self.version(text)
            self.label, self.negate, self.gap, self.joined = None, False, 0, False
            self.since_version, self.reference, self.previous = 0, False, []
        else:  # an IP address, a date, a ticket key...: whatever came before does not carry
            self.label, self.negate = None, False
        if kind == "comma":
            self.reference = False

    def version(self, text: str) -> None:
        subjects, note = self.clause.subjects, self.note
        last = subjects[-1] if subjects else None
        if self.negate:
            self.clause.excluded.append(text)
            note(f"{text}: a version said NOT to be the one ('not' before it)")
        elif self.label == "instead" and last is not None:
            replaced = "target" if last.target else "version"
            setattr(last, replaced, text)
            note(f"{text}: replaces the {replaced} said before ('make that')")
        elif self.label == "for" and (last is None or last.target is not None):
            subjects.append(Subject(version=text, after_for=True))
            note(f"{text}: current version, unless another sentence gave it ('for' before it)")
        elif self.label in ("to", "for"):
            self.clause.labelled = True
            if last is not None and last.target is None:
                last.target = text
            else:
                subjects.append(Subject(target=text))
            note(f"{text}: target version ('to' or an arrow before it)")
        elif self.label == "from" and last is not None and last.version is None:
            self.clause.labelled = True
            last.version = text
            note(f"{text}: current version (a 'from' after the target)")
        elif self.label == "from" or last is None or self.joined or last.target is not None:
            self.clause.labelled = self.clause.labelled or self.label == "from"
            subjects.append(Subject(version=text))
            why = "'from', 'on' or 'running' before it" if self.label else (
                "first version given" if last is None else "another installation")
            note(f"{text}: current version ({why})")
        elif text != last.version:
            last.target = text
            note(f"{text}: target version (a second version right after the current one)")


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
    return len(between) <= 3 and any(t.text in _CONJUNCTIONS for t in between)


def _questions(text: str, clean: str, clauses: list[Clause], vocabulary: Vocabulary,
               explain: bool) -> list[Query]:
    """Turn sentences into questions: context flows between them, duplicates go, incidents
    come first, and a sentence that only gives a version nobody used is a question too."""
    _apply_corrections(clauses)
    if not _names_pam(clauses):
        for clause in clauses:  # "is the jira board down?" is not about PAM
            clause.incident = None
    _share_context(clauses, explain)
    queries: list[Query] = []
    remarks: list[Query] = []  # "cost centre 4410-OPS.": not documented, but not asked either
    asked_any = False
    said = set()  # backup advice from a sentence that only said something about backups
    for clause in clauses:
        own, implied = _clause_questions(clause)
        asked_any = asked_any or bool(own)
        if not clause.asking:
            said |= {id(q) for q in own if q.intent == "backup"}
        if own and own[0].case == "not-documented" and not (
                clause.not_documented_asked or any("?" in t.text for t in clause.tokens)):
            remarks += own
            continue
        queries += own or ([] if clause.lent else implied)
    queries = queries or remarks
    suggestion = None
    if not asked_any:
        # Only versions and no question word: an upgrade, unless a word is a near miss of a
        # command ("upgarde 6.5.4"), which gets "did you mean", never a guess.
        suggestion = _near_miss(clean, vocabulary)
        if suggestion and not any(c.labelled for c in clauses):
            queries = []  # "upgarde 6.5.4"; but "upgrde from 6.5" is an upgrade all the same
    if not queries:
        if suggestion is None and _about_pam(clean, clauses):
            return [Query(text=text, intent="fact", case="not-documented")]
        intent = "unknown" if suggestion or clean else "help"
        return [Query(text=text, intent=intent, suggestion=suggestion)]
    if len(queries) > 1:
        # "hi all, is 7.0.2 -> 7.4 a straight upgrade?": no usage help. "Leader is corrupted.
        # Our last backup is a PAM generated one.": the restore answer says which backup to use.
        restoring = any(q.intent == "restore" for q in queries)
        queries = [q for q in queries if q.intent != "help"
                   and not (restoring and id(q) in said)] or queries
    unique: dict[tuple, Query] = {}
    for query in queries:
        # A restore from one version to another is answered from the table, like the upgrade.
        across = query.intent in ("upgrade", "restore") and query.from_version and query.to_version
        key = ("table" if across else query.intent, query.from_version, query.to_version,
               query.node, query.case, query.excluded)
        unique.setdefault(key, query)
    kept = [q for q in unique.values() if not _said_better(q, unique.values())]
    ordered = sorted(kept, key=lambda q: q.intent != "restore")
    main = ordered[0]
    if main.intent == "restore" and main.node is None and main.case is None:
        main = replace(main, suggestion=_near_miss(clean, vocabulary))
    return [replace(main, text=text)] + ordered[1:]


def _said_better(query: Query, queries) -> bool:
    """Another question of the message asks the same more fully: "nobody here has done a
    PAM upgrade. is 7.1.3 -> 7.x a straight upgrade?" (no version beside one), "the old
    server is on 6.4.1. what's the path from 6.4.1 to 7.x?" (no target beside one)."""
    if query.intent not in ("upgrade", "restore") or query.to_version or query.case:
        return False
    for other in queries:
        if other is query or other.intent != query.intent or other.node != query.node:
            continue
        if query.from_version is None and (other.from_version or other.to_version):
            return True
        if query.from_version and other.from_version == query.from_version and other.to_version:
            return True
    return False


def _apply_corrections(clauses: list[Clause]) -> None:
    """"correction: we're on 6.5.4": versions before the correction are withdrawn."""
    for index, clause in enumerate(clauses):
        if clause.corrected and not clause.has_versions and index + 1 < len(clauses):
            clauses[index + 1].corrected = True  # "correction: we're on 6.5.4"
        if clause.corrected and clause.has_versions:
            # "upgrade 6.5.4 to 7.2... sorry, we're on 6.5.5": the target still stands.
            targets = {s.target for c in clauses[:index] for s in c.subjects if s.target}
            if len(targets) == 1 and not any(s.target for s in clause.subjects):
                for subject in clause.subjects:
                    subject.target = next(iter(targets))
            for earlier in clauses[:index]:
                earlier.subjects, earlier.excluded = [], []


def _share_context(clauses: list[Clause], explain: bool) -> None:
    """A sentence missing a version or the node takes them from the nearest sentence that
    gave them: "we're on 6.5.4. how do we upgrade?", "leader died. we're on 7.2"."""
    for index, clause in enumerate(clauses):
        lender = next((c for c in reversed(clauses[:index])
                       if c.versions and not c.not_documented), None)
        if lender is None and index + 1 < len(clauses) and _only_versions(clauses[index + 1]) \
                and not _only_versions(clause):
            lender = clauses[index + 1]
        needs_versions = ({"upgrade", "restore"} & clause.intents.keys() or clause.incident
                          or "required" in clause.asks or clause.subjects) \
            and not (clause.topics or clause.not_documented)
        if lender is not None and len(lender.subjects) == 1 and lender.subjects[0].version \
                and not lender.subjects[0].target \
                and [s.after_for and not s.target for s in clause.subjects] == [True] \
                and clause.subjects[0].version != lender.subjects[0].version:
            clause.subjects = [Subject(lender.subjects[0].version, clause.subjects[0].version)]
            lender.lent = True
            if explain:
                clause.notes.append(f"versions: {lender.subjects[0].version}, from another "
                                    f"sentence, to {clause.subjects[0].target}")
        elif lender is not None and not clause.versions and needs_versions:
            targets = [s.target for s in clause.subjects]
            clause.subjects = [Subject(s.version, s.target) for s in lender.subjects]
            if len(targets) == 1 and targets[0] and len(clause.subjects) == 1:
                clause.subjects[0].target = targets[0]
            clause.excluded = clause.excluded or list(lender.excluded)
            lender.lent = True
            if explain:
                clause.notes.append(f"versions: {', '.join(lender.versions)}, from another "
                                    "sentence")
        needs_node = clause.incident or "restore" in clause.intents
        # Not the nodes a sentence about backups names ("VM backups of every node").
        node_lender = next((c for c in reversed(clauses[:index]) if c.node and (
            c.incident or "restore" in c.intents or "backup" not in c.intents)), None)
        if clause.node is None and needs_node and node_lender is not None:
            clause.node = node_lender.node
            if explain:
                clause.notes.append(f"node: {clause.node}, from an earlier sentence")


def _only_versions(clause: Clause) -> bool:
    """A sentence that gives versions and asks nothing: "we're on 6.5.4" (but not "also,
    6.5.4?", which starts a question of its own)."""
    fresh = bool(clause.tokens) and clause.tokens[0].text in NEW_QUESTION
    return bool(clause.versions) and not _asks(clause) and not fresh


def _asks(clause: Clause) -> bool:
    return bool(clause.intents or clause.incident or clause.topics or clause.not_documented
                or clause.asks)


def _a_question(clause: Clause) -> bool:
    """The sentence ends with "?" or starts with a question word."""
    return any("?" in t.text for t in clause.tokens) or bool(
        clause.tokens and clause.tokens[0].text in QUESTION_WORDS)


def _asks_a_path(clause: Clause) -> bool:
    """The sentence asks an upgrade or restore question: it says upgrade or restore, or
    gives a version and where to go."""
    return bool({"upgrade", "restore"} & clause.intents.keys()) or any(
        s.version and s.target for s in clause.subjects)


def _about_pam(clean: str, clauses: list[Clause]) -> bool:
    """A question about PAM Server that nothing documented answers."""
    asking = "?" in clean or any(t.text in QUESTION_WORDS for c in clauses
                                 for t in c.tokens[:3])
    return asking and _names_pam(clauses)


def _names_pam(clauses: list[Clause]) -> bool:
    """Whether the message names anything of PAM Server's: a node, an upgrade, a backup,
    "pam", "appliance"... ("down" alone could be any system)."""
    return any(t.meaning and t.meaning[0] not in ("incident", "ask", "healthy", "part")
               for c in clauses for t in c.tokens)


def _as_said(tokens: list[Token]) -> str:
    """A sentence's words as its question text: "and is the mek in the backup ?" reads "is
    the mek in the backup?"."""
    words = [t.text for t in tokens]
    while words and (words[0] in NEW_QUESTION or words[0] in _CONJUNCTIONS
                     or not words[0][0].isalnum()):
        words.pop(0)
    return re.sub(r" (?=[?!.,;:])", "", " ".join(words))


def _clause_questions(clause: Clause) -> tuple[list[Query], list[Query]]:
    """(the questions this sentence asks, the upgrade it implies when it asks none)."""
    sentence = _as_said(clause.tokens)
    intents, subjects, excluded = clause.intents, clause.subjects, tuple(clause.excluded)
    versions = clause.versions

    def query(intent: str, version: str | None = None, target: str | None = None,
              **slots) -> Query:
        return Query(text=sentence, intent=intent, from_version=version, to_version=target,
                     excluded=excluded if intent in ("upgrade", "restore") else (), **slots)

    def upgrades(intent: str = "upgrade") -> list[Query]:
        return [query(intent, s.version, s.target) for s in subjects] or [query(intent)]

    def restore() -> Query:
        # "if we restore the PAM backup file, what happens to the followers?" (the engine
        # answers from the table first when versions say where from and to)
        pam_backup = clause.backup == "pam-backup" and not clause.incident
        # "a 6.1.2 backup and a new 7.2 server": in a restore, the second version is the target.
        target = None
        if not clause.incident:  # an outage is answered by node; an upgrade beside it, apart
            target = next((s.target for s in subjects if s.target), None)
            if target is None and len(versions) == 2:
                target = versions[1]
        if versions and target == versions[0]:
            target = None  # "a 7.2 backup onto a 7.2 server": a restore, not a move
        return query("restore", versions[0] if versions else None, target,
                     node=None if pam_backup else clause.node,
                     case="pam-backup" if pam_backup else None)

    if clause.not_documented and not clause.incident and (
            clause.not_documented_asked or not _asks_a_path(clause)):
        # "how long does 6.5.4 -> 7.2 take?" asks what the documentation does not say; but
        # "16 GB ram each, path to 7.4?" or "downtime is approved" only tell the context.
        return [query("fact", case="not-documented")], []
    fact = [query("fact", case=topic) for topic in dict.fromkeys(clause.topics)]
    moves = any(s.version and s.target and s.target != s.version for s in subjects)
    table = "upgrade" in intents or moves or (
        "required" in clause.asks and versions and clause.node is None)
    own: list[Query] = []
    if clause.incident and not (clause.topics and clause.node is None):
        # The restore answer covers what a topic named beside an outage asks about; but
        # "lost the MEK, can we still restore?" asks about the key.
        own.append(restore())
        if versions and (moves or "upgrade" in intents):
            own += [q for q in upgrades() if q.from_version]
        return own, []
    if table and versions:
        # A backup loaded onto a server is a restore, even "as part of the migration".
        restoring = (clause.onto or "restore" in intents and "upgrade" not in intents) \
            and not clause.backup_and_restore
        own = upgrades("restore" if restoring else "upgrade")
        return (fact + own if clause.topic_at < clause.asked_at else own + fact), []
    if fact:
        return fact, []
    if table:
        own = upgrades()
    elif "restore" in intents or clause.restore_asked:
        own = [restore()]
    elif "backup" in intents or clause.backup and _a_question(clause):
        own = [query("backup")]  # "how do I take a PAM server backup?"
    elif "help" in intents and not versions:
        own = [query("help")]
    return own, upgrades() if clause.has_versions and not own else []


def _near_miss(clean: str, vocabulary: Vocabulary) -> str | None:
    """`clean` with its first near-miss command word corrected ("upgarde" -> "upgrade")."""
    words = re.findall(r"\b[a-z]+(?:'[a-z]+)*\b", clean)[:_TYPO_SCAN_WORDS]
    for word in words:
        if len(word) < 4 or word in vocabulary.known or word in _GRAMMAR_WORDS:
            continue
        match = _closest_command(word)
        if match and match != word:
            said = " ".join(clean.split())
            corrected = re.sub(rf"\b{re.escape(word)}\b", match, said, count=1)
            if corrected != said:
                return corrected
    return None


@functools.lru_cache(maxsize=8192)
def _closest_command(word: str) -> str | None:
    """The command word `word` is a near miss of, if any. Cached: people repeat their typos."""
    match = difflib.get_close_matches(word, _COMMAND_WORDS, n=1, cutoff=0.75)
    return match[0] if match else None
