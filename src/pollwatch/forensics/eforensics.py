"""The eforensics finite-mixture model of election frauds, fitted by maximum likelihood (and, for
``qbl`` on request, its posterior under the package's priors: :mod:`pollwatch.forensics.qbl_mcmc`).

Every unit j belongs to one of three classes with probabilities pi: no fraud, incremental fraud or
extreme fraud. Abstentions a_j ~ Bin(N_j, p_a) and the winner's votes w_j ~ Bin(N_j, p_w), with (the
``bl`` model of [2]_, intercepts only)

- no fraud: p_a = 1 - tau, p_w = nu (1 - a_j/N_j);
- incremental fraud: a share iota_m of the would-be abstainers is counted for the winner (manufactured
  votes) and a share iota_s of the opposition's votes is moved to the winner (stolen votes), both in
  [0, k]: p_a = (1 - tau)(1 - iota_m), p_w = nu (1 - iota_s)/(1 - iota_m) (1 - iota_m - a_j/N_j)
  + a_j/N_j (iota_m - iota_s)/(1 - iota_m) + iota_s;
- extreme fraud: the same with chi_m, chi_s in [k, 1]; k = 0.7.

``model="qbl"`` (the package's default and recommended model, and ours) gives every unit its own
tau, nu, iota and chi around its class's values (logit-normal unit effects, :mod:`pollwatch.forensics.qbl`);
``model="bl"`` holds them equal across units. The package samples the posterior with JAGS; here the
likelihood is maximised: for ``bl`` by EM (the E-step gives each unit's class probabilities; the M-step
maximises the weighted likelihood over tau, nu, iota and chi by L-BFGS-B), with the per-unit fraud
proportions fixed at their means (the package draws N iota ~ Bin(N, mu_iota), whose sd is below 1 % at
a few hundred voters); for ``qbl`` by quadrature and L-BFGS-B (see that module). Percentile intervals
come from a nonparametric bootstrap over units.

References
----------
.. [1] Ferrari D., McAlister K., Mebane W. R. Jr. (2018). "Developments in Positive Empirical Models of
   Election Frauds: Dimensions and Decisions". Summer Meeting of the Political Methodology Society.
.. [2] R package eforensics (UMeforensics/eforensics_public @3017de5, MIT), ``R/ef_models.R``, models
   ``bl`` and ``qbl``; example data ``dc2010`` (Washington DC 2010 mayoral primary, 143 precincts).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
from scipy import optimize, special, stats

from pollwatch.errors import DataError, InputError
from pollwatch.forensics.qbl import NAMES, QblFit, fit_qbl
from pollwatch.forensics.qbl_mcmc import QblPosterior, sample_qbl
from pollwatch.forensics.result import as_dict, name_units
from pollwatch.forensics.table import FloatArray, IntArray, StationTable

K = 0.7
"""Threshold between incremental and extreme fraud [2]_."""


class Estimator(StrEnum):
    """How the mixture is fitted: maximum likelihood (default, fast) or the package's posterior."""

    ML = "ml"
    """Maximum likelihood; the likelihood-ratio test and the flag come from it."""
    MCMC = "mcmc"
    """``qbl`` only: also the posterior under the package's priors (:mod:`pollwatch.forensics.qbl_mcmc`)."""


class Model(StrEnum):
    """The package's binomial models; ``qbl`` is its default (``eforensics(model = "qbl")``) and ours."""

    QBL = "qbl"
    """Quasi-binomial: every unit's own turnout, share and fraud proportions (logit-normal effects)."""
    BL = "bl"
    """Binomial: one turnout, share and fraud proportion per class."""


REFERENCES = (
    "Ferrari, McAlister & Mebane (2018), PolMeth: positive empirical models of election frauds",
    "eforensics R package (UMeforensics/eforensics_public @3017de5, MIT), models qbl and bl; fitted "
    "here by ML or sampled (estimator mcmc)",
)
CAVEATS = (
    "A finite-mixture fit: 'fraud' classes absorb any heterogeneity the model cannot explain (no "
    "covariates here; under bl even ordinary spread in turnout), so read pi with the units it "
    "classifies, never as proof.",
    "By default maximum likelihood, not the package's MCMC: intervals are bootstrap percentiles, not "
    "credible intervals; estimator 'mcmc' (qbl) adds the posterior under the package's priors, whose "
    "two modes are reported apart.",
    "POORLY CALIBRATED (not in the battery's calibration): on 6 clean synthetic elections of 200 "
    "stations (pollwatch.synth seeds 9101-9106) qbl flagged 1 and bl all 6; do not read a flag as "
    "evidence without the units it names.",
)


