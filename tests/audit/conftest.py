"""The real 2018 dataset, read once per session (files only, no database)."""

from pathlib import Path

import pytest

from pollwatch.tally.inputs import ResultsInput
from tests.conftest import require_shared_data


@pytest.fixture(scope="session")
def pk2018() -> ResultsInput:
    from pollwatch.datasets import read

    data = require_shared_data("pakistan-2018-constituency")
    return ResultsInput.of(read("pakistan-2018", Path(data).parent))
