"""The block Metropolis sampler and its diagnostics, held to posteriors known in closed form."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize, special, stats

from pollwatch.forensics import mcmc
from pollwatch.forensics.qbl_mcmc import mode_split
from pollwatch.forensics.table import FloatArray


class _Plain:
    """A target without caches: ``log_density`` of the whole vector."""

    def __init__(self, log_density: object) -> None:
        self.f = log_density
        self.pending = 0.0

    def start(self, x: FloatArray) -> float:
        return float(self.f(x))  # type: ignore[operator]

    def trial(self, x: FloatArray, block: int) -> float:
        return float(self.f(x))  # type: ignore[operator]

    def accept(self) -> None:
        pass


def _beta_hpd(a: float, b: float, mass: float = 0.95) -> tuple[float, float]:
    """The Beta(a, b) HPD interval: equal density at both ends, ``mass`` between (closed form + root)."""
    dist = stats.beta(a, b)

    def gap(lo: float) -> float:
        hi = dist.ppf(dist.cdf(lo) + mass)
        return float(dist.logpdf(lo) - dist.logpdf(hi))

    lo = optimize.brentq(gap, 1e-9, dist.ppf(1 - mass) - 1e-9)
    return float(lo), float(dist.ppf(dist.cdf(lo) + mass))


def test_sampler_reproduces_a_conjugate_beta_binomial_posterior() -> None:
    # Prior Beta(2, 3), 7 successes in 20 trials: the posterior is Beta(9, 16), sampled on the logit
    # scale with the Jacobian p (1 - p), as the qbl sampler samples pi's ratios.
    def log_density(x: FloatArray) -> float:
        p = special.expit(x[0])
        return float((2 - 1 + 7 + 1) * np.log(p) + (3 - 1 + 13 + 1) * np.log1p(-p))

    sweep = mcmc.Sweep(((0,),), (1,), np.array([0.5]))
    chain = mcmc.sample(_Plain(log_density), np.array([0.0]), sweep=sweep, draws=20_000, warmup=2_000, seed=3)
    p = special.expit(chain.draws[:, 0])
    truth = stats.beta(9, 16)
    ess = mcmc.effective_size(p)
    assert ess > 2_000
    assert abs(p.mean() - truth.mean()) < 4 * truth.std() / np.sqrt(ess)
    assert p.std() == pytest.approx(truth.std(), rel=0.05)
    np.testing.assert_allclose(mcmc.hpd(p), _beta_hpd(9, 16), atol=0.015)
    assert 0.15 < chain.acceptance[0] < 0.6


def test_sampler_reproduces_a_correlated_normal_in_blocks() -> None:
    # N(mean, cov) with a correlated pair in one block and a third coordinate in another, updated
    # twice a sweep: the draws' mean and covariance are the target's.
    mean = np.array([1.0, -2.0, 0.5])
    cov = np.array([[1.0, 0.8, 0.0], [0.8, 1.0, 0.0], [0.0, 0.0, 0.25]])
    precision = np.linalg.inv(cov)

    def log_density(x: FloatArray) -> float:
        d = x - mean
        return float(-0.5 * d @ precision @ d)

    sweep = mcmc.Sweep(((0, 1), (2,)), (1, 2), np.array([0.1, 0.1, 0.1]))
    chain = mcmc.sample(_Plain(log_density), np.zeros(3), sweep=sweep, draws=20_000, warmup=2_000, seed=4)
    ess = min(mcmc.effective_size(chain.draws[:, k]) for k in range(3))
    assert ess > 1_000
    np.testing.assert_allclose(chain.draws.mean(axis=0), mean, atol=4 / np.sqrt(ess))
    np.testing.assert_allclose(np.cov(chain.draws, rowvar=False), cov, atol=0.1)


def test_effective_size_of_an_ar1_chain_is_its_closed_form() -> None:
    # x_t = phi x_{t-1} + e_t has integrated autocorrelation time (1 + phi) / (1 - phi).
    rng = np.random.default_rng(5)
    phi, n = 0.9, 50_000
    x = np.empty(n)
    x[0] = rng.standard_normal() / np.sqrt(1 - phi**2)
    for t in range(1, n):
        x[t] = phi * x[t - 1] + rng.standard_normal()
    assert mcmc.effective_size(x) == pytest.approx(n * (1 - phi) / (1 + phi), rel=0.15)
    assert mcmc.effective_size(rng.standard_normal(n)) == pytest.approx(n, rel=0.1)


def test_split_rhat_is_one_for_agreeing_chains_and_large_for_disagreeing() -> None:
    rng = np.random.default_rng(6)
    same = rng.standard_normal((2, 4_000))
    assert mcmc.split_rhat(same) == pytest.approx(1.0, abs=0.01)
    apart = same + np.array([[0.0], [1.0]])
    assert mcmc.split_rhat(apart) > 1.1
    drifting = np.linspace(0, 3, 4_000)[None, :] + same[:1]
    assert mcmc.split_rhat(drifting) > 1.1


def test_hpd_of_normal_and_exponential_draws() -> None:
    rng = np.random.default_rng(7)
    # The normal's is +- 1.96: the window's width is sharp, where it sits in the flat top less so.
    lo, hi = mcmc.hpd(rng.standard_normal(200_000))
    assert hi - lo == pytest.approx(2 * 1.959964, abs=0.02)
    assert (lo + hi) / 2 == pytest.approx(0.0, abs=0.05)
    # The exponential's HPD starts at 0 and holds 95 %: [0, -log 0.05].
    lo, hi = mcmc.hpd(rng.exponential(1.0, 200_000))
    assert lo == pytest.approx(0.0, abs=0.001)
    assert hi == pytest.approx(-np.log(0.05), abs=0.05)


def test_mode_split_finds_the_valley_of_two_peaks_and_none_in_one() -> None:
    rng = np.random.default_rng(8)
    two = np.r_[rng.normal(0.6, 0.05, 3_000), rng.normal(0.95, 0.02, 5_000)]
    split = mode_split(two)
    assert split is not None
    assert 0.72 < split < 0.88
    assert mode_split(rng.normal(0.9, 0.05, 5_000)) is None
    # A broad mode with a tenth of the draws stands far lower than a narrow one (about a fortieth of its
    # height here) and is still a mode; a bump of a few stray draws is not.
    broad = np.r_[rng.normal(0.55, 0.06, 500), rng.normal(0.97, 0.01, 4_500)]
    split = mode_split(broad)
    assert split is not None
    assert 0.65 < split < 0.93
    stray = np.r_[rng.normal(0.55, 0.01, 50), rng.normal(0.97, 0.01, 4_950)]
    assert mode_split(stray) is None