@dataclass(frozen=True)
class MixtureParams:
    """pi (none, incremental, extreme), and the class values of turnout tau, winner share nu and the
    fraud proportions (for ``qbl`` the units' median: expit of the intercept), with the sd of the
    units' logit-scale effects (``sd``, order tau, nu, iota_m, iota_s, chi_m, chi_s; zeros for
    ``bl``)."""

    pi: tuple[float, float, float]
    tau: float
    nu: float
    iota_m: float
    iota_s: float
    chi_m: float
    chi_s: float
    sd: tuple[float, ...] = (0.0,) * 6

    def coefficients(self) -> dict[str, float]:
        """The logit-scale intercepts as the package names them (``beta.tau`` ... ``beta.chi.s``)."""
        values = (
            self.tau,
            self.nu,
            self.iota_m / K,
            self.iota_s / K,
            (self.chi_m - K) / (1 - K),
            (self.chi_s - K) / (1 - K),
        )
        clipped = np.clip(np.array(values), 1e-12, 1 - 1e-12)
        logits = special.logit(clipped)
        return {f"beta.{n.replace('_', '.')}": float(v) for n, v in zip(NAMES, logits, strict=True)}


@dataclass(frozen=True)
class EforensicsResult:
    """The ML fit, bootstrap intervals of pi, and the units most probably in a fraud class."""

    test: str
    dataset: str
    model: str
    units: int
    params: MixtureParams
    coefficients: dict[str, float]
    pi_intervals: tuple[tuple[float, float], ...]
    loglik: float
    loglik_clean: float
    """The same model's maximum with pi = (1, 0, 0)."""
    lr_statistic: float
    p_value: float
    """Likelihood-ratio test of "no fraud class": chi-square with 2 df (approximate: pi_2 = pi_3 = 0
    lies on the boundary, where the reference is a mixture of chi-squares with 0-2 df, so this is
    conservative)."""
    manufactured_votes: float
    stolen_votes: float
    fraud_units: int
    named_units: tuple[dict[str, Any], ...]
    flagged: bool
    null: str
    caveats: tuple[str, ...]
    references: tuple[str, ...]
    estimator: str = Estimator.ML.value
    posterior: QblPosterior | None = None
    """With ``estimator="mcmc"``: posterior mean, sd and 95 % HPD of every parameter under the package's
    priors, per mode, with the chains' diagnostics."""

    def summary(self) -> dict[str, Any]:
        return as_dict(self)


def _unpack(x: FloatArray) -> tuple[float, float, float, float, float, float]:
    s = special.expit(x)
    return float(s[0]), float(s[1]), K * s[2], K * s[3], K + (1 - K) * s[4], K + (1 - K) * s[5]


def _class_loglik(x: FloatArray, n: FloatArray, a: FloatArray, w: FloatArray) -> FloatArray:
    """(3, units) log-likelihood of each unit under each class, without the binomial coefficients."""
    tau, nu, im, is_, cm, cs = _unpack(x)
    frac = a / n
    out = np.empty((3, n.size))
    for row, (m, s) in enumerate(((0.0, 0.0), (im, is_), (cm, cs))):
        p_a = np.clip((1 - tau) * (1 - m), 1e-12, 1 - 1e-12)
        p_w = nu * (1 - s) / (1 - m) * (1 - m - frac) + frac * (m - s) / (1 - m) + s
        p_w = np.clip(p_w, 1e-12, 1 - 1e-12)
        out[row] = a * np.log(p_a) + (n - a) * np.log1p(-p_a) + w * np.log(p_w) + (n - w) * np.log1p(-p_w)
    return out


def _fit(
    n: FloatArray, a: FloatArray, w: FloatArray, start: FloatArray
) -> tuple[FloatArray, FloatArray, float]:
    """EM from ``start``: (transformed parameters, pi, log-likelihood with binomial coefficients)."""
    coef = float((_log_choose(n, a) + _log_choose(n, w)).sum())
    x, pi, previous = start.copy(), np.array([0.8, 0.15, 0.05]), -np.inf
    loglik = -np.inf
    for _ in range(300):
        lj = _class_loglik(x, n, a, w) + np.log(np.maximum(pi, 1e-300))[:, None]
        norm = special.logsumexp(lj, axis=0)
        resp = np.exp(lj - norm)
        loglik = float(norm.sum())
        pi = resp.mean(axis=1)
        x = optimize.minimize(_weighted, x, args=(resp, n, a, w), method="L-BFGS-B").x
        if abs(loglik - previous) < 1e-9 * abs(loglik + coef):
            break
        previous = loglik
    return x, pi, loglik + coef


