"""The runnable examples in the package docstrings of this area stay true."""

import doctest
import importlib

import pytest


@pytest.mark.parametrize(
    "module",
    [
        "pollwatch.tally",
        "pollwatch.tally.ballot",
        "pollwatch.tally.projected_rows",
        "pollwatch.audit",
        "pollwatch.parliament",
        "pollwatch.rules",
        "pollwatch.pace",
    ],
)
def test_package_examples_run(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0
    assert result.failed == 0
