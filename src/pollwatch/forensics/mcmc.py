"""A small block Metropolis sampler and its diagnostics: split R-hat, effective sample size, HPD.

Written for posteriors of a handful of parameters whose likelihood is costly in some of them and cheap
in others (the eforensics ``qbl`` mixture, :mod:`pollwatch.forensics.qbl_mcmc`): the parameter vector,
on an unconstrained scale, is cut into blocks; each sweep updates every block in turn by a random-walk
Metropolis step [1]_ (a cheap block several times), so a target can cache what a block leaves unchanged.

Adaptation happens in the warm-up only, which is discarded: in its first half each block's step is
N(0, s^2 diag(scale^2)), in its second half N(0, s^2 C) with C the covariance of the block's draws in
the first half's second half [2]_; s follows the acceptance rate towards 0.3 by a Robbins-Monro
recursion. The sampling phase uses fixed proposals, so its draws are an ordinary Metropolis chain.

References
----------
.. [1] Roberts G. O., Rosenthal J. S. (2009). "Examples of adaptive MCMC". Journal of Computational and
   Graphical Statistics 18(2):349-367.
.. [2] Haario H., Saksman E., Tamminen J. (2001). "An adaptive Metropolis algorithm". Bernoulli
   7(2):223-242.
.. [3] Vehtari A., Gelman A., Simpson D., Carpenter B., Bürkner P.-C. (2021). "Rank-normalization,
   folding, and localization: an improved R-hat for assessing convergence of MCMC". Bayesian Analysis
   16(2):667-718 (split R-hat; the effective sample size by Geyer's initial monotone sequence).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from pollwatch.forensics.table import FloatArray

TARGET_ACCEPTANCE = 0.3


class BlockTarget(Protocol):
    """A log density that may cache what a block's update leaves unchanged."""

    def start(self, x: FloatArray) -> float:
        """Make ``x`` the current state (at the start, and at the end of each warm-up stage: a target
        may re-tune itself there) and return its log density."""
        ...

    def trial(self, x: FloatArray, block: int) -> float:
        """The log density at ``x``, which differs from the current state in ``block`` only."""
        ...

    def accept(self) -> None:
        """The last trial's ``x`` becomes the current state."""
        ...


@dataclass(frozen=True)
class Chain:
    """The sampling phase's draws (draws, dim) on the target's scale and each block's acceptance rate."""

    draws: FloatArray
    acceptance: tuple[float, ...]


@dataclass(frozen=True)
class Sweep:
    """Which coordinates each block holds, how often a sweep updates it, and its first step sizes."""

    blocks: tuple[tuple[int, ...], ...]
    repeats: tuple[int, ...]
    scale: FloatArray


def sample(target: BlockTarget, x0: FloatArray, *, sweep: Sweep, draws: int, warmup: int, seed: int) -> Chain:
    """``draws`` sweeps after ``warmup`` adaptive ones, from ``x0`` (see the module's description)."""
    rng = np.random.default_rng(seed)
    x = np.array(x0, dtype=np.float64)
    chols = [np.diag(sweep.scale[list(b)]) for b in sweep.blocks]
    log_s = np.zeros(len(sweep.blocks))
    half = warmup // 2
    history = np.empty((max(warmup, 1), x.size))
    lp = target.start(x)
    for t in range(warmup):
        if t == half and half >= 4:
            lp = target.start(x)
            chols = _covariances(history[half // 2 : half], sweep)
            log_s = np.zeros(log_s.size)
        for b, block in enumerate(sweep.blocks):
            for _ in range(sweep.repeats[b]):
                x, lp, ok = _step(target, x, lp, b, block, np.exp(log_s[b]) * chols[b], rng)
                log_s[b] += (ok - TARGET_ACCEPTANCE) / (1 + t) ** 0.6
        history[t] = x
    lp = target.start(x)
    out = np.empty((draws, x.size))
    accepted = np.zeros(len(sweep.blocks))
    for t in range(draws):
        for b, block in enumerate(sweep.blocks):
            for _ in range(sweep.repeats[b]):
                x, lp, ok = _step(target, x, lp, b, block, np.exp(log_s[b]) * chols[b], rng)
                accepted[b] += ok
        out[t] = x
    rates = accepted / (max(draws, 1) * np.array(sweep.repeats))
    return Chain(out, tuple(float(r) for r in rates))


def _step(
    target: BlockTarget,
    x: FloatArray,
    lp: float,
    b: int,
    block: tuple[int, ...],
    chol: FloatArray,
    rng: np.random.Generator,
) -> tuple[FloatArray, float, float]:
    proposal = x.copy()
    proposal[list(block)] += chol @ rng.standard_normal(len(block))
    new = target.trial(proposal, b)
    if np.log(rng.uniform()) < new - lp:
        target.accept()
        return proposal, new, 1.0
    return x, lp, 0.0


def _covariances(history: FloatArray, sweep: Sweep) -> list[FloatArray]:
    """Each block's step: 2.38 / sqrt(d) times the Cholesky factor of its draws' covariance [2]_ (with a
    floor of 1e-3 of the first step sizes, should a block not have moved)."""
    out = []
    for block in sweep.blocks:
        part = history[:, list(block)]
        floor = np.diag((1e-3 * sweep.scale[list(block)]) ** 2)
        cov = np.atleast_2d(np.cov(part, rowvar=False)) + floor
        out.append(2.38 / np.sqrt(len(block)) * np.linalg.cholesky(cov))
    return out


def effective_size(x: FloatArray) -> float:
    """Effective sample size of one chain's draws: n / (1 + 2 sum of autocorrelations), the sum cut by
    Geyer's initial monotone positive sequence of paired autocorrelations [3]_."""
    n = x.size
    centred = x - x.mean()
    if n < 4 or not np.any(centred):
        return float(n)
    spectrum = np.fft.rfft(centred, 2 * n)
    acov = np.fft.irfft(spectrum * np.conj(spectrum))[:n] / n
    rho = acov / acov[0]
    pairs = rho[0 : n - 1 : 2][: (n - 1) // 2] + rho[1:n:2][: (n - 1) // 2]
    positive = np.flatnonzero(pairs <= 0)
    pairs = pairs[: positive[0]] if positive.size else pairs
    pairs = np.minimum.accumulate(pairs)
    tau = -1.0 + 2.0 * float(pairs.sum())
    return float(n / max(tau, 1.0 / np.log10(max(n, 10))))


def split_rhat(chains: FloatArray) -> float:
    """Split R-hat of (chains, draws): every chain cut in halves, then the ratio of the pooled variance
    estimate to the mean within-half variance, square-rooted [3]_. Near 1 when the halves agree."""
    n = chains.shape[1] // 2
    halves = np.concatenate([chains[:, :n], chains[:, n : 2 * n]])
    within = float(halves.var(axis=1, ddof=1).mean())
    between = n * float(halves.mean(axis=1).var(ddof=1))
    if within <= 0:
        return 1.0 if between <= 0 else float("inf")
    return float(np.sqrt(((n - 1) / n * within + between / n) / within))


def hpd(x: FloatArray, mass: float = 0.95) -> tuple[float, float]:
    """The shortest interval holding ``mass`` of the draws (the highest posterior density interval of a
    unimodal posterior), between two draws."""
    ordered = np.sort(x)
    gap = max(1, min(ordered.size - 1, round(ordered.size * mass)))
    widths = ordered[gap:] - ordered[:-gap]
    low = int(np.argmin(widths))
    return float(ordered[low]), float(ordered[low + gap])
