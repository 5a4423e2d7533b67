"""Parallel vote tabulation: a published-seed station sample and design-based share estimates.

Drawing the sample (anyone can redraw it from the seed):

1. For every station compute ``SHA-256(seed || 0x00 || key)`` where ``key`` is
   ``"<constituency code>/<station serial>"`` in UTF-8 and ``seed`` the published seed in UTF-8.
2. Within each stratum (by default the constituency) sort stations by that digest, as hex, ascending.
3. Stratum ``h`` of ``N_h`` stations gets ``n_h = min(N_h, max(minimum, round(n * N_h / N)))``
   stations (proportional allocation, Python's round-half-even); take the first ``n_h``.

Estimating (combined ratio estimator, stations as clusters of voters):

``p_k = Y_k / X`` with ``Y_k = sum_h N_h/n_h sum_i y_hik`` and ``X = sum_h N_h/n_h sum_i x_hi``
(``x`` = valid votes for shares, registered voters for turnout). Its variance by Taylor
linearisation uses the station residuals ``z_hi = (y_hik - p_k x_hi) / X``:
``V(p_k) = sum_h N_h^2 (1 - n_h/N_h) s_h^2(z) / n_h`` (``s_h^2`` with ``n_h - 1`` degrees of
freedom; a stratum with one sampled station adds nothing and is reported). Because whole stations
are the units, voters clustered in a station are accounted for (cluster-robust). The 95 % margin of
error is ``1.959964 * sqrt(V)``.

References
----------
.. [1] W. G. Cochran, *Sampling Techniques*, 3rd ed., Wiley, 1977, sections 5A.2 and 6.11-6.12
   (stratified and combined ratio estimators and their variances).
.. [2] M. Estok, N. Nevitte, G. Cowan, *The Quick Count and Election Observation*, NDI, 2002, ch. 5.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from pollwatch.errors import InputError

Z95 = 1.959964


@dataclass(frozen=True)
class ShareEstimate:
    column: int
    share: float
    se: float
    moe: float
    """Half-width of the 95 % interval."""

    @property
    def low(self) -> float:
        return self.share - self.moe

    @property
    def high(self) -> float:
        return self.share + self.moe


@dataclass(frozen=True)
class Comparison:
    """One official share against the projection's interval."""

    column: int
    official: float
    projected: float
    moe: float
    z: float
    outside: bool


def sample_digest(seed: str, key: str) -> str:
    """Step 1 of the draw: the hex SHA-256 of ``seed || 0x00 || key``."""
    return hashlib.sha256(seed.encode() + b"\x00" + key.encode()).hexdigest()


def draw_sample(
    keys: Sequence[str], strata: Sequence[str], *, seed: str, size: int, minimum: int = 2
) -> list[int]:
    """Indices of the sampled stations (steps 1-3), in stratum then digest order."""
    if len(keys) != len(strata):
        raise InputError("one stratum per station", expected=str(len(keys)), found=str(len(strata)))
    if not 0 < size <= len(keys):
        raise InputError("sample size out of range", expected=f"1..{len(keys)}", found=str(size))
    members: dict[str, list[int]] = {}
    for i, stratum in enumerate(strata):
        members.setdefault(stratum, []).append(i)
    chosen: list[int] = []
    for stratum in sorted(members):
        idx = members[stratum]
        n_h = min(len(idx), max(minimum, round(size * len(idx) / len(keys))))
        ranked = sorted(idx, key=lambda i: sample_digest(seed, keys[i]))
        chosen.extend(ranked[:n_h])
    return chosen


def estimate_ratios(
    y: NDArray[np.int64],
    x: NDArray[np.int64],
    *,
    strata: NDArray[np.int64],
    population: NDArray[np.int64],
) -> list[ShareEstimate]:
    """Combined ratio estimates ``sum y_k / sum x`` with linearised stratified variance.

    Parameters
    ----------
    y
        (m, K) sampled numerators, e.g. votes per candidate or party at each sampled station.
    x
        (m,) sampled denominators: valid votes (shares) or registered voters (turnout).
    strata
        (m,) stratum index of each sampled station, 0..H-1.
    population
        (H,) number of stations ``N_h`` in each stratum.
    """
    if y.ndim != 2 or y.shape[0] != x.shape[0] or strata.shape[0] != x.shape[0]:
        raise InputError(
            "sample arrays disagree in length", found=f"y{y.shape} x{x.shape} strata{strata.shape}"
        )
    h = len(population)
    n_h = np.bincount(strata, minlength=h).astype(float)
    if np.any(n_h[strata] == 0) or np.any(n_h > population):
        raise InputError("a stratum has more sampled stations than it has", expected="n_h <= N_h")
    w = population[strata] / n_h[strata]
    big_x = float(np.sum(w * x))
    if big_x <= 0:
        raise InputError("the sampled denominators add up to zero", expected="some votes in the sample")
    p = (w[:, None] * y).sum(axis=0) / big_x
    z = (y - p[None, :] * x[:, None]) / big_x
    var = np.zeros(y.shape[1])
    for s in range(h):
        rows = z[strata == s]
        if rows.shape[0] < 2:
            continue
        fpc = 1.0 - rows.shape[0] / population[s]
        var += population[s] ** 2 * fpc * rows.var(axis=0, ddof=1) / rows.shape[0]
    se = np.sqrt(var)
    return [ShareEstimate(k, float(p[k]), float(se[k]), float(Z95 * se[k])) for k in range(y.shape[1])]


def compare(estimates: Sequence[ShareEstimate], official: Sequence[float]) -> list[Comparison]:
    """Each official share against the projection: its z-score and whether it falls outside the 95 % MOE."""
    out = []
    for est, value in zip(estimates, official, strict=True):
        z = (value - est.share) / est.se if est.se > 0 else (0.0 if value == est.share else float("inf"))
        out.append(Comparison(est.column, value, est.share, est.moe, z, abs(value - est.share) > est.moe))
    return out
