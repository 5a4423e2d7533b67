"""The eforensics ``qbl`` posterior under the package's own priors, by block Metropolis.

The package [1]_ samples every unit's effects and class with JAGS. Here the unit effects stay integrated
out by the quadrature of :mod:`pollwatch.forensics.qbl` and only the 14 global parameters are sampled
from (marginal likelihood x prior):

1. Priors, as the package's ``qbl`` model states them: pi = (a_1, a_2, a_3) / sum with a_1 ~ U(0, 1)
   and a_2, a_3 ~ U(0, a_1), that is pi_2/pi_1 and pi_3/pi_1 independent U(0, 1); the six intercepts
   N(0, 1) (JAGS ``dnorm(0, 1)``, a precision); the six unit-effect variances Exp(5) (``dexp(5)`` on
   ``1 / precision``). The package's covariate coefficients (precision 10,000 on the intercept column)
   are left out: with no covariates they add an N(0, 0.01^2) shift, below the posterior sds.
2. Scale: logit of the two pi ratios, the intercepts, the log sds; the prior carries the Jacobian.
3. Blocks (:mod:`pollwatch.forensics.mcmc`): pi's ratios, the turnout and share parameters, the
   incremental class's, the extreme class's. Every evaluation re-places the quadrature at the proposed
   parameters (:func:`qbl.place_clean`, :func:`qbl.place_fraud`), so the chain samples the same
   marginal likelihood the ML fit maximises, with no drift from nodes held fixed; a block recomputes
   only the class rows it changes (pi's block none, a fraud class's block its own row).
4. Chains: one from each mode of the likelihood (the maximum, "fraud", and the honest-units fit,
   "honest"). With the unit effects integrated out the chains cross between the modes that each JAGS
   run of the package sticks to, so they are pooled; where pi_1's density has two peaks, the posterior
   is also summarised on each side of the valley between them (``modes``), which is what one JAGS run
   reports. Each chain's share of draws in each mode, its acceptance rates, split R-hat and effective
   sample sizes come with it.

Deviation, stated: the fraud proportions are continuous (see :mod:`pollwatch.forensics.qbl`).

References
----------
.. [1] R package eforensics (UMeforensics/eforensics_public @3017de5, MIT), ``R/ef_models.R``, function
   ``qbl`` (priors), ``R/ef_summary.R`` (posterior mean and HPD per parameter).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special, stats

from pollwatch.forensics import mcmc
from pollwatch.forensics.qbl import (
    _HALF_LOG_2PI,
    NAMES,
    QblFit,
    _Data,
    _data,
    _lse,
    place_clean,
    place_fraud,
)
from pollwatch.forensics.table import FloatArray

PRIOR = (
    "the package's qbl priors: pi_2/pi_1, pi_3/pi_1 ~ U(0, 1); intercepts ~ N(0, 1); unit-effect "
    "variances ~ Exp(5)"
)
BLOCKS: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("pi", (0, 1)),
    ("turnout_share", (2, 3, 4, 5)),
    ("incremental", (6, 7, 8, 9)),
    ("extreme", (10, 11, 12, 13)),
)
REPEATS = (3, 1, 1, 1)
FIRST_STEP = np.array([0.3, 0.3] + [0.03, 0.05] * 2 + [0.1, 0.1] * 4)


@dataclass(frozen=True)
class Estimate:
    """One parameter's posterior mean, sd and 95 % HPD interval."""

    mean: float
    sd: float
    hpd: tuple[float, float]


@dataclass(frozen=True)
class Diagnostic:
    """Split R-hat over all chains' halves and the effective sample size summed over chains."""

    split_rhat: float
    ess: float


@dataclass(frozen=True)
class ChainRun:
    """One chain: its start, seed, each block's acceptance rate and its share of draws per mode."""

    start: str
    seed: int
    acceptance: dict[str, float]
    time_in_mode: dict[str, float]


@dataclass(frozen=True)
class Mode:
    """The posterior restricted to one side of ``QblPosterior.split``: its probability and estimates."""

    probability: float
    parameters: dict[str, Estimate]


@dataclass(frozen=True)
class QblPosterior:
    """The whole posterior (all chains pooled) and, where pi_1's density has two peaks, each mode."""

    prior: str
    draws: int
    """Kept draws per chain (after ``warmup`` discarded sweeps)."""
    warmup: int
    chains: tuple[ChainRun, ...]
    parameters: dict[str, Estimate]
    """``pi[1]``-``pi[3]``, ``beta.tau`` ... ``beta.chi.s`` (the package's names) and ``sd.tau`` ...
    ``sd.chi.s`` (the unit effects' sds)."""
    diagnostics: dict[str, Diagnostic]
    split: float | None
    """The lowest point of pi_1's density between its two highest peaks (None: one peak)."""
    modes: dict[str, Mode]
    """``fraud`` (pi_1 below ``split``) and ``honest`` (above); empty with one peak."""


