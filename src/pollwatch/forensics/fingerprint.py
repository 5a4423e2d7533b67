"""The turnout x vote-share "fingerprint" and the shape of the log vote rate.

In clean elections the 2-D histogram of (turnout, winner share) is one compact blob and the
standardised log vote rate is close to normal. Ballot stuffing smears the blob toward (100 %, 100 %)
and gives the vote-rate distribution a heavy tail (high kurtosis, negative skew).

References
----------
.. [1] Klimek P., Yegorov Y., Hanel R., Thurner S. (2012). "Statistical detection of systematic election
   irregularities". PNAS 109(41):16469-16473, doi:10.1073/pnas.1210722109 (Fig. 1-2, the data collapse).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from pollwatch.errors import DataError
from pollwatch.forensics.result import as_dict
from pollwatch.forensics.table import FloatArray, StationTable

REFERENCES = (
    "Klimek, Yegorov, Hanel & Thurner (2012), PNAS 109(41):16469-16473, doi:10.1073/pnas.1210722109",
)
CAVEATS = (
    "Genuinely bimodal electorates (Quebec in Canada, Crimea in Russia 2018) also smear the fingerprint.",
    "Kurtosis is driven by a few extreme units; check them one by one before reading it as fraud.",
    "The flag thresholds (|skewness| > 0.5 or kurtosis > 4) are rules of thumb; see the calibration.",
)


@dataclass(frozen=True)
class FingerprintResult:
    """2-D histogram (turnout rows x share columns, weighted by voters) and vote-rate moments."""

    test: str
    dataset: str
    stations: int
    bins: int
    skewness: float
    kurtosis: float
    """Pearson kurtosis (3 for a normal distribution)."""
    share_at_high_corner: float
    """Fraction of voters in units with turnout > 90 % and winner share > 90 %."""
    turnout_share_corr: float
    flagged: bool
    null: str
    caveats: tuple[str, ...]
    references: tuple[str, ...]
    histogram: FloatArray

    def summary(self) -> dict[str, Any]:
        return as_dict(self, drop=("histogram",))


def rates(table: StationTable) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(turnout, leader share of valid votes, registered) for units with voters and valid votes where
    the leader stands."""
    reg, given = table.require_turnout("fingerprint")
    keep = (reg > 0) & (table.valid > 0) & (given <= reg) & table.leader_stands
    if keep.sum() < 10:
        raise DataError("the fingerprint needs at least 10 units with voters", found=str(int(keep.sum())))
    turnout = given[keep] / reg[keep]
    share = table.leader_votes[keep] / table.valid[keep]
    return turnout, share, reg[keep].astype(np.float64)


def log_vote_rate(table: StationTable) -> FloatArray:
    """ln((valid - W) / W) for units where the winner has some but not all votes [1]_."""
    w, valid = table.leader_votes, table.valid
    ok = (w > 0) & (w < valid) & table.leader_stands
    return np.asarray(np.log((valid[ok] - w[ok]) / w[ok]))


def fingerprint(table: StationTable, *, bins: int = 100) -> FingerprintResult:
    """Build the fingerprint and the moments of the standardised log vote rate [1]_."""
    turnout, share, reg = rates(table)
    hist, _, _ = np.histogram2d(turnout, share, bins=bins, range=[[0, 1], [0, 1]], weights=reg)
    lvr = log_vote_rate(table)
    z = (lvr - lvr.mean()) / (lvr.std() or 1.0)
    skew = float(stats.skew(z))
    kurt = float(stats.kurtosis(z, fisher=False))
    corner = float(reg[(turnout > 0.9) & (share > 0.9)].sum() / reg.sum())
    return FingerprintResult(
        test="fingerprint",
        dataset=table.name,
        stations=int(turnout.size),
        bins=bins,
        skewness=skew,
        kurtosis=kurt,
        share_at_high_corner=corner,
        turnout_share_corr=float(np.corrcoef(turnout, share)[0, 1]),
        flagged=bool(abs(skew) > 0.5 or kurt > 4.0),
        null="a normal log vote rate (skewness 0, kurtosis 3): Klimek's clean-election data collapse",
        caveats=CAVEATS,
        references=REFERENCES,
        histogram=hist,
    )
