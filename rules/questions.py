"""Step 4 of reading a message: its sentences' slots become questions. Context flows
between sentences ("we're on 6.5.4. how do we upgrade?"), corrections withdraw what they
correct, duplicates go, and an incident comes first."""

from __future__ import annotations

import difflib
import functools
import re
from dataclasses import replace

from rules.model import Query
from rules.slots import GRAMMAR_WORDS, LEADING, Clause, Subject
from rules.tokens import COUNT_NOUNS, NEW_QUESTION, QUESTION_WORDS
from rules.vocabulary import Vocabulary

# Near misses are measured against one word per intent and node.
_COMMAND_WORDS = ("upgrade", "restore", "backup", "help", "leader", "follower", "cluster")
_TYPO_SCAN_WORDS = 30
_GRAMMAR_WORDS = GRAMMAR_WORDS | NEW_QUESTION | COUNT_NOUNS


def questions(text: str, clean: str, clauses: list[Clause], vocabulary: Vocabulary,
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
    symptoms: set[int] = set()  # "pam hung after the upgrade.": what is wrong, told
    done: set[int] = set()  # "we restored it.": a restore told, not asked for
    asked_any = False
    said = set()  # backup advice from a sentence that only said something about backups
    consequences = []  # "will the other servers be ok?": about another sentence's question
    for clause in clauses:
        own, implied = _clause_questions(clause)
        if not own and {"followers", "followers-fine"} & set(clause.asks):
            consequences.append(_consequence(clause))
        asked_any = asked_any or bool(own)
        if not clause.asking:
            # "we have the osirium backup and the MEK": said, not asked, beside an outage
            said |= {id(q) for q in own if q.intent in ("backup", "fact")
                     and q.focus != "not-documented" and q.case not in BLOCKERS}
        if clause.symptom_stated:
            symptoms |= {id(q) for q in own}
        elif clause.restore_done and not clause.asking:
            done |= {id(q) for q in own}  # "done, restored." beside what is wrong now
        elif own and own[0].focus == "not-documented" and not (
                clause.not_documented_asked or any("?" in t.text for t in clause.tokens)):
            remarks += own
            continue
        queries += own or ([] if clause.lent else implied)
    if symptoms:
        queries = _weigh_symptoms(queries, symptoms, done, clauses, bool(consequences))
    queries = queries or remarks
    for asks, yes_no in consequences:
        target = next((i for i, q in enumerate(queries)
                       if q.intent in ("restore", "upgrade") and not q.asks), None)
        if target is not None:
            queries[target] = replace(queries[target], focus="consequence", asks=asks,
                                      yes_no=yes_no)
        elif not queries and any(c.backups for c in clauses):
            # "is a PAM backup alone insufficient to restore the followers?"
            queries.append(Query(text=text, intent="restore", focus="consequence", asks=asks,
                                 yes_no=yes_no))
    suggestion = None
    if not asked_any:
        # Only versions and no question word: an upgrade, unless a word is a near miss of a
        # command ("upgarde 6.5.4"), which gets "did you mean", never a guess.
        suggestion = _near_miss(clean, vocabulary)
        if suggestion and not any(c.labelled for c in clauses):
            queries = []  # "upgarde 6.5.4"; but "upgrde from 6.5" is an upgrade all the same
    if not queries:
        if suggestion is None and _about_pam(clean, clauses):
            return [_in_situation(Query(text=text, intent="fact", case="not-documented",
                                        focus="not-documented"), _situation(clauses))]
        intent = "unknown" if suggestion or clean or text.strip() else "help"  # "🔥🔥🔥": said
        # "we only have the pam backup file": no question, but a situation a thread keeps
        return [_in_situation(Query(text=text, intent=intent, suggestion=suggestion),
                              _situation(clauses))]
    if len(queries) > 1:
        # "hi all, is 7.0.2 -> 7.4 a straight upgrade?": no usage help. "Leader is corrupted.
        # Our last backup is a PAM generated one.": the restore answer says which backup to use.
        # Beside what is wrong ("stuck at 'migrating'. all nodes still answer on 443") too.
        told_beside = any(q.intent == "restore" or id(q) in symptoms for q in queries)
        queries = [q for q in queries if not (q.intent == "help" and q.case == "greeting")
                   and not (told_beside and id(q) in said)] or queries
    unique: dict[tuple, Query] = {}
    for query in queries:
        # A restore from one version to another is answered from the table, like the upgrade.
        across = query.intent in ("upgrade", "restore") and query.from_version and query.to_version
        key = ("table" if across else query.intent, query.from_version, query.to_version,
               None if across else query.node, query.case, query.excluded)
        kept = unique.setdefault(key, query)
        if kept.intent == "upgrade" and query.intent == "restore":
            # "the backup is from 7.3, the new leader is 7.5.3. can we restore onto it?"
            kept = unique[key] = replace(query, asks=query.asks or kept.asks)
        if query.asks and not kept.asks:  # "we're on 7.2, want 8. is a straight update ok?"
            unique[key] = replace(kept, focus=query.focus, asks=query.asks, yes_no=query.yes_no)
    kept = [q for q in unique.values() if not _said_better(q, unique.values())]
    if any(q.intent == "restore" for q in kept):
        # "lost the leader, Nutanix snapshot from 02:00. Path?": the restore's path
        kept = [q for q in kept if not (q.intent == "upgrade" and q.from_version is None
                                        and q.to_version is None)] or kept
    situation = _situation(clauses)
    ordered = [_in_situation(q, situation) for q in sorted(
        kept, key=lambda q: (q.case not in BLOCKERS, q.intent != "restore"))]
    main = ordered[0]
    if main.intent == "restore" and main.node is None and main.backup is None:
        main = replace(main, suggestion=_near_miss(clean, vocabulary))
    return [replace(main, text=text)] + ordered[1:]


def _weigh_symptoms(queries: list[Query], symptoms: set[int], done: set[int],
                    clauses: list[Clause], consequence: bool) -> list[Query]:
    """The questions of a message that tells what is wrong (`symptoms`, by id) beside other
    sentences: what is wrong is the question unless it says why they ask."""
    if consequence and not any(q.intent in ("restore", "upgrade") for q in queries):
        # "the leader hung and we restored the PAM backup. should the followers have been
        # rebuilt?": asked of the restore told beside what was wrong
        told = [Query(text=c.said, intent="restore", node=c.node) for c in clauses
                if c.symptom_stated and "restore" in c.intents]
        if told:
            return [q for q in queries if id(q) not in symptoms] + told
    # "done, restored. but the ui won't load now": the restore is over
    queries = [q for q in queries if id(q) not in done]
    nodes = {c.node for c in clauses if c.symptom_stated}  # what is wrong is said of them
    if any(q.intent == "upgrade" and q.from_version or q.focus == "not-documented"
           and id(q) not in symptoms or q.intent == "restore" and (
               None in nodes or q.node in nodes) for q in queries):
        # "slow since 7.2, want the latest 7: straight?", "ui broken. how do i roll back?",
        # "errors in syslog, now it won't boot": what is wrong says why they ask, or the
        # outage it led to; "ui hangs. which ports...?" and "flw-02 is dead. meanwhile the
        # leader is crawling" ask both
        return [q for q in queries if id(q) not in symptoms]
    return queries


def _situation(clauses: list[Clause]) -> tuple[str | None, str | None, bool]:
    """The situation the whole message describes: the backup on hand, what they run ("the
    leader died. we only have the pam backup file, no vm snapshots"), and whether it
    reports an outage."""
    # A backup named in a question about a fact ("what does a PAM backup contain?") is not
    # one they say they have.
    stated = [c for c in clauses if not (c.asking and (c.topics or c.not_documented))
              or c.incident or "restore" in c.intents]
    only = {c.backup_only for c in stated if c.backup_only}
    had = only if len(only) == 1 else {kind for clause in stated for kind in clause.backups}
    had -= {kind for clause in stated for kind in clause.backups_denied} - only
    if len(had) > 1:
        had.discard("none")  # "no backups except the pam backup file"
    backup = "both" if "both" in had or {"vm", "pam"} <= had else (
        next(iter(had)) if len(had) == 1 else None)
    if backup is None and any("vm" in c.backups_denied for c in stated):
        backup = "no-vm"  # "no vm snapshots of it", nothing said of a PAM backup
    said = {kind for clause in clauses for kind in clause.topologies} or {
        kind for clause in clauses for kind in clause.implied}
    topology = next(iter(said)) if len(said) == 1 else None  # both said: not known
    return backup, topology, any(c.incident for c in clauses)


def _in_situation(query: Query, situation: tuple[str | None, str | None, bool]) -> Query:
    """The question in the situation its message describes."""
    backup, topology, outage = situation
    node = query.node
    if query.intent == "restore" and topology == "standalone" and node in (None, "cluster"):
        node = "leader"  # a standalone PAM Server is a leader on its own
    if query.intent == "restore" and node is None and backup == "pam" and not outage:
        node = "leader"  # restoring the PAM Server generated backup rebuilds the leader
    if (backup, topology, node) == (query.backup, query.topology, query.node):
        return query
    return replace(query, backup=backup, topology=topology, node=node)


def _said_better(query: Query, queries) -> bool:
    """Another question of the message asks the same more fully: "nobody here has done a
    PAM upgrade. is 7.1.3 -> 7.x a straight upgrade?" (no version beside one), "the old
    server is on 6.4.1. what's the path from 6.4.1 to 7.x?" (no target beside one)."""
    if query.intent not in ("upgrade", "restore") or query.to_version or query.case:
        return False
    for other in queries:
        if other is query or other.intent != query.intent or None not in (
                other.node, query.node) and other.node != query.node:
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
                       if c.versions and (not c.not_documented or c.symptom_stated)), None)
        if lender is None and index + 1 < len(clauses) and _only_versions(clauses[index + 1]) \
                and not _only_versions(clause):
            lender = clauses[index + 1]
        followers = {"followers", "followers-fine"} & set(clause.asks)
        needs_versions = ({"upgrade", "restore"} & clause.intents.keys() or clause.incident
                          or {"required", "straight"} & set(clause.asks) or followers
                          or clause.subjects) \
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
            # "upgrade 6.5.4 to 7.x and also restore follower": the restore is on 6.5.4,
            # not from 6.5.4 to 7.x.
            keep_target = not (clause.node and "restore" in clause.intents)
            clause.subjects = [Subject(s.version, s.target if keep_target else None)
                               for s in lender.subjects]
            clause.borrowed = True
            if len(targets) == 1 and targets[0] and len(clause.subjects) == 1:
                clause.subjects[0].target = targets[0]
            clause.excluded = clause.excluded or list(lender.excluded)
            lender.lent = True
            if explain:
                clause.notes.append(f"versions: {', '.join(lender.versions)}, from another "
                                    "sentence")
        needs_node = clause.incident or "restore" in clause.intents or followers
        # Not the nodes a sentence about backups names ("VM backups of every node").
        node_lender = next((c for c in reversed(clauses[:index]) if c.node and (
            c.incident or "restore" in c.intents
            or "backup" not in c.intents and not c.backups)), None)
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
    """The sentence ends with "?" or starts with a question word (after fillers such as
    "so", "like", "ok")."""
    words = [t.text for t in clause.tokens if t.kind == "word" and t.text not in LEADING]
    return any("?" in t.text for t in clause.tokens) or bool(
        words and words[0] in QUESTION_WORDS)


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


