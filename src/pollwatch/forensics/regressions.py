"""Turnout-vote regressions within regions (Myagkov-Ordeshook-Shakin; Sobyanin-Sukhovolsky).

If extra ballots are added for one party, stations with higher turnout give that party more than
all the additional voters (slope of votes/electorate on turnout above 1) while its rivals lose (negative
slopes). Regressions run within regions, where the electorate is more homogeneous.

References
----------
.. [1] Myagkov M., Ordeshook P. C., Shakin D. (2009). The Forensics of Election Fraud: Russia and Ukraine.
   Cambridge University Press, ch. 2.
.. [2] Sobyanin A., Sukhovolsky V. (1995), as implemented in EFToolkit ``sobyanin_sukhovolsky``
   (kkalininMI/EFToolkit @ca7b585, R/BasicElectionForensics.R): slope of share on turnout minus mean share.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from pollwatch.forensics.result import as_dict
from pollwatch.forensics.table import FloatArray, IntArray, StationTable

REFERENCES = (
    "Myagkov, Ordeshook & Shakin (2009), The Forensics of Election Fraud, Cambridge UP, ch. 2",
    "Sobyanin & Sukhovolsky (1995) via EFToolkit @ca7b585 R/BasicElectionForensics.R",
)
CAVEATS = (
    "Slopes reflect who lives where as much as fraud: a party popular in high-turnout areas has a high "
    "slope honestly. Only a winner slope > 1 together with falling rivals is the MOS pattern.",
    "Regions with fewer than 30 units are skipped.",
)


@dataclass(frozen=True)
class RegionSlope:
    region: str
    units: int
    leader_slope: float
    leader_se: float
    min_rival_slope: float
    sobyanin: float
    correlation: float
    flagged: bool


@dataclass(frozen=True)
class RegressionResult:
    """Per-region slopes and the regions showing the stuffing pattern."""

    test: str
    dataset: str
    regions: tuple[RegionSlope, ...]
    flagged_regions: tuple[str, ...]
    flagged_voter_share: float
    pooled_leader_slope: float
    pooled_sobyanin: float
    flagged: bool
    null: str
    caveats: tuple[str, ...]
    references: tuple[str, ...]

    def summary(self) -> dict[str, Any]:
        out = as_dict(self, drop=("regions",))
        out["regions_analysed"] = len(self.regions)
        return out


def _ols(x: FloatArray, y: FloatArray) -> tuple[float, float]:
    fit = stats.linregress(x, y)
    return float(fit.slope), float(fit.stderr)


def _region(
    name: str, t: FloatArray, votes: FloatArray, reg: FloatArray, leader: int, valid: FloatArray
) -> RegionSlope:
    slopes = [_ols(t, votes[:, j] / reg) for j in range(votes.shape[1])]
    lead, se = slopes[leader]
    rivals = [s for j, (s, _) in enumerate(slopes) if j != leader and votes[:, j].sum() > 0]
    share = votes[:, leader] / np.maximum(valid, 1)
    ss = _ols(t, share)[0] - float(share.mean())
    corr = float(np.corrcoef(t, share)[0, 1]) if t.std() > 0 and share.std() > 0 else 0.0
    low_rival = min(rivals) if rivals else 0.0
    # MOS pattern, with a 3-standard-error margin so that noise alone rarely triggers it.
    flag = bool(lead - 3 * se > 1.0 and low_rival < 0)
    return RegionSlope(name, int(t.size), lead, se, low_rival, ss, corr, flag)


def regressions(table: StationTable, *, min_units: int = 30) -> RegressionResult:
    """Regress each candidate's votes/electorate on turnout within every region [1]_ [2]_."""
    reg, given = table.require_turnout("regressions")
    keep = (reg > 0) & (given <= reg) & (table.valid > 0)
    region: IntArray = table.region if table.region is not None else np.zeros(table.n, dtype=np.int64)
    names = table.region_names or ("all",)
    t = given / np.maximum(reg, 1)
    out: list[RegionSlope] = []
    for code in np.unique(region[keep]):
        m = keep & (region == code)
        if m.sum() < min_units or t[m].std() == 0:
            continue
        out.append(
            _region(
                names[int(code)],
                t[m],
                table.votes[m].astype(float),
                reg[m].astype(float),
                table.leader,
                table.valid[m].astype(float),
            )
        )
    flagged = tuple(r.region for r in out if r.flagged)
    voters = {names[int(c)]: float(reg[keep & (region == c)].sum()) for c in np.unique(region[keep])}
    share_flagged = sum(voters[r] for r in flagged) / max(sum(voters.values()), 1.0)
    pooled = _ols(t[keep], table.leader_votes[keep] / reg[keep])[0]
    pshare = table.leader_votes[keep] / table.valid[keep]
    return RegressionResult(
        test="regressions",
        dataset=table.name,
        regions=tuple(out),
        flagged_regions=flagged,
        flagged_voter_share=share_flagged,
        pooled_leader_slope=pooled,
        pooled_sobyanin=_ols(t[keep], pshare)[0] - float(pshare.mean()),
        flagged=bool(flagged),
        null="clean data: winner slope in [0, 1] and rival slopes >= 0 (MOS); "
        "flag = winner slope > 1 by 3 s.e. "
        "with a falling rival",
        caveats=CAVEATS,
        references=REFERENCES,
    )