def _theta(x: FloatArray) -> FloatArray:
    return np.asarray(np.r_[special.expit(x[:2]), x[2:]], dtype=np.float64)


def log_prior(x: FloatArray) -> float:
    """The package's priors on the sampler's scale (step 1-2), Jacobian included."""
    ratios = -np.logaddexp(0.0, -x[:2]) - np.logaddexp(0.0, x[:2])
    intercepts = -0.5 * x[2::2] ** 2 - _HALF_LOG_2PI
    variance = np.exp(2 * x[3::2])
    spreads = np.log(10.0) - 5.0 * variance + 2 * x[3::2]
    return float(ratios.sum() + intercepts.sum() + spreads.sum())


def _log_integral(x: FloatArray, base: FloatArray, mu: float, log_sd: float) -> FloatArray:
    z = (x - mu) / np.exp(log_sd)
    return _lse(base - 0.5 * z * z - log_sd - _HALF_LOG_2PI, axis=-1)


class _Target:
    """Log posterior with the quadrature re-placed at every evaluation; a block's update recomputes
    only the class rows it changes (step 3)."""

    def __init__(self, d: _Data) -> None:
        self.d = d
        self.rows = np.zeros((3, d.n.size))
        self.pending = self.rows

    def start(self, x: FloatArray) -> float:
        value = self.trial(x, 1)
        self.accept()
        return value

    def trial(self, x: FloatArray, block: int) -> float:
        theta = _theta(x)
        rows = self.rows.copy()
        if block == 1:
            rows[0] = _clean_row(self.d, theta)
        if block == 1 or block == 2:
            rows[1] = _fraud_row(self.d, theta, 1)
        if block == 1 or block == 3:
            rows[2] = _fraud_row(self.d, theta, 2)
        self.pending = rows
        return loglik(self.d, theta, rows) + log_prior(x)

    def accept(self) -> None:
        self.rows = self.pending


def loglik(d: _Data, theta: FloatArray, rows: FloatArray) -> float:
    """The marginal log-likelihood from the (3, J) class rows."""
    log_pi = np.log(np.r_[1.0, theta[:2]]) - np.log(1.0 + theta[0] + theta[1])
    return float(_lse(rows + log_pi[:, None], axis=0).sum() + d.coef.sum())


def _clean_row(d: _Data, theta: FloatArray) -> FloatArray:
    mu, ls = theta[2::2], theta[3::2]
    x_a, b_a, x_w, b_w = place_clean(d, theta)
    return _log_integral(x_a, b_a, mu[0], ls[0]) + _log_integral(x_w, b_w, mu[1], ls[1])


def _fraud_row(d: _Data, theta: FloatArray, cls: int) -> FloatArray:
    """A fraud class's row: inner integrals over turnout and share, then over its outer nodes."""
    mu, ls = theta[2::2], theta[3::2]
    u_m, b_m, u_s, b_s, _, _, x_a, b_a, x_w, b_w = place_fraud(d, theta, cls)
    inner = _log_integral(x_a, b_a, mu[0], ls[0])[:, :, None] + _log_integral(x_w, b_w, mu[1], ls[1])
    wm = _log_normal(u_m, b_m, mu[2 * cls], ls[2 * cls])
    ws = _log_normal(u_s, b_s, mu[2 * cls + 1], ls[2 * cls + 1])
    total = inner + wm[None, :, None] + ws[None, None, :]
    return _lse(total.reshape(total.shape[0], -1), axis=1)


def _log_normal(u: FloatArray, base: FloatArray, mu: float, log_sd: float) -> FloatArray:
    z = (u - mu) / np.exp(log_sd)
    return np.asarray(base - 0.5 * z * z - log_sd - _HALF_LOG_2PI)


def start_point(fit: QblFit) -> FloatArray:
    """An ML fit on the sampler's scale, pi's ratios moved off their bounds 0 and 1."""
    ratios = np.clip(np.array(fit.pi[1:]) / fit.pi[0], 0.005, 0.98)
    pairs = np.column_stack([fit.coef, np.log(fit.sd)]).ravel()
    return np.asarray(np.r_[special.logit(ratios), pairs], dtype=np.float64)