def _weighted(x: FloatArray, resp: FloatArray, n: FloatArray, a: FloatArray, w: FloatArray) -> float:
    """The M-step's objective: minus the class-weighted log-likelihood."""
    return -float((resp * _class_loglik(x, n, a, w)).sum())


def _log_choose(n: FloatArray, k: FloatArray) -> FloatArray:
    return np.asarray(special.gammaln(n + 1) - special.gammaln(k + 1) - special.gammaln(n - k + 1))


def _starts(n: FloatArray, a: FloatArray, w: FloatArray) -> list[FloatArray]:
    tau = special.logit(np.clip(1 - a.sum() / n.sum(), 0.01, 0.99))
    nu = special.logit(np.clip(w.sum() / max((n - a).sum(), 1.0), 0.01, 0.99))
    return [np.array([tau, nu, f, f, g, g]) for f, g in ((-2.0, 0.0), (0.0, -1.0), (-1.0, 1.0))]


def fit(n: IntArray, a: IntArray, w: IntArray) -> tuple[MixtureParams, float, FloatArray]:
    """Best of several EM starts: parameters, log-likelihood and each unit's class probabilities."""
    nf, af, wf = (v.astype(np.float64) for v in (n, a, w))
    best: tuple[FloatArray, FloatArray, float] | None = None
    for start in _starts(nf, af, wf):
        got = _fit(nf, af, wf, start)
        if best is None or got[2] > best[2]:
            best = got
    assert best is not None
    x, pi, loglik = best
    tau, nu, im, is_, cm, cs = _unpack(x)
    lj = _class_loglik(x, nf, af, wf) + np.log(np.maximum(pi, 1e-300))[:, None]
    resp = np.exp(lj - special.logsumexp(lj, axis=0))
    params = MixtureParams((float(pi[0]), float(pi[1]), float(pi[2])), tau, nu, im, is_, cm, cs)
    return params, loglik, resp


@dataclass(frozen=True)
class _Fitted:
    params: MixtureParams
    loglik: float
    resp: FloatArray
    manufactured: FloatArray
    stolen: FloatArray


def fit_model(n: IntArray, a: IntArray, w: IntArray, *, model: Model = Model.QBL) -> _Fitted:
    """Fit ``model`` by maximum likelihood; per unit: class probabilities and expected fraud votes.

    Manufactured votes at a unit are a iota_m / (1 - iota_m) (its abstainers before fraud were
    a / (1 - iota_m)), stolen votes (N - a - w) iota_s / (1 - iota_s) (the opposition kept 1 - iota_s
    of its votes), each weighted by the unit's class probability (chi for the extreme class).
    """
    if model == Model.QBL:
        return _from_qbl(fit_qbl(n.astype(np.float64), a.astype(np.float64), w.astype(np.float64)))
    params, loglik, resp = fit(n, a, w)
    af, others = a.astype(np.float64), (n - a - w).astype(np.float64)
    p = params
    man = af * (resp[1] * p.iota_m / (1 - p.iota_m) + resp[2] * p.chi_m / (1 - p.chi_m))
    stolen = others * (resp[1] * p.iota_s / (1 - p.iota_s) + resp[2] * p.chi_s / (1 - p.chi_s))
    return _Fitted(params, loglik, resp, man, stolen)


def _from_qbl(got: QblFit) -> _Fitted:
    median = special.expit(np.array(got.coef))
    params = MixtureParams(
        got.pi,
        float(median[0]),
        float(median[1]),
        K * float(median[2]),
        K * float(median[3]),
        K + (1 - K) * float(median[4]),
        K + (1 - K) * float(median[5]),
        got.sd,
    )
    return _Fitted(params, got.loglik, got.resp, got.manufactured, got.stolen)


def clean_loglik(n: IntArray, a: IntArray, w: IntArray, *, model: Model = Model.QBL) -> float:
    """The maximised log-likelihood of the same model with pi = (1, 0, 0): every unit honest."""
    if model == Model.QBL:
        return fit_qbl(
            n.astype(np.float64), a.astype(np.float64), w.astype(np.float64), clean_only=True
        ).loglik
    nf, af, wf = (v.astype(np.float64) for v in (n, a, w))
    # Closed form: tau is the overall turnout, nu the winner's share of the votes cast.
    tau = 1 - af.sum() / nf.sum()
    nu = wf.sum() / max((nf - af).sum(), 1.0)
    x = np.array([special.logit(tau), special.logit(nu), 0.0, 0.0, 0.0, 0.0])
    coef = float((_log_choose(nf, af) + _log_choose(nf, wf)).sum())
    return float(_class_loglik(x, nf, af, wf)[0].sum()) + coef


