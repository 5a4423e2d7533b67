"""What every forensic test returns in common: its verdict, caveats, references and calibration note."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any, Protocol

import numpy as np


class ForensicResult(Protocol):
    """The shared surface of every test's frozen result dataclass."""

    @property
    def test(self) -> str: ...
    @property
    def dataset(self) -> str: ...
    @property
    def flagged(self) -> bool: ...
    @property
    def caveats(self) -> tuple[str, ...]: ...
    @property
    def references(self) -> tuple[str, ...]: ...

    def summary(self) -> dict[str, Any]: ...


def plain(value: Any) -> Any:
    """Turn numpy scalars/arrays and nested dataclasses into JSON-ready Python values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return [plain(x) for x in value.tolist()]
    if isinstance(value, (list, tuple)):
        return [plain(x) for x in value]
    if isinstance(value, np.generic):
        return plain(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def as_dict(result: Any, *, drop: tuple[str, ...] = ()) -> dict[str, Any]:
    """Every field of a result dataclass except those in ``drop`` (large arrays), JSON-ready."""
    return {f.name: plain(getattr(result, f.name)) for f in dataclasses.fields(result) if f.name not in drop}


def empirical_p(observed: float, draws: np.ndarray[Any, Any], *, upper: bool = True) -> float:
    """One-sided Monte Carlo p-value with the +1 correction (Davison & Hinkley 1997, eq. 4.11)."""
    extreme = np.count_nonzero(draws >= observed) if upper else np.count_nonzero(draws <= observed)
    return float((extreme + 1) / (draws.size + 1))


def name_units(table: Any, rows: Any, *, limit: int = 20) -> tuple[dict[str, Any], ...]:
    """The first ``limit`` units of ``rows`` by their code, with the figures a reader checks first.

    Each entry: ``unit`` (the source's code), ``registered``, ``ballots`` (turnout numerator),
    ``valid``, ``leader_votes``, the leader's ``share`` of valid votes and ``turnout`` (when known),
    and ``link`` to the unit's page where the table has one.
    """
    out = []
    for row in [int(r) for r in np.asarray(rows).ravel()[:limit]]:
        entry: dict[str, Any] = {"unit": table.code(row)}
        if table.registered is not None:
            entry["registered"] = int(table.registered[row])
        if table.given is not None:
            entry["ballots"] = int(table.given[row])
        entry["valid"] = int(table.valid[row])
        entry["leader_votes"] = int(table.leader_votes[row])
        valid = int(table.valid[row])
        entry["share"] = round(entry["leader_votes"] / valid, 4) if valid else None
        if table.registered is not None and table.given is not None and table.registered[row] > 0:
            entry["turnout"] = round(int(table.given[row]) / int(table.registered[row]), 4)
        if table.links:
            entry["link"] = table.links[row]
        out.append(entry)
    return tuple(out)
