"""The rules engine: free text in, a checked and sourced `Answer` out. Pure: no Slack, no I/O
beyond loading the YAML rule files.

    >>> from rules import answer
    >>> answer("upgrade 6.5.4").verdict
    'Backup and restore required'

Modules, in the order data flows: `vocabulary` and `parse` read a message into `Query`s;
`engine` answers each from a `RuleSet` (`ruleset`), loaded and checked by `load` and `check`;
`text` renders an answer as plain text. Beside them: `context` reads a message in its
conversation (a reply to a question back, a question that leaves out what the thread said),
and `paths` draws every upgrade range of a rule set and where it leads.
"""

from rules.check import Problem
from rules.engine import answer, evaluate
from rules.load import RuleFileError, check_rules, default_ruleset, load_ruleset
from rules.model import Answer, Choice, Query
from rules.parse import parse, parse_message
from rules.ruleset import RuleSet

__all__ = [
    "Answer",
    "Choice",
    "Problem",
    "Query",
    "RuleFileError",
    "RuleSet",
    "answer",
    "check_rules",
    "default_ruleset",
    "evaluate",
    "load_ruleset",
    "parse",
    "parse_message",
]
