"""No answer someone would act on wrongly, over generated situations (issue 13).

Each test builds a situation (versions, the node that failed, the backup on hand, what they
run, what they ask), says it the way people do, with noise around it, and checks the answer
against what the documentation says for that situation (shared/domain/pam-facts.md),
worked out here from the facts, not from the rule files:

- never a path where only the support prompt is right;
- never the table's verdict inverted (backup and restore required, or not);
- a yes/no question about a consequence never gets the wrong Yes or No;
- a standalone server's answer never talks about followers.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.version import Version

from rules import answer

# Versions from every part of the table: below 5.2, 5.2-6.1.4, the gap, 6.5.4, after it,
# 7.x, 8 and later.
CURRENT = ["5.0", "5.1.3", "5.2", "6.0.1", "6.1.4", "6.1.5", "6.3.2", "6.5.3", "6.5.4",
           "6.5.5", "6.9", "7.0", "7.0.3", "7.2", "7.4.1", "7.5.3", "8.0", "8.1.2"]
TARGETS = ["7.1", "7.4", "7.5.3", "8.0", "8.1", "6.5.4", "7.0"]
NOISE = ["", "(INC-4411) ", "hi all, ", "quick one: ", "ticket CHG-2291: ", "on 10.0.5.4 ",
         "at 23:00 tonight ", "prod: "]
TAIL = ["", " thanks", " asap", " :pray:", " (ticket CS-40211)", " - need it for the CAB"]


def table(current: str, target: str | None) -> str:
    """The documented table's answer: "restore" (backup and restore required), "straight"
    (no backup and restore) or "support"."""
    version = Version(current)
    if target is not None:
        goal = Version(target)
        if not (Version("7.0") <= goal < Version("8.0")) or goal <= version:
            return "support"  # outside "latest 7.x", or not an upgrade
    if version == Version("6.5.4"):
        return "restore"
    if Version("7.0") <= version < Version("8.0"):
        return "straight"
    return "support"


# (how it is asked, what a yes means): "restore" = yes means backup and restore required.
UPGRADE_ASKED = [
    ("upgrade {v} to {t}", None),
    ("we're on {v} and want to get to {t}. what's the path?", None),
    ("{v} -> {t}, is a backup and restore needed?", "restore"),
    ("is a backup/restore required to go from {v} to {t}?", "restore"),
    ("can we go from {v} to {t} as a straight upgrade?", "straight"),
    ("our PAM server runs {v}. is a straight upgrade to {t} possible?", "straight"),
    ("do we have to do the backup and restore thing for {v} to {t}?", "restore"),
]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(CURRENT), st.sampled_from(TARGETS), st.sampled_from(UPGRADE_ASKED),
       st.sampled_from(NOISE), st.sampled_from(TAIL))
def test_an_upgrade_is_never_a_path_where_the_table_says_support(current, target, asked, noise,
                                                                 tail):
    template, yes_means = asked
    result = answer(noise + template.format(v=current, t=target) + tail)
    truth = table(current, target)
    said = f"{result.rule}: {result.verdict} / {result.short_answer}"
    if truth == "support":
        assert result.outcome != "path", said
        assert result.backup_restore_required is None, said
        return
    assert result.outcome == "path", said
    assert result.backup_restore_required is (truth == "restore"), said
    if yes_means is not None:
        yes = (truth == yes_means)
        assert (result.short_answer or "").startswith("Yes" if yes else "No"), said


# The node that failed, said as people say it, and whether it is the standalone server.
NODES = {
    "leader": ["the leader", "our PAM leader", "the primary node", "the leader node"],
    "follower": ["a follower", "one of the followers", "follower 2", "the follower node"],
    "cluster": ["the whole cluster", "every node", "all three nodes"],
    "standalone": ["our standalone PAM server", "our only PAM server (not clustered)",
                   "the single PAM server we have"],
}
FAILED = ["died", "is down", "won't boot", "is corrupted", "was deleted by mistake"]
# The backup on hand, said as people say it ("" says nothing of it).
BACKUPS = {
    "vm": ["we have VM snapshots of it", "veeam has a backup of that VM",
           "we took a VM level backup last night"],
    "pam": ["we only have the PAM backup file, no VM snapshots",
            "all we have is the Osirium backup file", "only the PAM Server generated backup"],
    "none": ["we have no backups at all", "there are no backups of any kind"],
    "unknown": [""],
}
FOLLOWERS_ASKED = [("", None), (" will the followers be ok?", "fine"),
                   (" do the followers need to be rebuilt?", "rebuilt")]


def restore_truth(node: str, backup: str) -> tuple[str, bool | None]:
    """What the documentation says for a restore: ("path" | "support" | "either", whether
    the followers are recreated, None where it depends or does not apply)."""
    if backup == "none":
        return "support", None  # a restore needs a backup file
    if node == "standalone":
        return "path", None  # no followers
    if node == "follower":
        if backup == "pam":
            return "support", None  # the PAM backup holds the leader only
        return ("path", False) if backup == "vm" else ("either", None)
    if backup == "vm":
        return "path", False  # a reinstated node catches up; the followers stay
    if backup == "pam":
        return "path", True  # a new cluster: every follower recreated
    return "either", None


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(NODES)), st.data(), st.sampled_from(FAILED),
       st.sampled_from(sorted(BACKUPS)), st.sampled_from(FOLLOWERS_ASKED),
       st.sampled_from(NOISE), st.sampled_from(TAIL))
def test_a_restore_is_answered_for_the_backup_on_hand(node, data, failed, backup, asked,
                                                      noise, tail):
    said_node = data.draw(st.sampled_from(NODES[node]))
    said_backup = data.draw(st.sampled_from(BACKUPS[backup]))
    question, kind = asked
    if node in ("standalone", "follower"):
        question, kind = "", None  # followers asked about a follower or a standalone server
    text = f"{noise}{said_node} {failed}" + (f", {said_backup}." if said_backup else ".")
    result = answer(text + question + tail)
    truth, rebuilt = restore_truth(node, backup)
    said = f"{text + question!r}: {result.rule}, {result.short_answer!r}"
    assert result.intent == "restore", said
    if truth == "support":
        assert result.outcome != "path", said
    if truth == "path":
        assert result.outcome == "path", said
    if rebuilt is not None and result.outcome == "path":
        assert result.follower_rebuild is rebuilt, said
    if node == "standalone":
        assert "follower" not in result.text.casefold(), said
    if kind is not None and rebuilt is not None:
        yes = rebuilt if kind == "rebuilt" else not rebuilt
        assert (result.short_answer or "").startswith("Yes" if yes else "No"), said


ACROSS = [
    "restore our {b} backup onto a new {s} server",
    "we have a PAM backup file from {b}, can we load it onto the {s} box?",
    "the backup was taken on {b} and the new server is {s}. steps?",
]


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(CURRENT), st.sampled_from(TARGETS), st.sampled_from(ACROSS),
       st.sampled_from(NOISE))
def test_a_restore_across_versions_follows_the_table_from_the_backups_version(
        backup, server, template, noise):
    if Version(backup) == Version(server):
        return  # a restore onto the same version is no move across versions
    result = answer(noise + template.format(b=backup, s=server))
    said = f"{result.query!r}: {result.rule}, {result.verdict}"
    assert result.intent == "restore", said
    truth = table(backup, server)
    if truth == "support":
        assert result.outcome != "path", said
    else:
        assert result.outcome == "path" and result.rule.startswith("restore-across"), said
        assert result.backup_restore_required is (truth == "restore"), said


UNDOCUMENTED = [
    "how long does the upgrade from {v} to 7.4 take?",
    "can we roll back to {v} if the upgrade to 7.4 fails?",
    "how much does the licence for {v} cost?",
    "where can I download the {v} installer?",
    "what encryption algorithm does PAM {v} use for the backup?",
    "how much RAM does a {v} follower need?",
    "when does {v} go end of life?",
    "can we automate the {v} upgrade with ansible?",
]


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(UNDOCUMENTED), st.sampled_from(CURRENT), st.sampled_from(NOISE))
def test_what_the_documentation_does_not_say_never_gets_a_verdict(template, version, noise):
    result = answer(noise + template.format(v=version))
    said = f"{result.query!r}: {result.rule}, {result.verdict}"
    assert result.focus == "not-documented" and result.contact_support, said
    assert result.backup_restore_required is None and not result.steps, said
