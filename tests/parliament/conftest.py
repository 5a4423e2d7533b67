"""The real 2018 and 2024 datasets, read once per session (files only, no database)."""

from pathlib import Path

import pytest

from pollwatch.tally.inputs import ResultsInput
from tests.conftest import require_shared_data


@pytest.fixture(scope="session")
def pk2018() -> ResultsInput:
    from pollwatch.datasets import read

    return ResultsInput.of(
        read("pakistan-2018", Path(require_shared_data("pakistan-2018-constituency")).parent)
    )


@pytest.fixture(scope="session")
def pk2024() -> ResultsInput:
    from pollwatch.datasets import read

    return ResultsInput.of(
        read("pakistan-2024", Path(require_shared_data("pakistan-2024-constituency")).parent)
    )
