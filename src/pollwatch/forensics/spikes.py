"""Rozenas' resampled kernel density (RKD) test for spikes in the vote-share distribution.

Officials who invent results over-use "nice" shares (50 %, 2/3, 75 %), but small denominators also
produce such shares honestly. RKD fits smooth beta-binomial mixtures to turnout and to votes, resamples
every station from them R times, and counts the share of stations sitting in density spikes higher than
any resample produced.

References
----------
.. [1] Rozenas A. (2017). "Detecting Election Fraud from Irregularities in Vote-Share Distributions".
   Political Analysis 25(1):41-56, doi:10.1017/pan.2016.9.
.. [2] R package ``spikes`` 1.1 (CRAN, Rozenas; GPL >= 2): defaults bw = 1e-4, grid = 1001, R = 1000.
   Re-implemented from the description, not ported.
.. [3] R Core Team, ``stats::density.default`` (linear binning on 2^k points, FFT convolution, linear
   interpolation to the requested grid), whose estimator the spikes package evaluates.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np

from pollwatch.errors import DataError
from pollwatch.forensics.betabinom import BetaBinomialMixture, Predictive, select_mixture
from pollwatch.forensics.result import as_dict, empirical_p
from pollwatch.forensics.table import BoolArray, FloatArray, IntArray, StationTable

REFERENCES = (
    "Rozenas (2017), Political Analysis 25(1):41-56, doi:10.1017/pan.2016.9",
    "R package spikes 1.1 (CRAN) defaults: bw 1e-4, 1001 grid points, 1000 resamples",
)
CAVEATS = (
    "fraud_pct is the share of stations in unexplained spikes, not the share of fraudulent votes.",
    "Spikes at coarse shares can be honest in very small units; the resampling null accounts for "
    "denominators, but not for genuinely clustered electorates (closed institutions, military units).",
)


class Kernel(StrEnum):
    R_DENSITY = "r-density"
    """R's binned estimator (what the spikes package evaluates)."""
    EXACT = "exact"
    """The Gaussian kernel sum evaluated exactly at each grid point."""


@dataclass(frozen=True)
class SpikesResult:
    """Estimated percentage of stations in spikes, with the densities it was computed from."""

    test: str
    dataset: str
    stations: int
    fraud_pct: float
    p_value: float
    """Share of resamples that, judged against the others, show at least as much 'fraud'."""
    null_fraud_mean: float
    null_fraud_q99: float
    spike_bins: tuple[float, ...]
    components_turnout: int
    components_votes: int
    bandwidth: float
    grid_points: int
    resamples: int
    seed: int
    kernel: str
    flagged: bool
    null: str
    caveats: tuple[str, ...]
    references: tuple[str, ...]
    grid: FloatArray
    observed: FloatArray
    resampled_mean: FloatArray
    resampled_max: FloatArray

    def summary(self) -> dict[str, Any]:
        return as_dict(self, drop=("grid", "observed", "resampled_mean", "resampled_max"))


def r_density(shares: FloatArray, *, bw: float, grid: int, weights: FloatArray | None = None) -> FloatArray:
    """R's ``density(x, bw, n = grid, from = 0, to = 1)`` for a Gaussian kernel [3]_.

    Linear binning onto ``m = 2^ceil(log2(grid))`` points on [-4 bw, 1 + 4 bw], convolution with the
    kernel (truncated at 8 bw, where R's FFT result is below double precision), linear interpolation.
    """
    m = max(grid, 512)
    m = int(2 ** np.ceil(np.log2(m))) if m > 512 else m
    lo, up = -4 * bw, 1 + 4 * bw
    delta = (up - lo) / (m - 1)
    w = np.full(shares.size, 1.0 / max(shares.size, 1)) if weights is None else weights
    pos = (shares - lo) / delta
    ix = np.floor(pos).astype(np.int64)
    fx = pos - ix
    if ix.min(initial=0) < 0 or ix.max(initial=0) > m - 2:  # shares outside [0, 1]: drop them
        ok = (ix >= 0) & (ix <= m - 2)
        ix, fx, w = ix[ok], fx[ok], w[ok]
    binned = np.bincount(ix, w * (1 - fx), minlength=m) + np.bincount(ix + 1, w * fx, minlength=m)
    reach = int(np.ceil(8 * bw / delta))
    offsets = np.arange(-reach, reach + 1) * delta
    kernel = np.exp(-0.5 * (offsets / bw) ** 2) / (bw * np.sqrt(2 * np.pi))
    dens = np.convolve(binned[:m], kernel, mode="same") if reach else binned[:m] * kernel[0]
    return np.interp(np.linspace(0, 1, grid), np.linspace(lo, up, m), np.maximum(dens, 0))


def exact_density(shares: FloatArray, *, bw: float, grid: int) -> FloatArray:
    """Gaussian kernel density at ``grid`` equally spaced points on [0, 1], summing points within 8 bw."""
    step = 1 / (grid - 1)
    reach = int(np.ceil(8 * bw / step))
    nearest = np.rint(shares / step).astype(np.int64)
    out = np.zeros(grid)
    for off in range(-reach, reach + 1):
        j = nearest + off
        ok = (j >= 0) & (j < grid)
        z = (shares[ok] - j[ok] * step) / bw
        out += np.bincount(j[ok], np.exp(-0.5 * z * z), minlength=grid)
    scaled: FloatArray = out / (max(shares.size, 1) * bw * np.sqrt(2 * np.pi))
    return scaled


