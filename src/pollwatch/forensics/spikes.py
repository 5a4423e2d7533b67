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

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np

from pollwatch.errors import DataError
from pollwatch.forensics.betabinom import BetaBinomialMixture, Posterior, select_mixture
from pollwatch.forensics.result import as_dict, empirical_p, name_units
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
    stations_in_spikes: int
    """Stations whose share lies in a spike bin (the ``units_in_spikes`` name the first 20)."""
    units_in_spikes: tuple[dict[str, Any], ...]
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


def share_bins(shares: FloatArray, grid: int) -> FloatArray:
    """Share of units in each of ``grid`` bins centred on the density grid, right-closed as R's ``cut``."""
    # Bin j is (j - 1/2, j + 1/2] / (grid - 1), the lowest one closed: j = ceil(x (grid - 1) - 1/2).
    idx = np.clip(np.ceil(shares * (grid - 1) - 0.5), 0, grid - 1).astype(np.intp)
    return np.bincount(idx, minlength=grid) / max(shares.size, 1)


def fraud_pct(observed: FloatArray, peak: FloatArray, obs_bins: FloatArray, mean_bins: FloatArray) -> float:
    """100 x the excess share of units in bins whose observed density tops every resample [1]_ [2]_."""
    excess = np.maximum(0.0, obs_bins - mean_bins)
    return float(100 * excess[observed > peak].sum())


def _null_fraud(dens: FloatArray, bins: FloatArray) -> FloatArray:
    """fraud_pct of each resample judged against all the others: the statistic's own null (ours)."""
    order = np.argsort(dens, axis=0)
    top, second = order[-1], order[-2]
    cols = np.arange(dens.shape[1])
    first_v, second_v = dens[top, cols], dens[second, cols]
    total, others = bins.sum(axis=0), max(dens.shape[0] - 1, 1)
    out = np.empty(dens.shape[0])
    for j in range(dens.shape[0]):
        peak = np.where(top == j, second_v, first_v)
        out[j] = fraud_pct(dens[j], peak, bins[j], (total - bins[j]) / others)
    return out


def _density(shares: FloatArray, kernel: Kernel, bw: float, grid: int) -> FloatArray:
    return (
        r_density(shares, bw=bw, grid=grid)
        if kernel is Kernel.R_DENSITY
        else exact_density(shares, bw=bw, grid=grid)
    )


def _clean(table: StationTable) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    """(registered, turnout, votes, row index) of the units the test can use."""
    n, t = table.require_turnout("spikes")
    v = table.leader_votes
    keep: BoolArray = (n > 0) & (t > 0) & (t <= n) & (v >= 0) & (v <= t) & table.leader_stands
    if keep.sum() < 50:
        raise DataError(
            "spikes needs at least 50 stations with 0 < turnout <= registered where the leader stands",
            found=str(int(keep.sum())),
        )
    rows = np.flatnonzero(keep)
    return n[keep], t[keep], v[keep], rows


@dataclass(frozen=True)
class _Resampler:
    n: IntArray
    post_t: Posterior
    post_v: Posterior
    kernel: Kernel
    bw: float
    grid: int

    def one(self, seed: np.random.SeedSequence) -> tuple[FloatArray, FloatArray]:
        """Density and bin shares of one resample [2]_: turnout, then votes out of the new turnout."""
        rng = np.random.default_rng(seed)
        t_star = self.post_t.draw(self.n, rng)
        v_star = self.post_v.draw(t_star, rng)
        shares = np.divide(v_star, t_star, out=np.zeros(t_star.size), where=t_star > 0)
        return _density(shares, self.kernel, self.bw, self.grid), share_bins(shares, self.grid)

    def run(self, resamples: int, seed: int, workers: int) -> tuple[FloatArray, FloatArray]:
        """Every resample from its own spawned seed, so the result does not depend on ``workers``."""
        seeds = np.random.SeedSequence(seed).spawn(resamples)
        dens, bins = np.empty((resamples, self.grid)), np.empty((resamples, self.grid))

        def block(rows: range) -> None:
            for r in rows:
                dens[r], bins[r] = self.one(seeds[r])

        chunks = [range(i, resamples, max(workers, 1)) for i in range(max(workers, 1))]
        with ThreadPoolExecutor(max_workers=max(workers, 1)) as pool:
            list(pool.map(block, chunks))  # numpy's samplers release the GIL
        return dens, bins