def _clause_questions(clause: Clause) -> tuple[list[Query], list[Query]]:
    """(the questions this sentence asks, the upgrade it implies when it asks none)."""
    intents, subjects, excluded = clause.intents, clause.subjects, tuple(clause.excluded)
    versions = clause.versions
    asks, yes_no = _consequence(clause)
    if asks == "possible" and (clause.topics or clause.not_documented):
        # "can we upgrade node by node?", "can we restore it onto a different IP?": the
        # topic, or what the documentation does not say, answers what is possible
        asks, yes_no = None, False

    def query(intent: str, version: str | None = None, target: str | None = None,
              **slots) -> Query:
        path = intent in ("upgrade", "restore")
        focus = slots.pop("focus", "consequence" if asks and path else "steps")
        return Query(text=clause.said, intent=intent, from_version=version, to_version=target,
                     excluded=excluded if path else (), focus=focus,
                     asks=asks if focus == "consequence" else None,
                     yes_no=yes_no and focus == "consequence", **slots)

    def upgrades(intent: str = "upgrade") -> list[Query]:
        node = {"node": clause.node} if intent == "restore" else {}  # "a 7.4 backup of the leader"
        return [query(intent, s.version, s.target, **node) for s in subjects] or [
            query(intent, **node)]

    def restore() -> Query:
        # "a 6.1.2 backup and a new 7.2 server": in a restore, the second version is the target.
        target = None
        if not clause.incident:  # an outage is answered by node; an upgrade beside it, apart
            target = next((s.target for s in subjects if s.target), None)
            if target is None and len(versions) == 2:
                target = versions[1]
        if versions and target == versions[0]:
            target = None  # "a 7.2 backup onto a 7.2 server": a restore, not a move
        restoring = query("restore", versions[0] if versions else None, target, node=clause.node)
        if restoring.asks in ("restore-required", "straight-upgrade") and not target:
            # The table's column is for moves between versions; in a restore, "do we have
            # to rebuild it?" asks what is rebuilt.
            polarity = "followers-rebuilt" if restoring.asks == "restore-required" \
                else "followers-fine"
            restoring = replace(restoring, asks=polarity)
        return restoring

    # What the documentation does not say, with the versions as said ("roll back 7.4 to 7.1?")
    said = subjects[0] if len(subjects) == 1 else None
    undocumented = query("fact", said and said.version, said and said.target,
                         case=clause.not_documented, focus="not-documented")
    if clause.not_documented and not clause.incident and clause.not_documented_elsewhere:
        # "what's the path for 6.5.4, and what would Osirium charge?": both are asked
        own, implied = _beside_undocumented(clause)
        if clause.versions_with_undocumented:  # "(b) whether 7.2 -> 7.5 can be rolled back"
            own = [q for q in own if q.intent == "fact"]
        return own + [undocumented], implied
    if clause.not_documented and not clause.incident and (
            clause.not_documented_asked or not (_asks_a_path(clause) or clause.topics)):
        # "how long does 6.5.4 -> 7.2 take?" asks what the documentation does not say; but
        # "16 GB ram each, path to 7.4?" or "downtime is approved" only tell the context.
        return [undocumented], []
    fact = [query("fact", case=topic, focus="fact") for topic in dict.fromkeys(clause.topics)]
    moves = any(s.version and s.target and s.target != s.version for s in subjects)
    table = "upgrade" in intents or moves or (
        {"required", "straight"} & set(clause.asks) and versions and clause.node is None)
    own: list[Query] = []
    blockers = [f for f in fact if f.case in BLOCKERS]
    if blockers and (clause.incident or "restore" in intents):
        # "we lost the MEK, leader died, have the pam backup": what blocks the documented
        # restore comes first, then the restore itself where a node is named
        return blockers + ([restore()] if clause.node else []), []
    if clause.incident and not (clause.topics and clause.node is None):
        # The restore answer covers what a topic named beside an outage asks about; but
        # "lost the MEK, can we still restore?" asks about the key.
        own.append(restore())
        if versions and (moves or "upgrade" in intents):
            own += [q for q in upgrades() if q.from_version]
        if clause.not_documented and clause.not_documented_asked:
            own.append(undocumented)  # "leader died, how long will the restore take?"
        return own, []
    if table and versions:
        # A backup loaded onto a server is a restore, even "as part of the migration".
        # "our PAM backup file is from 7.2, the new server is 7.5": loading it is a restore.
        loading = ("pam" in clause.backups or clause.backup_of_a_version) \
            and "upgrade" not in intents and not {"required", "straight"} & set(clause.asks)
        restoring = (clause.onto or loading or "restore" in intents and "upgrade" not in intents) \
            and not clause.backup_and_restore
        own = upgrades("restore" if restoring else "upgrade")
        return (fact + own if clause.topic_at < clause.asked_at else own + fact), []
    if fact:
        return fact, []
    if table:
        own = upgrades()
    elif "restore" in intents or clause.restore_asked:
        own = [restore()]
    elif "backup" in intents or clause.backups and _a_question(clause):
        own = [query("backup")]  # "how do I take a PAM server backup?"
    elif "help" in intents and not versions:
        greeting = clause.intents["help"] in _GREETINGS  # "hi all", "need help!"
        own = [query("help", case="greeting" if greeting else None)]
    return own, upgrades() if clause.has_versions and not own and not clause.borrowed else []