def fraud_pct(observed: FloatArray, mean: FloatArray, peak: FloatArray) -> tuple[float, BoolArray]:
    """100 x the summed excess share in bins where ``observed`` exceeds every resample ([1]_, step 4-5)."""
    spike = observed > peak
    excess = np.maximum(0.0, observed / observed.sum() - mean / mean.sum())
    return float(100 * excess[spike].sum()), spike


def _null_fraud(dens: FloatArray, mean: FloatArray) -> FloatArray:
    """fraud_pct of each resample judged against all the others: the statistic's own null."""
    order = np.argsort(dens, axis=0)
    top, second = order[-1], order[-2]
    cols = np.arange(dens.shape[1])
    first_v, second_v = dens[top, cols], dens[second, cols]
    out = np.empty(dens.shape[0])
    for j in range(dens.shape[0]):
        others = np.where(top == j, second_v, first_v)
        out[j] = fraud_pct(dens[j], mean, others)[0]
    return out


def _density(shares: FloatArray, kernel: Kernel, bw: float, grid: int) -> FloatArray:
    return (
        r_density(shares, bw=bw, grid=grid)
        if kernel is Kernel.R_DENSITY
        else exact_density(shares, bw=bw, grid=grid)
    )


def _clean(table: StationTable) -> tuple[IntArray, IntArray, IntArray]:
    n, t = table.require_turnout("spikes")
    v = table.leader_votes
    keep: BoolArray = (n > 0) & (t > 0) & (t <= n) & (v >= 0) & (v <= t)
    if keep.sum() < 50:
        raise DataError(
            "spikes needs at least 50 stations with 0 < turnout <= registered", found=str(int(keep.sum()))
        )
    return n[keep], t[keep], v[keep]


def _fit(n: IntArray, y: IntArray, rng: np.random.Generator, seed: int) -> BetaBinomialMixture:
    pick = rng.choice(n.size, size=min(n.size, 10_000), replace=False)
    return select_mixture(n[pick], y[pick], seed=seed)


def spikes(
    table: StationTable,
    *,
    resamples: int = 1000,
    bw: float = 1e-4,
    grid: int = 1001,
    seed: int = 1,
    kernel: Kernel | str = Kernel.R_DENSITY,
    alpha: float = 0.01,
) -> SpikesResult:
    """Run the resampled kernel density test on the leader's share of ballots cast [1]_ [2]_.

    Steps: (1) fit beta-binomial mixtures to turnout | electorate and votes | turnout by EM, growing the
    number of components until successive fits agree; (2) resample each station ``resamples`` times
    from its posterior; (3) estimate the share density on ``grid`` points with bandwidth ``bw`` for the
    data and every resample; (4) in bins where the observed density exceeds every resample, sum the
    observed share minus the mean resampled share; (5) report that sum as a percentage of stations.
    The p-value (not in the package) judges each resample against the others in the same way, which
    gives the null distribution of ``fraud_pct`` itself: with R resamples about 1000/R grid bins exceed
    the maximum by chance alone, so "any spike" is not evidence; a ``fraud_pct`` above the null is.
    """
    kernel = Kernel(kernel)
    n, t, v = _clean(table)
    rng = np.random.default_rng(seed)
    fit_t, fit_v = _fit(n, t, rng, seed), _fit(t, v, rng, seed)
    pred_t, pred_v = Predictive.create(fit_t, n, t), Predictive.create(fit_v, t, v)
    observed = _density(v / t, kernel, bw, grid)
    dens = np.empty((resamples, grid))
    fixed_t = pred_t.moments(n)
    for r in range(resamples):
        t_star = pred_t.draw(n, rng, fixed=fixed_t)
        v_star = pred_v.draw(t_star, rng)
        ok = t_star > 0
        dens[r] = _density(v_star[ok] / t_star[ok], kernel, bw, grid)
    return _result(
        table,
        n.size,
        observed,
        dens,
        fits=(fit_t, fit_v),
        bw=bw,
        resamples=resamples,
        seed=seed,
        kernel=kernel,
        alpha=alpha,
    )


def _result(
    table: StationTable,
    stations: int,
    observed: FloatArray,
    dens: FloatArray,
    *,
    fits: tuple[BetaBinomialMixture, BetaBinomialMixture],
    bw: float,
    resamples: int,
    seed: int,
    kernel: Kernel,
    alpha: float,
) -> SpikesResult:
    grid_x = np.linspace(0, 1, observed.size)
    mean, peak = dens.mean(axis=0), dens.max(axis=0)
    fraud, spike = fraud_pct(observed, mean, peak)
    null = _null_fraud(dens, mean)
    p_value = empirical_p(fraud, null)
    return SpikesResult(
        test="spikes",
        dataset=table.name,
        stations=stations,
        fraud_pct=fraud,
        spike_bins=tuple(float(x) for x in np.round(grid_x[spike], 4)),
        components_turnout=fits[0].components,
        components_votes=fits[1].components,
        bandwidth=bw,
        grid_points=observed.size,
        resamples=resamples,
        seed=seed,
        kernel=kernel.value,
        p_value=p_value,
        null_fraud_mean=float(null.mean()),
        null_fraud_q99=float(np.quantile(null, 0.99)),
        flagged=bool(p_value < alpha and fraud > 0),
        null=f"beta-binomial mixture resampling (L = {fits[0].components}/{fits[1].components}), "
        f"R = {resamples}",
        caveats=CAVEATS,
        references=REFERENCES,
        grid=grid_x,
        observed=observed,
        resampled_mean=mean,
        resampled_max=peak,
    )
