"""A conversation: what a thread has established so far, and how its next message reads.

Pure, like the engine. Whoever holds the conversation (a Slack thread in SQLite, the local
shell in memory) keeps the `Context` and hands it back with the next message; `read` says
which question that message asks, and `Context.after` what the thread knows once it is
answered.

    >>> from rules import answer
    >>> context = Context().after(answer("restore"))
    >>> read("leader", context).question
    'restore leader'
    >>> read("2", context).question
    'restore follower'
    >>> read("and the followers?", Context().after(answer("upgrade 6.5.4"))).question
    'upgrade 6.5.4 in a cluster'
    >>> read("lol same", context, only_answers=True) is None
    True

A message reads as one of:

- a pick of the open question's choices: its number ("2") or its label ("whole cluster");
- an answer to the open question: the missing node ("leader", "the follower died") after
  "which node failed?", the missing version ("we're on 6.5.4", "7.2") after "which
  version are you on?";
- a question completed from the thread (only where it lacks what the thread already
  said): "and the followers?" after an answer about 6.5.4, "to 7.2?" after "upgrade 6.5.4";
- else the question as typed.

A completed question is written out in full (`question_for`), the way a person would ask
it, so it is answered, logged and put on buttons like any other question.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from rules.load import default_ruleset
from rules.model import BACKUPS, NODES, TOPOLOGIES, Answer, Choice, question_for
from rules.parse import Message, parse_message
from rules.ruleset import RuleSet
from rules.slots import AUXILIARIES, LEADING, parts
from rules.tidy import normalize

# Intents whose slots a thread carries from one message to the next.
CARRIED = ("upgrade", "restore")
# A reply to pambot's question back whose part naming the node (between commas) has at most
# this many words is an answer; a longer remark that asks nothing names it in passing.
SHORT_REPLY_WORDS = 6
# The open question of a "Did you mean ...?" answer: its one choice is the suggestion.
DID_YOU_MEAN = "did-you-mean"
# Taking the only choice offered: "yes" to "Did you mean ...?".
_YES = frozenset({"yes", "y", "yep", "yeah", "yup", "ya", "aye", "correct", "right", "sure",
                  "exactly", "ok", "okay", "yes that", "that", "that one", "yes thats it",
                  "yes that's it", "thats it", "that's it", "yes exactly"})
# Words around a picked choice that change nothing: "the leader", "option 2", "#2 please".
_AROUND_A_PICK = re.compile(r"^(?:the |option |number |no\.? |#)?(.*?)(?: please| pls| plz)?$")


@dataclass(frozen=True)
class Context:
    """What a conversation has established: the last upgrade or restore talked about, and
    the clarifying question pambot asked and nobody has answered yet (`asking`, a rule id,
    with its `choices`)."""

    intent: str | None = None
    from_version: str | None = None
    to_version: str | None = None
    node: str | None = None
    asking: str | None = None
    choices: tuple[Choice, ...] = ()
    # The situation the conversation has described: the backup on hand, what they run, and
    # the releases they said they are not on ("another 6.5.x").
    backup: str | None = None
    topology: str | None = None
    excluded: tuple[str, ...] = ()

    def after(self, result: Answer) -> Context:
        """The context once `result` (the main answer of a message) has been given."""
        situation = {"backup": result.backup or self.backup,
                     "topology": result.topology or self.topology}
        if result.intent in CARRIED:
            known = Context(result.intent, result.from_version, result.to_version, result.node,
                            excluded=result.excluded, **situation)
        elif result.intent in ("unknown", "help"):
            if result.suggestion:  # "Did you mean ...?" is open: "yes" or "1" takes it
                return replace(self, asking=DID_YOU_MEAN,
                               choices=(Choice("yes", result.suggestion),))
            return self  # what pambot could not read leaves its open question open
        else:  # a backup or fact answer leaves the thread's upgrade or restore as it was
            known = replace(self, asking=None, choices=(), **situation)
        if result.outcome == "clarify" and result.choices:
            return replace(known, asking=result.rule, choices=result.choices)
        return known

    def to_dict(self) -> dict:
        """A JSON-ready form, for storing a thread's context."""
        return {
            "intent": self.intent, "from_version": self.from_version,
            "to_version": self.to_version, "node": self.node, "asking": self.asking,
            "choices": [[c.label, c.question] for c in self.choices],
            "backup": self.backup, "topology": self.topology, "excluded": list(self.excluded),
        }

    @classmethod
    def from_dict(cls, data: object) -> Context:
        """The context `to_dict` stored; an empty one for anything unreadable (a row written
        by another version of pambot, a hand-edited file)."""
        if not isinstance(data, dict):
            return cls()

        def text(key: str) -> str | None:
            value = data.get(key)
            return value if isinstance(value, str) and value else None

        choices = data.get("choices")
        picked = tuple(
            Choice(pair[0], pair[1]) for pair in (choices if isinstance(choices, list) else ())
            if isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) for p in pair)
        )
        intent = text("intent")
        node = text("node")
        excluded = data.get("excluded")
        return cls(
            intent=intent if intent in CARRIED else None,
            from_version=text("from_version"), to_version=text("to_version"),
            node=node if node in NODES else None,
            asking=text("asking") if picked else None, choices=picked if text("asking") else (),
            backup=text("backup") if text("backup") in BACKUPS else None,
            topology=text("topology") if text("topology") in TOPOLOGIES else None,
            excluded=tuple(v for v in excluded if isinstance(v, str))[:6]
            if isinstance(excluded, list) else (),
        )


