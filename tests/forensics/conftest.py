"""Fixtures for the forensics tests: the shared data folder and small synthetic tables."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pollwatch.forensics import StationTable, from_synthetic, load_dataset
from pollwatch.synth import SynthConfig, generate
from tests.conftest import require_shared_data

RESULTS = Path(__file__).parent / "results"


def reference(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((RESULTS / name).read_text(encoding="utf-8"))
    return data


@functools.lru_cache(maxsize=8)
def dataset(spec: str) -> StationTable:
    """Load a shared dataset, skipping (or failing in CI) when the folder is absent."""
    require_shared_data(spec.partition(":")[0])
    return load_dataset(spec, data_dir=require_shared_data())


@pytest.fixture(scope="session")
def clean_table() -> StationTable:
    return from_synthetic(generate(SynthConfig(seed=11, n_stations=3000, n_constituencies=30)))


def tiny_table(
    votes: list[list[int]], *, registered: list[int] | None = None, invalid: list[int] | None = None
) -> StationTable:
    v = np.asarray(votes, dtype=np.int64)
    inv = np.asarray(invalid or [0] * len(votes), dtype=np.int64)
    reg = None if registered is None else np.asarray(registered, dtype=np.int64)
    return StationTable(
        name="tiny",
        candidates=tuple(f"c{i}" for i in range(v.shape[1])),
        votes=v,
        valid=v.sum(axis=1),
        invalid=inv,
        registered=reg,
        given=None if reg is None else v.sum(axis=1) + inv,
    )