def _bootstrap(
    n: IntArray, a: IntArray, w: IntArray, *, model: Model, replicates: int, seed: int
) -> tuple[tuple[float, float], ...]:
    if replicates < 2:
        return ()
    rng = np.random.default_rng(seed)
    draws = np.empty((replicates, 3))
    for r in range(replicates):
        pick = rng.integers(0, n.size, n.size)
        draws[r] = fit_model(n[pick], a[pick], w[pick], model=model).params.pi
    lo, hi = np.quantile(draws, [0.025, 0.975], axis=0)
    return tuple((float(x), float(y)) for x, y in zip(lo, hi, strict=True))


def eforensics(
    table: StationTable,
    *,
    model: Model | str = Model.QBL,
    bootstrap: int = 0,
    seed: int = 1,
    estimator: Estimator | str = Estimator.ML,
    draws: int = 2000,
) -> EforensicsResult:
    """Fit the eforensics mixture to the leader's votes and the abstentions of every unit [1]_ [2]_.

    ``estimator="mcmc"`` (``qbl`` only) adds the posterior under the package's priors: one chain of
    ``draws`` (after ``draws // 2`` warm-up sweeps) from each mode of the likelihood, seeded ``seed``.
    """
    model, estimator = _choices(model, estimator, draws)
    n, given = table.require_turnout("eforensics")
    w = table.leader_votes
    keep = (n > 0) & (given <= n) & (w <= given) & table.leader_stands
    if keep.sum() < 20:
        raise DataError("eforensics needs at least 20 units with voters", found=str(int(keep.sum())))
    rows = np.flatnonzero(keep)
    n, a, w = n[keep], (n - given)[keep], w[keep]
    posterior = None
    if model == Model.QBL:
        nf, af, wf = (v.astype(np.float64) for v in (n, a, w))
        full, clean = fit_qbl(nf, af, wf), fit_qbl(nf, af, wf, clean_only=True)
        got, loglik_clean = _from_qbl(full), clean.loglik
        if estimator == Estimator.MCMC:
            starts = {"fraud": full, "honest": clean}
            posterior = sample_qbl(nf, af, wf, starts=starts, draws=draws, seed=seed)
    else:
        got, loglik_clean = fit_model(n, a, w, model=model), clean_loglik(n, a, w, model=model)
    params, resp = got.params, got.resp
    lr = max(0.0, 2 * (got.loglik - loglik_clean))
    p_value = float(stats.chi2.sf(lr, 2))
    fraud = resp[1] + resp[2] > 0.5
    order = rows[fraud][np.argsort(-(resp[1] + resp[2])[fraud])]
    return EforensicsResult(
        test="eforensics",
        dataset=table.name,
        model=model.value,
        units=int(n.size),
        params=params,
        coefficients=params.coefficients(),
        pi_intervals=_bootstrap(n, a, w, model=model, replicates=bootstrap, seed=seed),
        loglik=got.loglik,
        loglik_clean=loglik_clean,
        lr_statistic=lr,
        p_value=p_value,
        manufactured_votes=float(got.manufactured.sum()),
        stolen_votes=float(got.stolen.sum()),
        fraud_units=int(fraud.sum()),
        named_units=name_units(table, order),
        flagged=bool(p_value < 0.01 and params.pi[1] + params.pi[2] >= 0.05 and fraud.any()),
        null="the same model with pi = (1, 0, 0), every unit honest: likelihood-ratio test, 2 df",
        caveats=CAVEATS,
        references=REFERENCES,
        estimator=estimator.value,
        posterior=posterior,
    )


def _choices(model: Model | str, estimator: Estimator | str, draws: int) -> tuple[Model, Estimator]:
    if model not in tuple(Model):
        raise InputError("unknown eforensics model", expected=" or ".join(Model), found=str(model))
    if estimator not in tuple(Estimator):
        raise InputError(
            "unknown eforensics estimator", expected=" or ".join(Estimator), found=str(estimator)
        )
    if estimator == Estimator.MCMC and model != Model.QBL:
        raise InputError(
            "the eforensics posterior is sampled for qbl only", expected="--model qbl", found=model
        )
    if estimator == Estimator.MCMC and draws < 100:
        raise InputError("too few draws for a posterior summary", expected=">= 100", found=str(draws))
    return Model(model), Estimator(estimator)