def parameters(draws: FloatArray) -> dict[str, FloatArray]:
    """The reported parameters of (draws, 14) sampler-scale draws, by the package's names."""
    ratios = special.expit(draws[:, :2])
    total = 1.0 + ratios.sum(axis=1)
    out = {"pi[1]": 1.0 / total, "pi[2]": ratios[:, 0] / total, "pi[3]": ratios[:, 1] / total}
    for k, name in enumerate(NAMES):
        out[f"beta.{name.replace('_', '.')}"] = draws[:, 2 + 2 * k]
    for k, name in enumerate(NAMES):
        out[f"sd.{name.replace('_', '.')}"] = np.exp(draws[:, 3 + 2 * k])
    return out


def sample_qbl(
    n: FloatArray, a: FloatArray, w: FloatArray, *, starts: dict[str, QblFit], draws: int, seed: int
) -> QblPosterior:
    """One chain of ``draws`` (after ``draws // 2`` warm-up sweeps) from each start (step 5)."""
    d = _data(n.astype(np.float64), a.astype(np.float64), w.astype(np.float64))
    sweep = mcmc.Sweep(tuple(b for _, b in BLOCKS), REPEATS, FIRST_STEP)
    chains = [
        mcmc.sample(_Target(d), start_point(fit), sweep=sweep, draws=draws, warmup=draws // 2, seed=seed + k)
        for k, fit in enumerate(starts.values())
    ]
    values = [parameters(c.draws) for c in chains]
    pooled = {name: np.concatenate([v[name] for v in values]) for name in values[0]}
    split = mode_split(pooled["pi[1]"])
    modes: dict[str, Mode] = {}
    if split is not None:
        for label, keep in (("fraud", pooled["pi[1]"] < split), ("honest", pooled["pi[1]"] >= split)):
            if keep.any():
                modes[label] = Mode(float(keep.mean()), {k: _estimate(v[keep]) for k, v in pooled.items()})
    runs = tuple(
        ChainRun(label, seed + k, _rates(chain), _time_in_mode(v["pi[1]"], split))
        for k, (label, chain, v) in enumerate(zip(starts, chains, values, strict=True))
    )
    diagnostics = {
        name: Diagnostic(
            mcmc.split_rhat(np.stack([v[name] for v in values])),
            float(sum(mcmc.effective_size(v[name]) for v in values)),
        )
        for name in pooled
    }
    return QblPosterior(
        PRIOR,
        draws,
        draws // 2,
        runs,
        {k: _estimate(v) for k, v in pooled.items()},
        diagnostics,
        split,
        modes,
    )


def _estimate(v: FloatArray) -> Estimate:
    return Estimate(float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else 0.0, mcmc.hpd(v))


def _rates(chain: mcmc.Chain) -> dict[str, float]:
    return {name: rate for (name, _), rate in zip(BLOCKS, chain.acceptance, strict=True)}


def _time_in_mode(pi_1: FloatArray, split: float | None) -> dict[str, float]:
    if split is None:
        return {}
    below = float((pi_1 < split).mean())
    return {"fraud": below, "honest": 1.0 - below}


MODE_MASS = 0.05
"""The least share of the draws a second mode holds, on its side of the valley, to count as one."""


def mode_split(pi_1: FloatArray, *, grid: int = 400) -> float | None:
    """The lowest point of a Gaussian kernel density of pi_1 (Scott's bandwidth) between its highest peak
    and the highest other peak that is a mode: a valley below 80 % of the lower peak between them, and
    at least :data:`MODE_MASS` of the draws on its side of the valley. None when no other peak is. A
    mode is told by the draws it holds, not by its height: a broad mode (dc2010's fraud mode spreads
    over pi_1 0.5-0.75) stands far lower than a narrow one of the same mass, while the small bumps of a
    kernel density's tails hold almost no draws."""
    if np.ptp(pi_1) <= 0:
        return None
    xs = np.linspace(float(pi_1.min()), float(pi_1.max()), grid)
    density = stats.gaussian_kde(pi_1)(xs)
    peaks = np.flatnonzero((density[1:-1] > density[:-2]) & (density[1:-1] >= density[2:])) + 1
    if peaks.size < 2:
        return None
    ordered = peaks[np.argsort(density[peaks])[::-1]]
    top = int(ordered[0])
    for other in (int(p) for p in ordered[1:]):
        lo, hi = min(top, other), max(top, other)
        valley = lo + int(np.argmin(density[lo : hi + 1]))
        if density[valley] >= 0.8 * min(density[lo], density[hi]):
            continue
        split = float(xs[valley])
        held = (pi_1 < split) if other < top else (pi_1 >= split)
        if float(held.mean()) >= MODE_MASS:
            return split
    return None
