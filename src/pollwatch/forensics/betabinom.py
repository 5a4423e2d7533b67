"""Finite mixtures of beta-binomial distributions fitted by EM on every unit, and posterior resampling.

Used by the resampled kernel density test (Rozenas 2017) to describe turnout given electorate and
votes given turnout without the arithmetic "spikes" that small denominators create. The EM is the
textbook one [2]_: the E-step computes each unit's responsibilities, the M-step maximises the weighted
beta-binomial likelihood of every component (Newton steps on log alpha and log beta, all components at
once, bounded as in the reference package: log alpha, log beta in [-3, 6]).

References
----------
.. [1] Rozenas A. (2017). "Detecting Election Fraud from Irregularities in Vote-Share Distributions".
   Political Analysis 25(1):41-56, doi:10.1017/pan.2016.9, section 3 (the resampling model).
.. [2] Dempster, Laird & Rubin (1977). "Maximum likelihood from incomplete data via the EM algorithm".
   J. R. Stat. Soc. B 39(1):1-38.
.. [3] R package ``spikes`` 1.1 (CRAN): M-step by L-BFGS-B on log parameters bounded to [-3, 6]; the
   number of components grows from 1 to 5 until successive fitted densities on 1,001 points of
   [0.01, 0.99] correlate at 0.99 or more. Re-implemented from that description, not ported.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import special, stats

from pollwatch.forensics.table import FloatArray, IntArray

LOG_BOUNDS = (-3.0, 6.0)
"""Bounds of log alpha and log beta in the reference package's M-step [3]_."""
DENSITY_GRID = np.linspace(0.01, 0.99, 1001)
"""Where successive fitted densities are compared [3]_."""


@dataclass(frozen=True)
class BetaBinomialMixture:
    """Weights and (alpha, beta) of each component; ``loglik`` without the binomial coefficients."""

    weights: FloatArray
    alpha: FloatArray
    beta: FloatArray
    loglik: float
    iterations: int

    @property
    def components(self) -> int:
        return int(self.weights.size)

    def density(self, grid: FloatArray) -> FloatArray:
        """Mixture density of the underlying proportion on ``grid`` (used to choose the size)."""
        pdf = stats.beta.pdf(grid[:, None], self.alpha[None, :], self.beta[None, :])
        return np.asarray(pdf @ self.weights)

    def posterior(self, n: IntArray, y: IntArray) -> FloatArray:
        """Responsibility of each component (rows) for each unit (columns)."""
        return _e_step(_Counts.create(n, y), self.weights, self.alpha, self.beta)[0]


