"""The examples in the rules engine's docstrings run, so they cannot drift from the code."""

import doctest
import importlib
import pkgutil

import pytest

import rules

MODULES = sorted(m.name for m in pkgutil.iter_modules(rules.__path__, "rules."))


@pytest.mark.parametrize("name", ["rules", *MODULES])
def test_docstring_examples_are_true(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