@dataclass(frozen=True)
class Reading:
    """How one message reads in its conversation: `question` is what to answer.

    `how`: "typed" (as it stands), "choice" (a pick of the open question's choices),
    "reply" (the answer to the open question) or "context" (completed from the thread).
    """

    typed: str
    question: str
    how: str = "typed"

    @property
    def answers_open_question(self) -> bool:
        return self.how in ("choice", "reply")


def read(text: str, context: Context, ruleset: RuleSet | None = None, *,
         only_answers: bool = False) -> Reading | None:
    """How `text` reads after `context`; with `only_answers`, None unless it answers the
    open question (a thread reply that did not mention pambot)."""
    ruleset = ruleset or default_ruleset()
    if context.asking and context.choices:
        choice = picked(text, context.choices)
        if choice is not None:
            return Reading(text, choice.question, "choice")
    # explain=True keeps each sentence's slots: a bare "leader" names a node but asks nothing.
    message = parse_message(text, ruleset.vocabulary, explain=True)
    if context.asking:
        question = _answering(message, context)
        if question is not None and not (only_answers and _in_passing(message)):
            return Reading(text, question, "reply")
    if only_answers:
        return None
    question = _completed(message, context)
    if question is not None:
        return Reading(text, question, "context")
    return Reading(text, text, "typed")


def picked(text: str, choices: tuple[Choice, ...]) -> Choice | None:
    """The choice `text` picks by number ("2", "option 2") or by label ("whole cluster")."""
    said = normalize(text).rstrip(".!?) ").strip()
    said = _AROUND_A_PICK.fullmatch(said).group(1).strip()
    if said.isdigit() and 1 <= int(said) <= len(choices):
        return choices[int(said) - 1]
    if len(choices) == 1 and said.strip(" ,!") in _YES:
        return choices[0]
    return next((c for c in choices if normalize(c.label) == said), None)


def _asks_nothing(message: Message) -> bool:
    """The message names things but asks no question of its own ("leader", "the follower?",
    "what about the followers?"): its reading is "unknown", or the "about PAM, but nothing
    documented" fallback without a phrase that asks something undocumented."""
    first = message.queries[0]
    if first.suggestion:
        return False
    if first.intent == "unknown":
        return True
    return (first.intent == "fact" and first.case == "not-documented" and len(message.queries) == 1
            and not any(c.not_documented or c.topics for c in message.clauses))


def _in_passing(message: Message) -> bool:
    """A remark that names a node among other things, asking nothing itself ("brb, grabbing
    coffee before I look at the leader"): said to the people in the thread, not an answer.
    A short part naming it ("i think its the leader, pam-lon-01 wont even ping") and
    incident words ("the leader won't boot") do answer."""
    if not _asks_nothing(message):
        return False
    for clause in message.clauses:
        part_of = parts(clause.tokens)
        for part in set(part_of):
            tokens = [t for t, p in zip(clause.tokens, part_of, strict=True) if p == part]
            naming = any(t.meaning and (t.meaning[0] == "node"
                                        or t.meaning == ("topology", "standalone"))
                         for t in tokens)
            words = sum(t.kind == "word" and t.text != "but" for t in tokens)
            if naming and words <= SHORT_REPLY_WORDS:
                return False
    return True


def _named_node(message: Message) -> str | None:
    """The one node the message names, sentence by sentence ("leader", "all nodes")."""
    nodes = {c.node for c in message.clauses if c.node}
    return nodes.pop() if len(nodes) == 1 else ("cluster" if nodes else None)


def _answering(message: Message, context: Context) -> str | None:
    """The question `message` completes when it answers the open question, else None."""
    first = message.queries[0]
    if len(message.queries) > 1 and context.intent != "restore":
        return None
    situation = _situation(message, context)
    if context.intent == "restore":  # "which node failed?"
        # Two nodes named ("the leader or a follower") is not an answer, unlike "all nodes".
        named = {c.node for c in message.clauses if c.node}
        node = first.node or (named.pop() if len(named) == 1 else None)
        if node is None and first.topology == "standalone":
            node = "leader"  # "it's a standalone server": a leader on its own
        # "a follower, pam-fol-02. we have a veeam backup of it": the node, and the backup
        says_situation = _only_says(message) and (first.backup or first.topology)
        if node and (first.intent == "restore" and first.case is None or _asks_nothing(message)
                     or says_situation):
            return _with_asked(message, question_for(
                "restore", first.from_version or context.from_version, first.to_version, node,
                **situation))
        return None
    # "which version are you on?" / "which 6.5 release?"
    if first.intent == "upgrade" and first.from_version:
        return question_for("upgrade", first.from_version,
                            first.to_version or context.to_version, excluded=first.excluded,
                            topology=situation["topology"])
    return None


