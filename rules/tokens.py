"""Step 2 of reading a message: cut the tidied text into typed tokens (`tokenize`), mark
the vocabulary's phrases on them (`mark`), and split them into sentences (`sentences`). A
number is a PAM version only when it has the shape and the context of one; IP addresses,
dates, times, ticket keys and counts are tokens of their own.

    >>> [t.kind for t in tokenize("upgrade 6.5.4 on 10.0.0.5 (inc-12)", Vocabulary())]
    ['word', 'version', 'word', 'ip', 'comma', 'ticket']
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rules.tidy import NOISE_WORDS
from rules.vocabulary import Vocabulary

_TOKEN = re.compile(
    r"(?P<ip>(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?:\.\d+)*(?![\w.]*\w))"
    r"|(?P<date>(?<![\w./-])(?:\d{4}-\d{1,2}-\d{1,2}|\d{1,2}/\d{1,2}(?:/\d{2,4})?"
    r"|\d{1,2}\.\d{1,2}\.\d{4})(?![\w/]))"
    r"|(?P<time>(?<![\w.:])(?:\d{1,2}:\d{2}(?::\d{2})?(?: ?[ap]m)?|\d{1,2}(?:\.\d{2})? ?[ap]m)"
    r"(?!\w))"
    r"|(?P<ticket>(?<![\w-])[a-z][a-z0-9]*-\d+(?![\w-]))"
    r"|(?P<version>(?<![\w.])v?\d+(?:\.\d+)*(?:\.[x*])?(?!\w))"
    r"|(?P<word>[a-z]+(?:'[a-z]+)*)"
    r"|(?P<arrow>->)"
    r"|(?P<stop>[.?!;:]+(?=[\s,)]|$)|\n)"
    r"|(?P<comma>[,(]|&|\+(?=\s)|(?<=\s)[-\u2013\u2014/|](?=\s))"
)
# Words after which a bare number ("upgrade 7") is a version, not a count.
_NUMBER_CUES = frozenset({
    "upgrade", "upgrading", "update", "pam", "version", "release", "osirium", "to", "from",
    "onto", "into", "v", "on", "ver", "latest",
})
# Other software whose version people give beside PAM's: "hosted on ESXi 7.0".
OTHER_PRODUCTS = frozenset({
    "esxi", "vsphere", "vcenter", "vmware", "hyperv", "linux", "ubuntu", "debian", "centos",
    "rhel", "redhat", "windows", "kernel", "python", "python3", "postgres", "postgresql",
    "psql", "java", "openssl", "openssh", "etcd", "docker", "kubernetes", "k8s", "nginx",
    "tls", "ssl", "iso", "chrome", "firefox", "edge", "ios", "android", "sql", "mysql",
    "aos", "nutanix", "veeam", "commvault", "rubrik", "cohesity", "terraform", "tf",
    "ansible", "powershell", "ahv", "hyper", "rocky", "alma", "rhel8", "rhel9",
})
COUNT_NOUNS = frozenset({
    "node", "nodes", "follower", "followers", "server", "servers", "cluster", "clusters",
    "vm", "vms", "user", "users", "site", "sites", "hour", "hours", "hrs", "h", "day",
    "days", "minute", "minutes", "mins", "min", "week", "weeks", "times", "people",
    "leaders", "instances", "boxes", "appliances", "am", "pm", "gb", "tb", "cpu", "cpus",
})
_MONTHS = frozenset({
    "jan", "january", "feb", "february", "mar", "march", "apr", "april", "may", "jun",
    "june", "jul", "july", "aug", "august", "sep", "sept", "september", "oct", "october",
    "nov", "november", "dec", "december", "st", "nd", "rd", "th",
})
# A sentence that starts one of these is a new question: "leader died. also, 6.5.4?".
NEW_QUESTION = frozenset({"also", "btw", "additionally", "separately", "unrelated", "plus"})
# Words that make a sentence a question ("what OS is the appliance on?").
QUESTION_WORDS = frozenset({
    "what", "what's", "whats", "which", "when", "how", "can", "could", "does", "do", "is",
    "are", "should", "will", "would", "why", "where", "who", "any", "whether",
})


# Yes/no questions: an auxiliary first (after greetings and fillers), or a tag at the end.
AUXILIARIES = frozenset({
    "is", "are", "was", "were", "will", "would", "do", "does", "did", "can", "could",
    "should", "must", "shall", "has", "have", "had", "isn't", "aren't", "won't", "wouldn't",
    "don't", "doesn't", "didn't", "can't", "cannot", "couldn't", "shouldn't", "mustn't", "am",
    "may", "might", "dont", "doesnt", "cant", "wont", "isnt",
})
WH_WORDS = frozenset({"what", "what's", "whats", "which", "how", "why", "when", "where",
                       "who", "whether"})
LEADING = frozenset({
    "so", "ok", "okay", "and", "but", "also", "quick", "question", "q", "hi", "hey", "hello",
    "just", "then", "right", "well", "sorry", "like", "basically", "team", "all", "folks",
    "guys", "btw", "anyway", "alright", "now", "yes", "no", "oh", "actually", "pambot",
    "hmm", "one", "last", "thing", "follow", "up",
})


@dataclass(slots=True)
class Token:
    """One typed piece of a message. `meaning` is (slot, value) for a vocabulary phrase."""

    kind: str  # word, version, ip, date, time, ticket, count, number, arrow, stop, comma
    text: str
    meaning: tuple[str, str] | None = None
    note: str = ""
    # A topic or "not documented" phrase this word starts (or is "part" of).
    question: tuple[str, str] | None = None
    # Where the token is in the tidied text, to quote a question as it was written.
    start: int = 0
    end: int = 0


def tokenize(clean: str, vocabulary: Vocabulary) -> list[Token]:
    tokens: list[Token] = []
    known, spellings = vocabulary.known, vocabulary.spellings
    for match in _TOKEN.finditer(clean):
        kind = match.lastgroup
        piece = match.group()
        start, end = match.span()
        if kind == "word":
            if piece in NOISE_WORDS:
                continue
            piece = spellings.get(piece, piece)  # "the lieder died": the leader
        if kind == "version":
            token = _number(piece, tokens)
            token.start, token.end = start, end
            tokens.append(token)
        elif kind == "stop":
            tokens.append(Token("stop", piece.strip() or "¶", start=start, end=end))
        elif kind == "word" and piece.endswith("'s") and piece not in known \
                and piece[:-2] in known:
            tokens.append(Token("word", piece[:-2], start=start, end=end))  # "leader's disk"
        elif kind == "ticket" and piece.split("-")[0] in vocabulary.node_words:
            name, number = piece.split("-", 1)  # a host name: "follower-2"
            tokens += [Token("word", name, start=start, end=start + len(name)),
                       Token("number", number, note="part of a name", start=start, end=end)]
        else:
            tokens.append(Token(kind, piece, start=start, end=end))
    # A bare number followed by a count noun ("3 node cluster") is a count; by a month, a date.
    for index, token in enumerate(tokens[:-1]):
        following = tokens[index + 1]
        if token.kind == "version" and following.text in ("row", "rows"):
            token.kind, token.note = "number", "the name of a table row"  # "the 6.5.4 row"
        elif token.kind == "number" and token.text.isdigit() and len(token.text) <= 2 \
                and following.text in ("version", "release", "line", "series"):
            token.kind, token.note = "version", ""  # "some old 5 version"
        elif token.kind in ("version", "number") and token.text.isdigit() \
                and following.kind == "word":
            if following.text in COUNT_NOUNS:
                token.kind, token.note = "count", f"a count of {following.text}"
            elif following.text in _MONTHS:
                token.kind, token.note = "date", f"a day of {following.text}"
    return mark(tokens, vocabulary)


def mark(tokens: list[Token], vocabulary: Vocabulary) -> list[Token]:
    """Put each phrase's meaning on its first word (the rest marked as part of it),
    longest phrase first; topics are marked alongside, in `question`, where a gapped phrase
    ("how often ... backup") wins over a plain one starting at the same word."""
    texts = [t.text if t.kind in ("word", "number", "count") else None for t in tokens]
    for table, attribute in ((vocabulary.phrases, "meaning"), (vocabulary.questions, "question")):
        index = 0
        while index < len(tokens):
            places: list[int] = []
            if getattr(tokens[index], attribute) is not None:  # the end of a gapped phrase
                index += 1
                continue
            if attribute == "question" and texts[index] in vocabulary.gap_starts:
                gapped = vocabulary.gapped_at(texts, index)
                if gapped is not None:
                    places, meaning = gapped
            if not places and texts[index] in vocabulary.starts:
                found = vocabulary.longest_at(table, texts, index)
                if found is not None:
                    places, meaning = list(range(index, index + found[0])), found[1]
            if not places:
                index += 1
                continue
            setattr(tokens[index], attribute, meaning)
            for place in places[1:]:
                setattr(tokens[place], attribute, ("part", ""))
            run = 1  # the words from `index` on that belong to the phrase (not its gap)
            while run < len(places) and places[run] == index + run:
                run += 1
            index += run
    return tokens


def _number(piece: str, before: list[Token]) -> Token:
    """A dotted number as a PAM version, or a plain number saying why it is not one."""
    prefixed = piece.startswith("v")
    digits = piece[1:] if prefixed else piece
    wildcard = digits.endswith((".x", ".*"))
    parts = digits.removesuffix(".x").removesuffix(".*").split(".")
    previous = before[-1].text if before else ""
    cued = prefixed or previous in _NUMBER_CUES or (before and before[-1].kind == "arrow")
    if previous in OTHER_PRODUCTS:
        return Token("number", piece, note=f"{previous}'s version, not PAM's")
    if len(parts) > 3:
        return Token("number", piece, note="more than three parts: not a PAM version")
    if len(parts[0]) > 2:
        return Token("number", piece, note="a PAM version's first part has one or two digits")
    if any(len(p) > 1 and p.startswith("0") for p in parts):
        return Token("number", piece, note="a part with a leading zero: a date or a time")
    if len(parts) == 2 and len(parts[1]) == 2 and not cued:
        return Token("number", piece, note="two digits after the point: a date or a time "
                     "(12.03, 22.00), not a PAM version")
    if len(parts) == 1 and not wildcard and not cued:
        return Token("number", piece, note="a bare number with no version word before it")
    version = ".".join(parts) + (".x" if wildcard else "")
    return Token("version", version)


def _a_label(sentence: list[Token]) -> bool:
    """A sentence so far of one or two words, as before the colon of "target: 7.2"."""
    words = [t for t in sentence if t.kind != "comma"]
    return 0 < len(words) <= 2 and all(t.kind == "word" for t in words)


def sentences(tokens: list[Token]) -> list[list[Token]]:
    """Split at sentence ends and at words that start a new question ("also", "btw")."""
    sentences: list[list[Token]] = [[]]
    for index, token in enumerate(tokens):
        following = tokens[index + 1].text if index + 1 < len(tokens) else ""
        if token.text == ":" and _a_label(sentences[-1]):
            continue  # "target: 7.2", "current: 6.5.4": the label and its value are one
        if token.kind == "stop" or (token.kind == "word" and sentences[-1] and (
                (token.text in NEW_QUESTION and token.meaning is None)
                or (token.text in ("and", "or") and following in QUESTION_WORDS))):
            if token.kind == "stop" and "?" in token.text and sentences[-1]:
                sentences[-1].append(token)  # the sentence was a question
            if sentences[-1]:
                sentences.append([])
            if token.kind == "stop":
                continue
        sentences[-1].append(token)
    return [s for s in sentences if s] or [[]]
