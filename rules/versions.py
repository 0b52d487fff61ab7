"""Which version is which in a sentence: the current one, the target, one said not to be
the one, one quoted from the documentation. `VersionReader` reads them from the grammar
words just before each version ("from", "to", an arrow, "not", "the table says", "the new
server is"), token by token, as `rules.slots` reads the sentence."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from rules.tokens import AUXILIARIES, WH_WORDS, Token

# Versions read from one message at most; a paste of a version table is not a question.
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
NEGATIONS = frozenset({
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
# "new server is 7.5.3": after these, the next version is where a backup goes.
_NEW = frozenset({"new", "replacement", "rebuilt"})
_SERVERS = frozenset({"server", "servers", "box", "vm", "leader", "appliance", "node",
                      "instance", "machine", "host", "install", "deployment", "site"})


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


class Sentence(Protocol):
    """What the reader fills in: the sentence's versions and what it says of them."""

    subjects: list[Subject]
    excluded: list[str]
    onto: bool
    labelled: bool
    backups: list[str]


def share_target(subjects: list[Subject], note) -> None:
    """"6.1.4, 6.5.4 and 7.2 - which need a restore to get to 7.5?": a target after a list
    of versions is where each of them goes."""
    if len(subjects) > 1 and subjects[-1].target and subjects[-1].version \
            and not any(s.target for s in subjects[:-1]):
        for subject in subjects[:-1]:
            subject.target = subjects[-1].target
        note(f"{subjects[-1].target}: the target of every version listed before it")


class VersionReader:
    """Gives each version its role from the grammar words just before it.

    "from X to Y", "to Y from X", "X -> Y", "on X": a label counts when it stands right
    before the version (a few filler words such as "the latest" may come between); "not X"
    excludes X; "X and Y" or "X, Y" are two installations; "X Y" is from X to Y.
    """

    def __init__(self, clause: Sentence, note) -> None:
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
                    self.previous[-3:]) and not WH_WORDS.union(AUXILIARIES).intersection(
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
            elif text in NEGATIONS:
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


# The grammar words of versions: a near miss of a command word is never taken for one.
VERSION_WORDS = _FROM_WORDS | _TO_WORDS | NEGATIONS | _FILLERS | CONJUNCTIONS
