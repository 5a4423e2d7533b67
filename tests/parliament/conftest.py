"""The real 2018 and 2024 datasets, read once per session (files only, no database)."""

import functools
from pathlib import Path
from typing import Any

import pytest

from pollwatch.tally.inputs import ResultsInput
from tests.conftest import require_shared_data


@functools.cache
def read_once(name: str, data_dir: Path) -> Any:
    """`pollwatch.datasets.read`, cached: the CLI tests patch it in so each file is parsed once."""
    from pollwatch.datasets import read

    return read(name, data_dir)


@pytest.fixture(scope="session")
def pk2018() -> ResultsInput:
    return ResultsInput.of(
        read_once("pakistan-2018", Path(require_shared_data("pakistan-2018-constituency")).parent)
    )


@pytest.fixture(scope="session")
def pk2024() -> ResultsInput:
    return ResultsInput.of(
        read_once("pakistan-2024", Path(require_shared_data("pakistan-2024-constituency")).parent)
    )