def _beside_undocumented(clause: Clause) -> tuple[list[Query], list[Query]]:
    """The questions `clause` asks besides the one the documentation does not answer."""
    kind, clause.not_documented = clause.not_documented, None
    try:
        return _clause_questions(clause)
    finally:
        clause.not_documented = kind


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


# Topics that block the documented restore: answered first, before the restore they block.
BLOCKERS = frozenset({"master-key-lost", "older-backup"})
# Help words that only greet: "hi all, is 7.0.2 -> 7.4 a straight upgrade?" asks no help.
_GREETINGS = frozenset({"hi", "hello", "hey", "help"})
# The consequences as the vocabulary's "asks" name them, and as a Query names them.
_CONSEQUENCES = {"required": "restore-required", "straight": "straight-upgrade",
                 "followers": "followers-rebuilt", "followers-fine": "followers-fine",
                 "possible": "possible"}


def _consequence(clause: Clause) -> tuple[str | None, bool]:
    """The consequence a sentence asks about, and whether as a yes/no question. What happens
    to the followers is the more specific question; asked both ways round ("straight upgrade
    or backup and restore?") it is no yes/no question."""
    asked = set(clause.asks)
    for pair in (("followers", "followers-fine"), ("required", "straight"), ("possible",)):
        said = [kind for kind in pair if kind in asked]
        if said:
            return _CONSEQUENCES[said[0]], clause.yes_no and len(said) == 1
    return None, False