def _situation(message: Message, context: Context) -> dict[str, str | None]:
    """The backup on hand and the topology: as the message says, else as the thread did. A
    topology only implied ("will the followers be ok?") does not undo one said before."""
    first = message.queries[0]
    said = any(c.topologies for c in message.clauses)
    topology = first.topology if said or not context.topology else context.topology
    return {"backup": first.backup or context.backup, "topology": topology or context.topology}


def _with_asked(message: Message, question: str) -> str:
    """A written-out question, with what the message asks besides kept ("will the followers
    be ok then?", "and how often should we back up?"), so that it is answered too."""
    asks_more = any(c.asks for c in message.clauses) or len(message.queries) > 1 and any(
        c.asking for c in message.clauses)
    if asks_more and normalize(question) != normalize(message.text):
        return f"{question}, {' '.join(message.text.split())}"
    return question


def _only_says(message: Message) -> bool:
    """The message asks nothing: it only says something ("we have a veeam backup of it",
    "the MEK is in the vault"); not "we restored it but logins fail", which tells what is
    wrong."""
    return not any(c.asking or c.not_documented_asked for c in message.clauses) and all(
        q.intent in ("backup", "fact", "unknown") for q in message.queries)


def _completed(message: Message, context: Context) -> str | None:
    """The message as a whole question, with what it leaves out taken from the thread (the
    versions, the node, the backup on hand, the topology); None when it is whole already,
    asks about something else, or adds nothing."""
    if context.intent not in CARRIED:
        return None
    first = message.queries[0]
    # "will the followers be ok, and how often should we back up?": about the thread's
    # restore, and something else besides
    about_followers = any({"followers", "followers-fine"} & set(cl.asks)
                          for cl in message.clauses)
    if len(message.queries) > 1 and first.intent not in CARRIED and not about_followers:
        return None
    node = first.node or _named_node(message)
    if node and context.node and node != context.node and _asks_yes_no(message) and not any(
            c.incident or "restore" in c.intents for c in message.clauses):
        node = context.node  # "will the leader notice?" in a follower's restore: the follower
    situation = _situation(message, context)
    adds = first.backup not in (None, context.backup) or first.topology not in (
        None, context.topology)
    asks = any(c.asks for c in message.clauses)
    # "we're on 7.2 btw" during a restore: the restore's version, not an upgrade question
    only_versions = first.intent == "upgrade" and not any(
        c.intents or c.incident or c.asks or c.topics for c in message.clauses)
    if context.intent == "restore" and only_versions:
        pass
    elif first.intent in CARRIED:
        if first.intent != context.intent or first.case is not None:
            return None
        whole = (first.from_version if first.intent == "upgrade"
                 else first.node or first.from_version)
        missing = (context.backup and not first.backup) or (
            context.topology and not first.topology)
        if whole and not missing:
            return None  # a whole question, in a situation the thread has not described
        if whole:
            return _with_asked(message, question_for(
                first.intent, first.from_version, first.to_version, first.node,
                first.excluded, **situation))
    elif not about_followers and not (
            (_asks_nothing(message) or _only_says(message))
            and (node or asks or first.from_version or adds or _again(message))):
        return None
    from_version = first.from_version or context.from_version
    to_version = first.to_version or (context.to_version if not first.from_version else None)
    if context.intent == "restore":
        question = question_for("restore", from_version, to_version, node or context.node,
                                **situation)
    else:
        question = question_for("upgrade", from_version, to_version,
                                excluded=context.excluded if not first.from_version else (),
                                topology=situation["topology"])
    question = _with_asked(message, question)
    return question if normalize(question) != normalize(message.text) else None


# "ok, what's the order of steps again?", "what now?": the thread's question, once more.
_AGAIN = frozenset({"again", "steps", "procedure", "process", "next", "now", "order"})


def _again(message: Message) -> bool:
    """The message asks for the thread's answer once more."""
    return any(c.asking for c in message.clauses) and bool(
        _AGAIN & set(normalize(message.text).replace("?", " ").split()))


def _asks_yes_no(message: Message) -> bool:
    """A sentence of the message starts with an auxiliary verb: "will the leader notice?"
    (not "and the follower?", which turns the thread to that node)."""
    for clause in message.clauses:
        words = [t.text for t in clause.tokens if t.kind == "word" and t.text not in LEADING]
        if words and words[0] in AUXILIARIES:
            return True
    return False
