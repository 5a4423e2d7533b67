"""The in-memory synthetic election: station arrays, official totals and the ground truth."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pollwatch.synth.config import BoolArray, IntArray, SynthConfig


@dataclass(frozen=True)
class GroundTruth:
    """What was manipulated, where, and by how much; never shown to the code under test."""

    favoured: int
    """Candidate column the manipulations help."""
    stuffed: BoolArray
    moved: BoolArray
    copied: BoolArray
    rounded: BoolArray
    withheld: BoolArray
    altered: BoolArray
    """Per constituency: official totals altered away from the station sheets."""
    added_votes: IntArray
    """Per station: votes the favoured candidate gained on the station sheet."""
    official_shift: IntArray
    """Per constituency and candidate: official total minus the sum of non-withheld station sheets."""

    def as_dict(self) -> dict[str, object]:
        """Indices of every manipulated station/constituency, for a JSON file beside the database."""
        return {
            "favoured": self.favoured,
            **{
                name: np.flatnonzero(getattr(self, name)).tolist()
                for name in ("stuffed", "moved", "copied", "rounded", "withheld", "altered")
            },
            "added_votes_total": int(self.added_votes.sum()),
            "official_shift": {
                str(c): row.tolist() for c, row in enumerate(self.official_shift) if row.any()
            },
        }


@dataclass(frozen=True)
class SyntheticElection:
    """Station-level results of a synthetic election (n stations, k candidate columns)."""

    config: SynthConfig
    registered: IntArray
    constituency: IntArray
    votes: IntArray
    """What the station sheets (Form-45) say, after station-level manipulation."""
    clean_votes: IntArray
    rejected: IntArray
    official: IntArray
    """Official consolidated totals per constituency (Form-47/49)."""
    official_withheld: BoolArray
    truth: GroundTruth
    booths: IntArray
    constituency_codes: tuple[str, ...]
    station_numbers: tuple[str, ...]
    candidate_names: tuple[tuple[str, ...], ...]
    """Per constituency, the candidate in each column ("" where the column is unused)."""
    candidate_parties: tuple[tuple[str | None, ...], ...]
    regions: tuple[str, ...]
    """Per constituency, its region."""
    generated: BoolArray | None = None
    """Per station: generated because the real polling scheme lists too few voters (None: none)."""

    @property
    def polled(self) -> IntArray:
        result: IntArray = self.votes.sum(axis=1) + self.rejected
        return result

    @property
    def clean_polled(self) -> IntArray:
        result: IntArray = self.clean_votes.sum(axis=1) + self.rejected
        return result

    @property
    def n_stations(self) -> int:
        return int(self.registered.shape[0])

    @property
    def n_constituencies(self) -> int:
        return len(self.constituency_codes)

    def station_sums(self, *, include_withheld: bool = True) -> IntArray:
        """Per constituency and candidate: the sum of the station sheets."""
        keep = np.ones(self.n_stations, dtype=bool) if include_withheld else ~self.official_withheld
        out = np.zeros((self.n_constituencies, self.votes.shape[1]), dtype=np.int64)
        np.add.at(out, self.constituency[keep], self.votes[keep])
        return out
