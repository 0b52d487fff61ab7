"""The vocabulary: which words and phrases mean which intent, incident, node, question kind
and topic. Rule data (rules/data/vocabulary.yaml), so an organisation adds its own jargon
without touching code.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

# The sections of the vocabulary: name -> (the slot it fills, the values it may have or
# None for one flat list). Topics are free names: each needs a `fact` rule with that case.
SECTIONS = {
    "intents": ("intent", ("upgrade", "restore", "backup", "help")),
    "incidents": ("incident", None),
    "nodes": ("node", ("leader", "follower", "cluster", "any")),
    "healthy": ("healthy", None),
    "asks": ("ask", ("required", "straight", "followers", "followers-fine", "possible")),
    "backups": ("backup", ("vm", "pam", "both", "none")),
    "topologies": ("topology", ("standalone", "cluster")),
    "topics": ("topic", ()),
    "not_documented": ("not_documented", ()),
    "domain": ("domain", None),
    "other_meanings": ("other", None),
}
# Not phrases: misspellings and sound-alikes, each one word read as the word it stands for.
SPELLINGS = "spellings"
# The section of each slot, for a meaning named "slot:value" ("node:leader", "incident").
SLOT_SECTIONS = {slot: section for section, (slot, _) in SECTIONS.items()}


def meaning_name(slot: str, value: str = "") -> str:
    """A meaning as `pambot rules check` and `pambot learn` name it: "node:leader",
    "backup:vm", "topic:ports", "incident" (a section of one flat list), "spelling:leader"."""
    return f"{slot}:{value}" if value else slot


# Topics and "not documented" kinds are what a question is about (each needs a `fact` rule
# with its name as the case); they may overlap the others
# ("upgrade the cluster" is an upgrade and a cluster-upgrade question).
QUESTION_SLOTS = frozenset({"topic", "not_documented"})
_WORD = r"(?:[a-z]+(?:'[a-z]+)*|[0-9]+)"
# Words separated by single spaces; in topics, "A ... B" is A followed by B within a few words.
_PHRASE = re.compile(rf"{_WORD}(?: {_WORD})*(?: \.\.\. {_WORD}(?: {_WORD})*)?")
# How many words may stand in a phrase's "...".
GAP = 6


@dataclass(frozen=True, eq=False)
class Vocabulary:
    """Phrases (tuples of words) and their meaning, (slot, value)."""

    phrases: dict[tuple[str, ...], tuple[str, str]] = field(default_factory=dict)
    questions: dict[tuple[str, ...], tuple[str, str]] = field(default_factory=dict)
    # Topic phrases with a gap: (words before "...", words after it, meaning).
    gapped: tuple[tuple[tuple[str, ...], tuple[str, ...], tuple[str, str]], ...] = ()
    topics: tuple[str, ...] = ()
    # The kinds of question the documentation does not answer ("rollback", "licensing").
    undocumented: tuple[str, ...] = ()
    longest: int = 1
    # Every word of every phrase: never taken for a typo of a command word.
    known: frozenset[str] = frozenset()
    # A misspelling or a sound-alike -> the word it stands for ("lieder" -> "leader").
    spellings: dict[str, str] = field(default_factory=dict)
    # The `vocabulary:` mapping this was built from, to build it again with more phrases.
    source: dict = field(default_factory=dict, repr=False)

    @functools.cached_property
    def starts(self) -> frozenset[str]:
        """The first words of phrases: only there can a phrase begin."""
        return frozenset(key[0] for key in (*self.phrases, *self.questions))

    @functools.cached_property
    def node_words(self) -> frozenset[str]:
        """One-word names of nodes: "follower-2" is a follower's host name, not a ticket key."""
        return frozenset(key[0] for key, (slot, _) in self.phrases.items()
                         if slot == "node" and len(key) == 1)

    @functools.cached_property
    def gap_starts(self) -> frozenset[str]:
        return frozenset(before[0] for before, _, _ in self.gapped)

    def gapped_at(self, texts: list[str | None],
                  start: int) -> tuple[list[int], tuple[str, str]] | None:
        """(the places of a gapped phrase's words, its meaning) for the first one that starts
        at `start`; its gap holds at most GAP words, and never a comma or a sentence end."""
        for before, after, meaning in self.gapped:
            if tuple(texts[start:start + len(before)]) != before:
                continue
            gap_at = start + len(before)
            rest = texts[gap_at:gap_at + GAP + len(after)]
            if None in rest:
                rest = rest[:rest.index(None)]
            for i in range(len(rest)):
                if tuple(rest[i:i + len(after)]) == after:
                    return ([*range(start, gap_at), *range(gap_at + i, gap_at + i + len(after))],
                            meaning)
        return None

    def longest_at(self, table, texts: list[str | None], start: int):
        """(length, meaning) of the longest phrase of `table` at `start`, or None."""
        words = texts[start:start + self.longest]
        if None in words:
            words = words[:words.index(None)]
        for length in range(len(words), 0, -1):
            meaning = table.get(tuple(words[:length]))
            if meaning is not None:
                return length, meaning
        return None


