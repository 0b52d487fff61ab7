"""The examples in the rules engine's docstrings run, so they cannot drift from the code."""

import doctest
import importlib
import importlib.util
import pkgutil
from pathlib import Path

import pytest

import rules

MODULES = sorted(m.name for m in pkgutil.iter_modules(rules.__path__, "rules."))


def has_examples(name: str) -> bool:
    """Whether the module's source has an interactive example (`>>>`) anywhere."""
    return ">>>" in Path(importlib.util.find_spec(name).origin).read_text(encoding="utf-8")


WITH_EXAMPLES = [name for name in ["rules", *MODULES] if has_examples(name)]


def test_the_engine_has_examples_to_run():
    assert "rules" in WITH_EXAMPLES  # the package's own: answer("upgrade 6.5.4")


@pytest.mark.parametrize("name", WITH_EXAMPLES)
def test_docstring_examples_are_true(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    # Examples written where doctest does not look (a comment, a string that is no
    # docstring) would never run: every module that has one must run some.
    assert result.attempted > 0, f"{name} has examples (>>>) that doctest does not run"
    assert result.failed == 0
