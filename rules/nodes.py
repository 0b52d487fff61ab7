"""Which node a sentence is about: the one next to "died" or "restore" (and any joined to
it by "and"), not one said to be fine, not "the cluster" they run, not the node whose backup
it is. Part of reading a sentence (`rules.slots`)."""

from __future__ import annotations

import itertools

from rules.tokens import Token
from rules.versions import CONJUNCTIONS

# How far (in tokens) a node may be from "died" or "restore" to be the node it is about.
_NODE_REACH = 4
# Counts said as words between "with" and "followers": "a leader with two followers".
_COUNT_WORDS = frozenset({"two", "three", "four", "five", "six", "several"})


def failed_node(tokens: list[Token], mentions: list[tuple[int, str]],
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


def of_a_cluster(tokens: list[Token], index: int) -> bool:
    """"cluster" after "of", "in" or "on" is the cluster they run, not the node that failed:
    "the leader of their cluster", "a node in our PAM cluster", "died on our 7.3 cluster"."""
    return tokens[index].text in ("cluster", "clusters") and any(
        t.text in ("of", "in", "on") for t in tokens[max(0, index - 4):index])


def with_followers(tokens: list[Token], index: int) -> bool:
    """"followers" after "with" (and a count) is what they run, not the node that failed:
    "cluster with 2 followers, leader just died", "a leader with two followers"."""
    before = [t for t in tokens[max(0, index - 3):index] if t.kind != "count"
              and t.text not in _COUNT_WORDS]
    return tokens[index].text == "followers" and bool(before) and before[-1].text == "with"



def owns_a_backup(tokens: list[Token], index: int) -> bool:
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
