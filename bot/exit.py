"""The command line's two kinds of failure, each one line on standard error: `pambot: ...`.

    Problem        exit 1: the work failed (an unreadable log, a rule file with problems)
    UsageProblem   exit 2: a usage or configuration mistake (a bad duration, a bad variable)
"""

from __future__ import annotations

import sys

import click


class Problem(click.ClickException):
    """The work failed; exit status 1."""

    exit_code = 1

    def show(self, file=None) -> None:
        click.echo(f"pambot: {self.format_message()}", file=file or sys.stderr)


class UsageProblem(Problem):
    """A usage or configuration mistake; exit status 2."""

    exit_code = 2
