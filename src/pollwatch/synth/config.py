"""What a synthetic election should look like and which manipulations to inject."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

from pollwatch.errors import InputError

IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


class ManipulationKind(StrEnum):
    """Kinds of injected fraud; each leaves a known ground truth."""

    BALLOT_STUFFING = "ballot_stuffing"
    """Extra ballots for the favoured candidate, up to ``strength`` of the station's non-voters."""
    VOTE_MOVING = "vote_moving"
    """``strength`` of every opponent's votes moved to the favoured candidate on the station sheet."""
    ALTERED_TOTALS = "altered_totals"
    """Official consolidated totals moved away from the station sheets in ``share`` of constituencies."""
    WITHHELD = "withheld"
    """``share`` of stations left out of the official consolidated statement."""
    COPIED_NUMBERS = "copied_numbers"
    """``share`` of stations whose count vector is copied from another station of the constituency."""
    ROUNDED_TURNOUT = "rounded_turnout"
    """``share`` of stations whose turnout is forced to a whole percentage."""


@dataclass(frozen=True)
class Manipulation:
    kind: ManipulationKind
    share: float
    """Fraction of stations (of constituencies for ALTERED_TOTALS) affected."""
    strength: float = 0.5
    """How strong the manipulation is, in [0, 1]; its meaning is given per kind."""

    def __post_init__(self) -> None:
        for name in ("share", "strength"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise InputError(
                    f"manipulation {name} out of range",
                    where=f"{self.kind}.{name}",
                    expected="a number between 0 and 1",
                    found=str(value),
                )


@dataclass(frozen=True)
class SynthConfig:
    """Shape of a synthetic election; every draw follows from ``seed``."""

    seed: int = 0
    n_stations: int = 10_000
    n_constituencies: int = 50
    n_candidates: int = 6
    mean_registered: float = 1_200.0
    mean_turnout: float = 0.52
    turnout_spread: float = 40.0
    """Beta concentration of station turnout around its constituency mean (higher = less spread)."""
    share_spread: float = 60.0
    """Dirichlet concentration of station vote shares around the constituency's (higher = less spread)."""
    rejected_rate: float = 0.03
    manipulations: tuple[Manipulation, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        checks = {
            "n_stations": self.n_stations >= 1,
            "n_constituencies": 1 <= self.n_constituencies <= self.n_stations,
            "n_candidates": self.n_candidates >= 2,
            "mean_turnout": 0.0 < self.mean_turnout < 1.0,
            "rejected_rate": 0.0 <= self.rejected_rate < 0.5,
        }
        for name, ok in checks.items():
            if not ok:
                raise InputError(
                    f"synthetic election setting {name} is out of range",
                    where=name,
                    found=str(getattr(self, name)),
                    expected="n_stations >= n_constituencies >= 1, n_candidates >= 2, "
                    "0 < mean_turnout < 1, 0 <= rejected_rate < 0.5",
                )