def build_vocabulary(data: object) -> tuple[Vocabulary, list[tuple[int | None, str]]]:
    """The vocabulary from a file's `vocabulary:` mapping, and every problem as (line, text)."""
    problems: list[tuple[int | None, str]] = []
    phrases: dict[tuple[str, ...], tuple[str, str]] = {}
    questions: dict[tuple[str, ...], tuple[str, str]] = {}
    gapped: list = []
    where: dict[tuple[str, ...], str] = {}
    topics: list[str] = []
    undocumented: list[str] = []
    line = getattr(data, "line", None)
    if not isinstance(data, dict):
        return Vocabulary(), [(line, "'vocabulary' must be a mapping of sections")]
    spellings = _spellings(data.get(SPELLINGS), problems, line)
    for section, value in data.items():
        if section == SPELLINGS:
            continue
        if section not in SECTIONS:
            problems.append((line, f"unknown vocabulary section {section!r} "
                             f"(allowed: {', '.join((SPELLINGS, *SECTIONS))})"))
            continue
        slot, allowed = SECTIONS[section]
        for meaning, words, at in _entries(section, value, allowed, problems, line):
            if slot == "topic":
                topics.append(meaning)
            elif slot == "not_documented":
                undocumented.append(meaning)
            table = questions if slot in QUESTION_SLOTS else phrases
            for phrase in words:
                if not isinstance(phrase, str) or not _PHRASE.fullmatch(phrase):
                    problems.append((at, f"vocabulary {section}: {phrase!r} must be lower-case "
                                     "words separated by single spaces"))
                    continue
                key = tuple(phrase.split(" "))
                if "..." in key and slot not in QUESTION_SLOTS:
                    problems.append((at, f"vocabulary {section}: {phrase!r}: '...' is for "
                                     "topics and not_documented only"))
                    continue
                name = meaning_name(slot, meaning)
                if key in where:
                    problems.append((at, f"vocabulary: {phrase!r} is claimed by {where[key]} "
                                     f"and {name}; a phrase may have one meaning only"))
                    continue
                where[key] = name
                if "..." in key:
                    gap = key.index("...")
                    gapped.append((key[:gap], key[gap + 1:], (slot, meaning)))
                else:
                    table[key] = (slot, meaning)
    longest = max((len(k) for k in (*phrases, *questions)), default=1)
    known = frozenset(word for key in (*phrases, *questions) for word in key if word != "...")
    duplicated = set(topics) & set(undocumented)
    if duplicated:
        problems.append((line, f"vocabulary: {', '.join(sorted(duplicated))} is both a topic and "
                         "something not documented"))
    for wrong, right in spellings.items():
        if wrong in known:
            problems.append((line, f"vocabulary spellings: {wrong!r} is a word of a phrase "
                             f"already; it cannot also stand for {right!r}"))
    return Vocabulary(phrases, questions, tuple(gapped), tuple(topics), tuple(undocumented),
                      longest, known, spellings, dict(data)), problems


def with_phrases(vocabulary: Vocabulary,
                 phrases: list[tuple[str, str]]) -> tuple[Vocabulary, list[str]]:
    """`vocabulary` with more (phrase, meaning) pairs, meanings named as `meaning_name` does;
    built and checked as the rule files are, so a phrase that already means something else,
    or a meaning that does not exist, is a problem (a line each) and nothing changes."""
    data = {section: (dict(value) if isinstance(value, dict) else list(value))
            for section, value in vocabulary.source.items()}
    problems: list[str] = []
    # A typo may stand for a word of the vocabulary, or of a phrase taught with it.
    known = vocabulary.known | {word for phrase, meaning in phrases
                                if not meaning.startswith("spelling:") for word in phrase.split()}
    for phrase, meaning in phrases:
        slot, _, value = meaning.partition(":")
        if slot == "spelling":
            if value not in known:
                problems.append(f"spelling:{value}: {value!r} is no word of the vocabulary")
                continue
            words = data.setdefault(SPELLINGS, {})
            words[value] = [*words.get(value, []), phrase]
            continue
        section = SLOT_SECTIONS.get(slot)
        names = _values(vocabulary, slot, SECTIONS[section][1] if section else None)
        if section is None or slot == "domain" and value or (
                names is None and value) or (names is not None and value not in names):
            problems.append(f"{meaning!r} is not a meaning of the vocabulary (see `pambot learn "
                            "--meanings`)")
            continue
        if names is None:
            data[section] = [*data.get(section, []), phrase]
        else:
            entries = data.setdefault(section, {})
            entries[value] = [*entries.get(value, []), phrase]
    if problems:
        return vocabulary, problems
    built, found = build_vocabulary(data)
    return (vocabulary, [message for _, message in found]) if found else (built, [])