@dataclass(frozen=True)
class _Counts:
    """Units indexed by their distinct values of y, n - y and n (a few thousand, not one per unit).

    Every special function of the likelihood and its derivatives depends on one of these three values
    and on a component's parameters, so it is evaluated on the distinct values only and gathered: the
    EM then costs a few gathers and weighted counts per iteration, whatever the number of units.
    """

    uy: FloatArray
    ur: FloatArray
    un: FloatArray
    iy: NDArray[np.intp]
    ir: NDArray[np.intp]
    in_: NDArray[np.intp]

    @classmethod
    def create(cls, n: IntArray, y: IntArray) -> _Counts:
        uy, iy = np.unique(y, return_inverse=True)
        ur, ir = np.unique(n - y, return_inverse=True)
        un, in_ = np.unique(n, return_inverse=True)
        f = np.float64
        return cls(uy.astype(f), ur.astype(f), un.astype(f), iy.ravel(), ir.ravel(), in_.ravel())

    def log_bb(self, a: FloatArray, b: FloatArray) -> FloatArray:
        """log B(y + a, n - y + b) - log B(a, b) as a (components, units) array."""
        gy = special.gammaln(self.uy[None, :] + a[:, None])
        gr = special.gammaln(self.ur[None, :] + b[:, None])
        gn = special.gammaln(self.un[None, :] + (a + b)[:, None])
        const = special.gammaln(a) + special.gammaln(b) - special.gammaln(a + b)
        out = np.take(gy, self.iy, axis=1)
        out += np.take(gr, self.ir, axis=1)
        out -= np.take(gn, self.in_, axis=1)
        out -= const[:, None]
        return np.asarray(out)

    def binned(self, resp: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Responsibilities ((components, units)) summed over units sharing y, n - y and n."""

        def by(index: NDArray[np.intp], size: int) -> FloatArray:
            return np.column_stack([np.bincount(index, row, minlength=size) for row in resp])

        return by(self.iy, self.uy.size), by(self.ir, self.ur.size), by(self.in_, self.un.size)


def _e_step(counts: _Counts, weights: FloatArray, a: FloatArray, b: FloatArray) -> tuple[FloatArray, float]:
    """Responsibilities ((components, units)) and the log-likelihood without binomial coefficients."""
    lj = counts.log_bb(a, b)
    lj += np.log(weights)[:, None]
    top = lj.max(axis=0)
    lj -= top
    np.exp(lj, out=lj)
    total = lj.sum(axis=0)
    lj /= total
    return lj, float(np.log(total).sum() + top.sum())


@dataclass(frozen=True)
class _Binned:
    """Responsibilities binned by distinct value: all the M-step needs."""

    counts: _Counts
    wy: FloatArray
    wr: FloatArray
    wn: FloatArray
    w: FloatArray

    @classmethod
    def create(cls, counts: _Counts, resp: FloatArray) -> _Binned:
        wy, wr, wn = counts.binned(resp)
        return cls(counts, wy, wr, wn, resp.sum(axis=1))

    def loglik(self, a: FloatArray, b: FloatArray) -> FloatArray:
        c = self.counts
        out = (self.wy * special.gammaln(c.uy[:, None] + a)).sum(axis=0)
        out += (self.wr * special.gammaln(c.ur[:, None] + b)).sum(axis=0)
        out -= (self.wn * special.gammaln(c.un[:, None] + (a + b))).sum(axis=0)
        return np.asarray(out - self.w * (special.gammaln(a) + special.gammaln(b) - special.gammaln(a + b)))

    def newton(self, a: FloatArray, b: FloatArray) -> tuple[FloatArray, FloatArray]:
        """One Newton step of every component's weighted likelihood in (log alpha, log beta)."""
        c, w, ab = self.counts, self.w, a + b
        tri = _trigamma
        ga = (self.wy * special.digamma(c.uy[:, None] + a)).sum(axis=0)
        gb = (self.wr * special.digamma(c.ur[:, None] + b)).sum(axis=0)
        dn = (self.wn * special.digamma(c.un[:, None] + ab)).sum(axis=0)
        ga += w * (special.digamma(ab) - special.digamma(a)) - dn
        gb += w * (special.digamma(ab) - special.digamma(b)) - dn
        hab = w * tri(ab) - (self.wn * tri(c.un[:, None] + ab)).sum(axis=0)
        haa = (self.wy * tri(c.uy[:, None] + a)).sum(axis=0) - w * tri(a) + hab
        hbb = (self.wr * tri(c.ur[:, None] + b)).sum(axis=0) - w * tri(b) + hab
        gu, gv = a * ga, b * gb  # chain rule to u = log a, v = log b
        huu, hvv, huv = a * a * haa + gu, b * b * hbb + gv, a * b * hab
        det = huu * hvv - huv * huv
        concave = (huu < 0) & (det > 0)
        safe = np.where(concave, det, 1.0)
        du = np.where(concave, -(hvv * gu - huv * gv) / safe, gu / (np.abs(huu) + w + 1e-12))
        dv = np.where(concave, -(huu * gv - huv * gu) / safe, gv / (np.abs(hvv) + w + 1e-12))
        # Shorten the step as a whole (at most 1 in log space): clipping each coordinate on its own
        # would turn the step and can make it point downhill along the ridge alpha/beta = const.
        shrink = 1 / np.maximum(1.0, np.maximum(np.abs(du), np.abs(dv)))
        return du * shrink, dv * shrink


def _trigamma(x: FloatArray) -> FloatArray:
    return np.asarray(special.zeta(2.0, x))


def _m_step(binned: _Binned, a: FloatArray, b: FloatArray, *, steps: int) -> tuple[FloatArray, FloatArray]:
    """Raise every component's weighted likelihood by bounded Newton steps with step halving."""
    lo, hi = LOG_BOUNDS
    u, v = np.log(a), np.log(b)
    current = binned.loglik(a, b)
    for _ in range(steps):
        du, dv = binned.newton(np.exp(u), np.exp(v))
        scale = np.ones_like(u)
        for _ in range(8):
            nu, nv = np.clip(u + scale * du, lo, hi), np.clip(v + scale * dv, lo, hi)
            trial = binned.loglik(np.exp(nu), np.exp(nv))
            better = trial >= current
            if better.all():
                break
            scale = np.where(better, scale, scale / 2)
        u, v = np.where(better, nu, u), np.where(better, nv, v)
        current = np.where(better, trial, current)
        if float(np.max(np.abs(scale * du) + np.abs(scale * dv))) < 1e-8:
            break
    return np.exp(u), np.exp(v)


def _start(n: IntArray, y: IntArray, components: int) -> FloatArray:
    """Initial responsibilities: soft split of the observed proportions at their quantiles."""
    x = y / n
    centres = np.quantile(x, (np.arange(components) + 0.5) / components)
    spread = max(float(x.var()), 1e-6) / components**2
    resp = np.exp(-((x[None, :] - centres[:, None]) ** 2) / (2 * spread)) + 1e-6
    return np.asarray(resp / resp.sum(axis=0))


def fit_mixture(
    n: IntArray, y: IntArray, *, components: int, iterations: int = 1000, tol: float = 1e-8
) -> BetaBinomialMixture:
    """Maximum-likelihood L-component beta-binomial mixture of ``y`` out of ``n`` by EM [2]_.

    Every unit counts (no subsample). Stops when the log-likelihood improves by less than ``tol``
    relative, or after ``iterations``.
    """
    counts = _Counts.create(n, y)
    resp = _start(n, y, components)
    a, b = np.full(components, 2.0), np.full(components, 2.0)
    weights = resp.mean(axis=1)
    previous, loglik, it = -np.inf, -np.inf, 0
    for it in range(1, iterations + 1):
        a, b = _m_step(_Binned.create(counts, resp), a, b, steps=8 if it == 1 else 1)
        weights = np.clip(resp.mean(axis=1), 1e-12, None)
        weights /= weights.sum()
        resp, loglik = _e_step(counts, weights, a, b)
        if abs(loglik - previous) <= tol * abs(loglik):
            break
        previous = loglik
    return BetaBinomialMixture(weights, a, b, loglik, it)


def select_mixture(
    n: IntArray, y: IntArray, *, max_components: int = 5, threshold: float = 0.99
) -> BetaBinomialMixture:
    """Grow L from 1 until successive fitted densities correlate at ``threshold`` or more [1]_ [3]_."""
    best = fit_mixture(n, y, components=1)
    for size in range(2, max_components + 1):
        nxt = fit_mixture(n, y, components=size)
        if np.corrcoef(best.density(DENSITY_GRID), nxt.density(DENSITY_GRID))[0, 1] >= threshold:
            return nxt
        best = nxt
    return best


@dataclass(frozen=True)
class Posterior:
    """Each unit's posterior over components and the beta parameters of its posterior proportion.

    A draw [1]_: pick a component from the unit's posterior, then p ~ Beta(y + alpha, n - y + beta),
    then a count ~ Bin(trials, p); all three exact (numpy's samplers), as in the reference package.
    """

    cum: NDArray[np.float64]
    a: FloatArray
    b: FloatArray

    @classmethod
    def create(cls, mix: BetaBinomialMixture, n: IntArray, y: IntArray) -> Posterior:
        resp = mix.posterior(n, y)
        return cls(
            cum=np.ascontiguousarray(np.cumsum(resp, axis=0)[:-1]),
            a=(y[None, :] + mix.alpha[:, None]).astype(np.float64),
            b=((n - y)[None, :] + mix.beta[:, None]).astype(np.float64),
        )

    def proportions(self, rng: np.random.Generator) -> FloatArray:
        """One posterior draw of every unit's proportion."""
        size = self.a.shape[1]
        u = rng.random(size)
        comp = np.zeros(size, dtype=np.intp)
        for row in self.cum:
            comp += u > row
        cols = np.arange(size)
        return np.asarray(rng.beta(self.a[comp, cols], self.b[comp, cols]))

    def draw(self, trials: IntArray, rng: np.random.Generator) -> IntArray:
        """One count per unit out of ``trials``."""
        return np.asarray(rng.binomial(trials, self.proportions(rng)), dtype=np.int64)