def spikes(
    table: StationTable,
    *,
    resamples: int = 1000,
    bw: float = 1e-4,
    grid: int = 1001,
    seed: int = 1,
    kernel: Kernel | str = Kernel.R_DENSITY,
    alpha: float = 0.01,
    workers: int = 2,
) -> SpikesResult:
    """Run the resampled kernel density test on the leader's share of ballots cast [1]_ [2]_.

    Steps, as published: (1) fit beta-binomial mixtures to turnout | electorate and votes | turnout by
    EM on every station, growing the number of components from 1 to 5 until successive fitted
    densities correlate at 0.99 or more; (2) resample every station ``resamples`` times: a component
    from its posterior, p ~ Beta(y + alpha, n - y + beta), a count ~ Bin (turnout out of the
    electorate, then votes out of the resampled turnout); (3) estimate the share density on ``grid``
    points with bandwidth ``bw`` for the data and every resample; (4) in the bins where the observed
    density exceeds every resample, sum the observed share of stations minus the mean resampled share
    (bins of width 1/(grid - 1) centred on the grid points); (5) report 100 x that sum.
    The p-value is our addition, not the package's: each resample judged against the others in the
    same way gives the null distribution of ``fraud_pct`` itself (with R resamples about 1000/R grid
    bins top the maximum by chance alone, so "any spike" is not evidence; a ``fraud_pct`` above the
    null is). Only stations where the analysed party stands are used (a 0 % "peak" of stations where
    it fields no candidate is not a spike).
    """
    kernel = Kernel(kernel)
    n, t, v, rows = _clean(table)
    fit_t, fit_v = select_mixture(n, t), select_mixture(t, v)
    sampler = _Resampler(n, Posterior.create(fit_t, n, t), Posterior.create(fit_v, t, v), kernel, bw, grid)
    shares = v / t
    observed = _density(shares, kernel, bw, grid)
    dens, bins = sampler.run(resamples, seed, workers)
    return _result(
        table,
        rows,
        shares,
        observed,
        dens,
        bins,
        fits=(fit_t, fit_v),
        settings=(bw, resamples, seed, kernel, alpha),
    )


def _result(
    table: StationTable,
    rows: IntArray,
    shares: FloatArray,
    observed: FloatArray,
    dens: FloatArray,
    bins: FloatArray,
    *,
    fits: tuple[BetaBinomialMixture, BetaBinomialMixture],
    settings: tuple[float, int, int, Kernel, float],
) -> SpikesResult:
    bw, resamples, seed, kernel, alpha = settings
    grid_x = np.linspace(0, 1, observed.size)
    mean, peak = dens.mean(axis=0), dens.max(axis=0)
    obs_bins = share_bins(shares, observed.size)
    fraud = fraud_pct(observed, peak, obs_bins, bins.mean(axis=0))
    spike = observed > peak
    null = _null_fraud(dens, bins)
    p_value = empirical_p(fraud, null)
    in_spike = spike[np.clip(np.rint(shares * (observed.size - 1)).astype(np.int64), 0, observed.size - 1)]
    return SpikesResult(
        test="spikes",
        dataset=table.name,
        stations=int(rows.size),
        fraud_pct=fraud,
        spike_bins=tuple(float(x) for x in np.round(grid_x[spike], 4)),
        stations_in_spikes=int(in_spike.sum()),
        units_in_spikes=name_units(table, rows[in_spike], limit=20),
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
