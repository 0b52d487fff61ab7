"""Teaching pambot a site's words, the same from the command line (`pambot log review`,
`pambot learn`) and from Slack (the admin's App Home, "Words to teach" and its "Teach"):

- `review_groups`: what pambot could not read well, grouped, with the words to teach it;
- `plan`: a phrase and its meaning checked against the rules in force and the phrases taught
  so far, as the rule files are checked (`Refused` says why not, in one line).

    >>> from rules import default_ruleset
    >>> rows = [("pdc died", 3, "2026-12-01T09:00:00.000Z", "unknown"),
    ...         ("PDC died!!", 1, "2026-12-02T10:00:00.000Z", "unknown"),
    ...         ("upgrade 6.5.4", 2, "2026-12-02T11:00:00.000Z", "not-helpful")]
    >>> [(g["question"], g["asked"], [w["word"] for w in g["unknown_words"]])
    ...  for g in review_groups(rows, default_ruleset())]
    [('pdc died', 4, ['pdc']), ('upgrade 6.5.4', 2, [])]
    >>> rows.append(("the pdc is down, what now?", 2, "2026-12-02T12:00:00.000Z", "unknown"))
    >>> [(g["question"], g["asked"]) for g in review_groups(rows, default_ruleset())]
    [('pdc died', 6), ('upgrade 6.5.4', 2)]
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bot.querylog.learned import Learned
from bot.querylog.read import REVIEW_REASONS
from rules import RuleFileError, RuleSet, answer
from rules.learning import everyday, group, learned_ruleset, phrase_of, unknown_words
from rules.vocabulary import meaning_of, meanings

DID_YOU_MEAN = "did you mean, not taken"


def review_groups(rows: Iterable[tuple[str, int, str, str]], ruleset: RuleSet) -> list[dict]:
    """The groups of `rows` (text, times asked, last asked, reason key: see
    `bot.querylog.read.review_rows`), most asked first, each with its wordings, why it is
    up for review and the words the vocabulary does not know.

    One question asked many ways is one group: wordings alike (`rules.learning.group`), or
    wordings whose unknown words are the same ("pdc died", "the pdc is down, what now?"),
    which one phrase taught reads. A group `ruleset` (the rules in force, with the phrases
    taught) now reads is left out, unless someone voted it not helpful: the review is what
    is left to teach."""
    asked: dict[str, tuple[int, str]] = {}
    reasons: dict[str, set[str]] = {}
    for text, count, last, why in rows:  # a question may be up for two reasons
        n, seen = asked.get(text, (0, ""))
        asked[text] = (max(n, count), max(seen, last))
        reasons.setdefault(text, set()).add(REVIEW_REASONS[why])
    merged: dict[object, dict] = {}
    for g in group((text, n, last) for text, (n, last) in asked.items()):
        answers = {text: answer(text, ruleset) for text, _ in g.questions}
        why = {r for text, _ in g.questions for r in reasons[text]}
        if REVIEW_REASONS["not-helpful"] not in why and all(
                a.outcome not in ("unknown", "clarify") for a in answers.values()):
            continue  # read now, thanks to what was taught since
        if any(a.suggestion for a in answers.values()) and REVIEW_REASONS["unknown"] in why:
            why = (why - {REVIEW_REASONS["unknown"]}) | {DID_YOU_MEAN}
        words: dict[str, dict] = {}
        for text, _ in g.questions:
            for w in unknown_words(text, ruleset.vocabulary):
                words.setdefault(w.word, {"word": w.word, "meanings": w.meanings, "why": w.why})
        key = frozenset(words) or g.question
        same = merged.setdefault(key, {"questions": [], "why": set(), "words": {},
                                       "last_asked": ""})
        same["questions"] += g.questions
        same["why"] |= why
        same["words"] = {**words, **same["words"]}
        same["last_asked"] = max(same["last_asked"], g.last_asked)
    found = []
    for same in merged.values():
        questions = sorted(same["questions"], key=lambda q: -q[1])
        found.append({
            "question": questions[0][0], "asked": sum(n for _, n in questions),
            "last_asked": same["last_asked"], "why": sorted(same["why"]),
            "questions": [{"text": text, "asked": n} for text, n in questions],
            "unknown_words": list(same["words"].values()),
        })
    return sorted(found, key=lambda g: (-g["asked"], g["question"]))


class Refused(Exception):
    """A phrase pambot cannot learn as asked; the message says why in one line, `about`
    names what is wrong with it: the "phrase" or the "meaning"."""

    def __init__(self, message: str, *, about: str = "phrase") -> None:
        super().__init__(message)
        self.about = about


@dataclass(frozen=True)
class Plan:
    """A phrase to teach (as pambot reads it), its meaning, and the rules before and after."""

    phrase: str
    meaning: str
    before: RuleSet
    after: RuleSet


def plan(base: RuleSet, taught: Mapping[str, Learned], said: str, meaning: str) -> Plan | None:
    """What teaching `said` as `meaning` does to `base` (the rule files in force) with the
    phrases `taught` so far; None if it already means that (taught, or in the rule files).
    Raises Refused: a phrase that means something else already (in the rule files, or taught
    before), a meaning that does not exist, a merged set the checker's proofs no longer hold
    for."""
    phrase = phrase_of(said)
    if not phrase:
        raise Refused(f"{said!r} has no word pambot reads: give letters or digits")
    meaning = meaning.strip()
    if not re.search(r"[a-z]", phrase):
        raise Refused(f"cannot learn {said!r}: versions and numbers are read as such; teach a "
                      "name (a host, a nickname, a product)")
    if not meaning.startswith("spelling:") and meaning not in meanings(base.vocabulary):
        raise Refused(f"cannot learn {phrase!r} as {meaning}: {meaning!r} is not a meaning of "
                      "the vocabulary (see `pambot learn --meanings`)", about="meaning")
    pairs = [(p.phrase, p.meaning) for p in taught.values()]
    known = meaning_of(base.vocabulary, phrase)
    if known == meaning:
        return None  # the rule files say so already
    if phrase in taught:
        row = taught[phrase]
        if row.meaning == meaning:
            return None
        raise Refused(f"cannot learn {phrase!r} as {meaning}: it was taught as {row.meaning} "
                      f"by {row.who or 'someone'} on {row.ts[:10]}; forget it first "
                      f"(pambot learn --forget {phrase!r})")
    if known is not None:
        raise Refused(f"cannot learn {phrase!r} as {meaning}: it already means {known} in "
                      f"the rule files ({base.origin})")
    if everyday(phrase):
        raise Refused(f"cannot learn {phrase!r}: everyday words, in most questions; teach a "
                      "word of your site's own (a host name, a nickname, a product)")
    try:
        before = learned_ruleset(base, pairs)
    except RuleFileError as exc:
        raise Refused(f"the phrases taught do not fit the rules in force: {exc}") from None
    try:
        after = learned_ruleset(base, [*pairs, (phrase, meaning)])
    except RuleFileError as exc:
        reason = exc.problems[0].message if exc.problems else str(exc)
        raise Refused(f"cannot learn {phrase!r} as {meaning}: {reason}") from None
    return Plan(phrase, meaning, before, after)
