"""Learning the words a site uses, from what pambot could not read: pure, like the engine.

- `unknown_words`: the words of a question the vocabulary does not know, each with the
  meanings it may have: by spelling (a near miss of a known word: "fllower") or by where it
  stands (a nickname where a node or a backup kind is expected: "pdc died").
- `group`: one question asked many ways is one group ("pdc is down", "PDC down!!").
- `learned_ruleset`: the rules with learned phrases merged over their vocabulary, checked
  as the rule files are; learning changes how words are read, never a rule.
- `replay` and `changes`: the logged questions answered by two rule sets, and which answers
  differ (`pambot rules diff`, `pambot learn --dry-run`).

    >>> from rules import default_ruleset
    >>> rules = default_ruleset()
    >>> [(w.word, w.meanings[:1]) for w in unknown_words("pdc died", rules.vocabulary)]
    [('pdc', ['node:leader'])]
    >>> learned = learned_ruleset(rules, [("pdc", "node:leader")])
    >>> [c.question for c in changes(rules, learned, {"pdc died": 3, "upgrade 6.5.4": 9})]
    ['pdc died']
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from rules.check import Problem, check_whole_set
from rules.engine import answer
from rules.load import RuleFileError
from rules.model import Answer
from rules.ruleset import RuleSet
from rules.slots import GRAMMAR_WORDS
from rules.tidy import NOISE_WORDS, normalize
from rules.tokens import LEADING, QUESTION_WORDS, Token, tokenize
from rules.vocabulary import meaning_name, meaning_of, with_phrases

# Words of plain English that are no jargon to learn.
_COMMON_WORDS = """
a an the and or but if of in on at to for from by with about as into onto over after before
during since until while than then so too very just only also not no yes ok okay please
i we you he she it they me us them my our your his her its their mine ours this that these
those there here what when where which who why how all any both each every some none more
most other another such own same can could will would shall should may might must do does
did done doing be is are was were been being have has had having get got gets getting go
goes going gone make made need needs want wants know think see look looks seem seems say
said tell told ask asked try tried use used now today tonight yesterday tomorrow morning
night week again still already yet soon last next new old good bad fine really sure thing
things way one two three four five six seven eight nine ten first second third hi hey
hello thanks thank team guys folks someone anyone everyone something anything nothing
"""
_COMMON = frozenset(_COMMON_WORDS.split())
# Words after which a nickname names a node: "pdc died", "pdc is down", "restore pdc".
_NODE_BEFORE = frozenset({"restore", "restoring", "reinstate", "rebuild", "recover"})
_BACKUP_AFTER = frozenset({"backup", "backups", "job", "jobs", "copy", "copies", "image",
                           "snapshot", "snapshots"})
# How alike two questions must be to be one question asked two ways (rapidfuzz's
# token_sort_ratio, 0-100): "the pdc is down" and "pdc is down" are 84.6.
SAME_QUESTION = 80


@dataclass(frozen=True)
class UnknownWord:
    """A word the vocabulary does not know, the meanings it may have, and why."""

    word: str
    meanings: list[str]
    why: str


@dataclass(frozen=True)
class Group:
    """One question asked many ways: its wordings with how often each was asked."""

    questions: list[tuple[str, int]]
    count: int
    last_asked: str

    @property
    def question(self) -> str:
        """The wording asked most."""
        return self.questions[0][0]


@dataclass(frozen=True)
class Change:
    """A logged question whose answer differs between two rule sets."""

    question: str
    asked: int
    before: Answer
    after: Answer


def phrase_of(text: str) -> str:
    """A phrase as pambot reads it: lower-case words, as the tokenizer sees them
    ("PDC-1" and "pdc1" read "pdc": a host name is read by its name once that names a node)."""
    words = re.findall(r"[a-z]+(?:'[a-z]+)*|(?<![a-z0-9])(?<![a-z]-)[0-9]+", normalize(text))
    return " ".join(words)


def everyday(phrase: str) -> bool:
    """True if every word of `phrase` is plain English or grammar pambot reads ("the", "is
    not"): taught, it would be read in most questions.

    >>> everyday("the"), everyday("is not"), everyday("pdc"), everyday("the pdc")
    (True, True, False, False)
    """
    return all(_plain_english(word) for word in phrase.split())


def _plain_english(word: str) -> bool:
    """A word of plain English or of the grammar pambot reads: no jargon to teach."""
    return (word in _COMMON or word in GRAMMAR_WORDS or word in QUESTION_WORDS
            or word in LEADING or word in NOISE_WORDS)


def unknown_words(question: str, vocabulary) -> list[UnknownWord]:
    """The words of `question` the vocabulary does not know, with what each may mean."""
    text = normalize(question)
    tokens = tokenize(text, vocabulary)
    words = {key[0]: meaning for key, meaning in vocabulary.phrases.items() if len(key) == 1}
    found: dict[str, UnknownWord] = {}
    for index, token in enumerate(tokens):
        if token.kind == "ticket":  # a host name: "pdc-1 is down"
            token = Token("word", token.text.split("-")[0])
        word = token.text
        if not _unknown(token, vocabulary) or word in found:
            continue
        lettered = _lettered_host(text, tokens, index)
        if lettered is not None:  # "vault-a": the host, not every vault-something
            where = _where(tokens, index + 1)
            if where is not None:
                found[lettered] = UnknownWord(lettered, *where)
                continue
        close = _typo_of(word, words)
        if close:
            found[word] = UnknownWord(word, [meaning_name(*words[close]), f"spelling:{close}"],
                                      f"spelt like {close!r}")
            continue
        where = _where(tokens, index)
        if where is not None:
            found[word] = UnknownWord(word, *where)
    return list(found.values())


def _lettered_host(text: str, tokens: list[Token], index: int) -> str | None:
    """ "vault a" for the host name "vault-a" (a name, a hyphen, one letter); else None."""
    token = tokens[index]
    after = tokens[index + 1] if index + 1 < len(tokens) else None
    if (after is not None and after.kind == "word" and len(after.text) == 1
            and text[token.end:after.start] == "-"):
        return f"{token.text} {after.text}"
    return None


def _unknown(token: Token, vocabulary) -> bool:
    word = token.text
    return (token.kind == "word" and token.meaning is None and token.question is None
            and len(word) > 1 and word not in vocabulary.known and not _plain_english(word))


def _typo_of(word: str, words) -> str | None:
    """The known word `word` is a slip of the finger for: one letter added, dropped or
    changed, or two swapped ("fllower", "upgarde"), in a word of five letters or more. Only
    that: an English word two letters from a known one is no typo ("customer" is not
    "cluster", "store" not "restore")."""
    if len(word) < 5:  # "dr", "host": too short to tell a slip from another word ("lost")
        return None
    found = process.extractOne(word, list(words), scorer=OSA.distance, score_cutoff=1)
    return found[0] if found else None


def _where(tokens: list[Token], index: int) -> tuple[list[str], str] | None:
    """The meanings a word may have from where it stands: before an outage word or after
    "restore", a node; before "backup" or "snapshot", a backup kind."""
    after = [t for t in tokens[index + 1:index + 4] if t.kind == "word"]
    before = [t.text for t in tokens[max(0, index - 2):index]]
    if after and after[0].text in _BACKUP_AFTER:  # "nimbus backup failed", "restore acme snapshot"
        return (["backup:vm", "backup:pam"],
                f"stands where a kind of backup is named, before {after[0].text!r}")
    outage = next((t.text for t in after[:2] if t.meaning and t.meaning[0] == "incident"),
                  None)
    restoring = next((word for word in before if word in _NODE_BEFORE), None)
    if outage or restoring:
        what = f"before {outage!r}" if outage else f"after {restoring!r}"
        return (["node:leader", "node:follower", "node:cluster"],
                f"stands where a node is named, {what}")
    return None


def group(asked: Iterable[tuple[str, int, str]]) -> list[Group]:
    """Questions (text, times asked, last asked) in groups of one question asked many ways,
    most asked first. Two wordings (as `phrase_of` reads them) are one question when they
    have the same numbers (versions, host numbers) and words alike in any order, with few
    left over ("restore" and "restore the pdc from last night's snapshot" are two)."""
    groups: list[tuple[list[tuple[str, int]], str]] = []  # (wordings, last asked)
    # The first wording of each group, by the numbers in it (only those can match), and
    # the group's place: each wording is compared with them in one rapidfuzz call.
    firsts: dict[tuple[str, ...], tuple[list[str], list[int]]] = {}
    for text, count, last in sorted(asked, key=lambda row: -row[1]):
        key = phrase_of(text)
        keys, places = firsts.setdefault(tuple(re.findall(r"[0-9]+", key)), ([], []))
        match = process.extractOne(key, keys, scorer=fuzz.token_sort_ratio,
                                   score_cutoff=SAME_QUESTION)
        if match is None:
            keys.append(key)
            places.append(len(groups))
            groups.append(([(text, count)], last))
        else:
            wordings, seen = groups[places[match[2]]]
            wordings.append((text, count))
            groups[places[match[2]]] = (wordings, max(seen, last))
    made = [Group(wordings, sum(n for _, n in wordings), last) for wordings, last in groups]
    return sorted(made, key=lambda g: (-g.count, g.question))


def learned_ruleset(ruleset: RuleSet, learned: Iterable[tuple[str, str]]) -> RuleSet:
    """`ruleset` reading words with the learned (phrase, meaning) pairs too (those its
    vocabulary already gives the same meaning are left out); its version names them, so an
    answer says which words it was read with. Raises RuleFileError with every problem, as
    loading the rule files does."""
    learned = not_in_rules(ruleset, learned)
    if not learned:
        return ruleset
    vocabulary, problems = with_phrases(ruleset.vocabulary, learned)
    if not problems:  # the proofs hold for the merged set, as `pambot rules check` shows
        _, found = check_whole_set(list(ruleset.rules), dict(ruleset.sources), vocabulary,
                                   "the rules")
        problems = [str(p) for p in found]
    if problems:
        raise RuleFileError([Problem("the learned phrases", None, p) for p in problems])
    digest = hashlib.sha256(repr(sorted(learned)).encode()).hexdigest()[:6]
    return replace(ruleset, vocabulary=vocabulary, version=f"{ruleset.version}+{digest}",
                   origin=f"{ruleset.origin} with {len(learned)} learned phrase(s)")


def not_in_rules(ruleset: RuleSet,
                 learned: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The learned (phrase, meaning) pairs the rule files do not give that meaning already
    (an exported vocabulary kept in git is read from the files: merged again, each phrase
    would be claimed twice)."""
    return [(phrase, meaning) for phrase, meaning in learned
            if meaning_of(ruleset.vocabulary, phrase) != meaning]


def replay(ruleset: RuleSet, questions: Iterable[str]) -> dict[str, Answer]:
    """Each distinct question's answer from `ruleset`."""
    return {q: answer(q, ruleset) for q in dict.fromkeys(questions)}


def changes(old: RuleSet, new: RuleSet, asked: Mapping[str, int] | Counter) -> list[Change]:
    """The logged questions (text -> times asked) whose answers differ between two rule sets,
    most asked first. Answers are compared as a person reads them: the rule, what was read
    of the situation, the verdict."""
    before, after = replay(old, asked), replay(new, asked)
    found = [Change(q, asked[q], before[q], after[q]) for q in before
             if _meaning(before[q]) != _meaning(after[q])]
    return sorted(found, key=lambda c: (-c.asked, c.question))


def _meaning(result: Answer) -> tuple:
    return (result.rule, result.outcome, result.verdict, result.node, result.backup,
            result.topology, result.from_version, result.to_version, result.short_answer,
            tuple(a.rule for a in result.also))
