"""The rules engine: free text in, a checked and sourced `Answer` out. Pure: no Slack, no I/O
beyond loading the YAML rule files.

    >>> from rules import answer
    >>> answer("upgrade 6.5.4").verdict
    'Backup and restore required'
"""

from rules.engine import answer, evaluate
from rules.load import Problem, RuleFileError, RuleSet, check_rules, default_ruleset, load_ruleset
from rules.model import Answer, Query
from rules.parse import parse

__all__ = [
    "Answer",
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
]
