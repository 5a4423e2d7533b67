"""Finite mixtures of beta-binomial distributions fitted by EM, and resampling from their posteriors.

Used by the resampled kernel density test (Rozenas 2017) to describe turnout given electorate and
votes given turnout without the arithmetic "spikes" that small denominators create.

References
----------
.. [1] Rozenas A. (2017). "Detecting Election Fraud from Irregularities in Vote-Share Distributions".
   Political Analysis 25(1):41-56, doi:10.1017/pan.2016.9, section 3 (the resampling model).
.. [2] Dempster, Laird & Rubin (1977). "Maximum likelihood from incomplete data via the EM algorithm".
   J. R. Stat. Soc. B 39(1):1-38.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import special, stats

from pollwatch.forensics.table import FloatArray, IntArray


@dataclass(frozen=True)
class BetaBinomialMixture:
    """Weights and (alpha, beta) of each component; ``loglik`` up to a constant."""

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
        inner = np.clip(grid, 1e-6, 1 - 1e-6)
        return np.asarray(
            sum(
                w * stats.beta.pdf(inner, a, b)
                for w, a, b in zip(self.weights, self.alpha, self.beta, strict=True)
            )
        )

    def log_joint(self, n: IntArray, y: IntArray) -> FloatArray:
        """log(weight_l) + log BB(y | n, alpha_l, beta_l) without the binomial coefficient, (stations, L)."""
        yy, nn = y[:, None].astype(np.float64), n[:, None].astype(np.float64)
        a, b = self.alpha[None, :], self.beta[None, :]
        return np.asarray(
            np.log(self.weights)[None, :] + special.betaln(yy + a, nn - yy + b) - special.betaln(a, b)
        )

    def posterior(self, n: IntArray, y: IntArray) -> FloatArray:
        """Responsibility of each component for each station."""
        lj = self.log_joint(n, y)
        return np.asarray(np.exp(lj - special.logsumexp(lj, axis=1, keepdims=True)))


def _moments(n: FloatArray, y: FloatArray, resp: FloatArray) -> tuple[float, float]:
    """Weighted method of moments for one beta-binomial component: (alpha, beta)."""
    w = resp / max(resp.sum(), 1e-12)
    x = y / n
    m = float(np.clip(w @ x, 1e-4, 1 - 1e-4))
    # Var(x) = m(1-m)/n * (1 + (n-1) rho) per station; solve the weighted average for rho.
    excess = (x - m) ** 2 * n / (m * (1 - m)) - 1
    denom = float(w @ np.maximum(n - 1, 1e-9))
    rho = float(np.clip((w @ excess) / denom if denom > 0 else 1e-3, 1e-6, 0.999))
    total = 1 / rho - 1
    return m * total, (1 - m) * total


def fit_mixture(
    n: IntArray, y: IntArray, *, components: int, iterations: int = 60, tol: float = 1e-6, seed: int = 0
) -> BetaBinomialMixture:
    """Fit an L-component beta-binomial mixture to counts ``y`` out of ``n`` by EM [2]_.

    The M-step uses the weighted method of moments (an ECM variant): fast, and enough for a model whose
    only job is to be smooth where the data are smooth.
    """
    nf, yf = n.astype(np.float64), y.astype(np.float64)
    x = yf / nf
    rng = np.random.default_rng(seed)
    centres = np.quantile(x, (np.arange(components) + 0.5) / components)
    resp = np.exp(-((x[:, None] - centres[None, :]) ** 2) / (2 * max(float(x.var()), 1e-6) / components**2))
    resp += 1e-6 * rng.random(resp.shape)
    resp /= resp.sum(axis=1, keepdims=True)
    previous = -np.inf
    mix = BetaBinomialMixture(np.ones(1), np.ones(1), np.ones(1), -np.inf, 0)
    for it in range(1, iterations + 1):
        params = [_moments(nf, yf, resp[:, k]) for k in range(components)]
        weights = np.clip(resp.mean(axis=0), 1e-9, None)
        mix = BetaBinomialMixture(
            weights / weights.sum(),
            np.array([p[0] for p in params]),
            np.array([p[1] for p in params]),
            previous,
            it,
        )
        lj = mix.log_joint(n, y)
        norm = special.logsumexp(lj, axis=1, keepdims=True)
        resp = np.exp(lj - norm)
        loglik = float(norm.sum())
        if abs(loglik - previous) <= tol * abs(loglik):
            break
        previous = loglik
    return BetaBinomialMixture(mix.weights, mix.alpha, mix.beta, loglik, mix.iterations)


def select_mixture(
    n: IntArray, y: IntArray, *, max_components: int = 5, threshold: float = 0.99, seed: int = 0
) -> BetaBinomialMixture:
    """Grow L from 1 until successive fitted densities correlate at ``threshold`` or more [1]_."""
    grid = np.linspace(0, 1, 1001)
    best = fit_mixture(n, y, components=1, seed=seed)
    for size in range(2, max_components + 1):
        nxt = fit_mixture(n, y, components=size, seed=seed)
        if np.corrcoef(best.density(grid), nxt.density(grid))[0, 1] >= threshold:
            return nxt
        best = nxt
    return best


@dataclass(frozen=True)
class Predictive:
    """Per-station posterior-predictive sampler of a fitted mixture, precomputed for repeated draws.

    Each draw picks a component from the station's posterior, then p ~ Beta(y + alpha, n - y + beta)
    and a count ~ Bin(trials, p). Where both beta parameters are at least ``exact_below`` the compound
    beta-binomial draw is a rounded normal with the same mean and variance: the lattice of possible
    counts, which is what creates arithmetic spikes, stays exact; only the envelope is approximated.
    """

    cum: NDArray[np.float32]
    mean: NDArray[np.float32]
    size: NDArray[np.float32]
    small: NDArray[np.bool_]
    a: FloatArray
    b: FloatArray

    @classmethod
    def create(
        cls, mix: BetaBinomialMixture, n: IntArray, y: IntArray, *, exact_below: float = 20.0
    ) -> Predictive:
        resp = mix.posterior(n, y)
        a = (y[None, :] + mix.alpha[:, None]).astype(np.float64)
        b = ((n - y)[None, :] + mix.beta[:, None]).astype(np.float64)
        return cls(
            cum=np.ascontiguousarray(np.cumsum(resp, axis=1)[:, :-1].T, dtype=np.float32),
            mean=(a / (a + b)).astype(np.float32).ravel(),
            size=(a + b).astype(np.float32).ravel(),
            small=((a < exact_below) | (b < exact_below)).ravel(),
            a=a.ravel(),
            b=b.ravel(),
        )

    def moments(self, trials: IntArray) -> tuple[Any, Any, Any]:
        """Mean and sd of the normal draw for every (component, station), for repeated equal trials."""
        nt = np.tile(trials.astype(np.float32), self.mean.size // trials.size)
        m, ab = self.mean, self.size
        return nt * m, np.sqrt(nt * m * (1 - m) * (ab + nt) / (ab + 1)), trials.astype(np.float32)

    def _components(self, n: int, rng: np.random.Generator) -> NDArray[np.intp]:
        """Flat (component, station) index of one posterior component draw per station."""
        u = rng.random(n, dtype=np.float32)
        flat = np.arange(n)
        for row in self.cum:
            flat += n * (u > row)
        return flat

    def draw(
        self, trials: IntArray, rng: np.random.Generator, *, fixed: tuple[Any, Any, Any] | None = None
    ) -> IntArray:
        """One count per station out of ``trials`` (``fixed``: precomputed mean and sd for these trials)."""
        n = trials.size
        flat = self._components(n, rng)
        if fixed is None:
            nt = trials.astype(np.float32)
            m, ab = self.mean[flat], self.size[flat]
            mu, sd = nt * m, np.sqrt(nt * m * (1 - m) * (ab + nt) / (ab + 1))
        else:
            mu, sd, nt = fixed[0][flat], fixed[1][flat], fixed[2]
        z = rng.standard_normal(n, dtype=np.float32)
        z *= sd
        z += mu
        np.rint(z, out=z)
        np.maximum(z, 0, out=z)
        np.minimum(z, nt, out=z)
        out = z.astype(np.int64)
        exact = flat[self.small[flat]]
        if exact.size:
            idx = exact % n
            out[idx] = rng.binomial(trials[idx], rng.beta(self.a[exact], self.b[exact]))
        return out