def meaning_of(vocabulary: Vocabulary, phrase: str) -> str | None:
    """What `phrase` (lower-case words) means in `vocabulary`, named as `meaning_name` does;
    None if nothing.

    >>> from rules import default_ruleset
    >>> vocabulary = default_ruleset().vocabulary
    >>> meaning_of(vocabulary, "primary"), meaning_of(vocabulary, "lieder")
    ('node:leader', 'spelling:leader')
    """
    key = tuple(phrase.split())
    meaning = vocabulary.phrases.get(key) or vocabulary.questions.get(key)
    if meaning is not None:
        return meaning_name(*meaning)
    if len(key) == 1 and key[0] in vocabulary.spellings:
        return meaning_name("spelling", vocabulary.spellings[key[0]])
    return None


def meanings(vocabulary: Vocabulary) -> list[str]:
    """Every meaning a phrase can be given, named as `meaning_name` does."""
    names = []
    for slot, allowed in SECTIONS.values():
        values = _values(vocabulary, slot, allowed)
        names += [meaning_name(slot)] if values is None else [
            meaning_name(slot, value) for value in values]
    return names + [f"spelling:WORD ({len(vocabulary.known)} words)"]


def _values(vocabulary: Vocabulary, slot: str,
            allowed: tuple[str, ...] | None) -> tuple[str, ...] | None:
    """The values a meaning of `slot` may have: the vocabulary's own topics and undocumented
    kinds, else the section's fixed ones (`allowed`); None for a section of one flat list."""
    return (vocabulary.topics if slot == "topic" else
            vocabulary.undocumented if slot == "not_documented" else allowed)


def _spellings(value: object, problems: list, line: int | None) -> dict[str, str]:
    """The `spellings` section: word -> its misspellings, as misspelling -> word."""
    if value is None:
        return {}
    at = getattr(value, "line", line)
    if not isinstance(value, dict):
        problems.append((at, "vocabulary spellings must be a mapping of words to misspellings"))
        return {}
    found: dict[str, str] = {}
    for word, wrongs in value.items():
        if not isinstance(word, str) or not re.fullmatch(r"[a-z]+", word) or not (
                isinstance(wrongs, list) and wrongs):
            problems.append((at, f"vocabulary spellings.{word}: a lower-case word and a list "
                             "of its misspellings"))
            continue
        for wrong in wrongs:
            if not isinstance(wrong, str) or not re.fullmatch(r"[a-z]+(?:'[a-z]+)*", wrong):
                problems.append((at, f"vocabulary spellings.{word}: {wrong!r} must be one "
                                 "lower-case word"))
            elif wrong in found:
                problems.append((at, f"vocabulary spellings: {wrong!r} stands for both "
                                 f"{found[wrong]!r} and {word!r}"))
            else:
                found[wrong] = word
    return found


def _entries(section, value, allowed, problems, line) -> Iterator[tuple[str, list, int | None]]:
    """(meaning, phrases, line) for each list in a section, reporting shapes that are wrong."""
    at = getattr(value, "line", line)
    if allowed is None:
        if isinstance(value, list):
            yield "", value, at
        else:
            problems.append((at, f"vocabulary {section} must be a list of phrases"))
        return
    if not isinstance(value, dict):
        problems.append((at, f"vocabulary {section} must be a mapping of names to phrases"))
        return
    for meaning, words in value.items():
        if allowed and meaning not in allowed:
            problems.append((at, f"unknown vocabulary {section} name {meaning!r} "
                             f"(allowed: {', '.join(allowed)})"))
        elif not isinstance(words, list) or not words:
            problems.append((at, f"vocabulary {section}.{meaning} must be a list of phrases"))
        else:
            yield str(meaning), words, at
