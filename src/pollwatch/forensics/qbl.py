"""The eforensics ``qbl`` (quasi-binomial) mixture: its marginal likelihood and maximum-likelihood fit.

The package's ``qbl`` model [1]_ is the ``bl`` mixture of :mod:`pollwatch.forensics.eforensics` with
every unit's own turnout, winner share and fraud proportions: on the logit scale each is its class's
intercept plus a unit effect ~ N(0, sd^2),

- tau_j = expit(beta_tau + e), nu_j = expit(beta_nu + e);
- incremental fraud: iota_m,j = k expit(beta_iota_m + e), iota_s,j likewise, in [0, k];
- extreme fraud: chi_m,j = k + (1 - k) expit(beta_chi_m + e), chi_s,j likewise, in [k, 1];

and, given them, a_j ~ Bin(N_j, p_a) and w_j ~ Bin(N_j, p_w) as in ``bl``. The unit effects are what
absorbs the overdispersion of real precincts (DC's turnout runs from 20 % to 60 %), which the plain
binomial can only explain with "fraud" classes.

The package samples everything (pi, intercepts, sds, unit effects, classes) with JAGS. Here the unit
effects are integrated out and the marginal likelihood is maximised:

1. For one unit and class, given the fraud proportions, a depends only on the turnout effect and w
   (given a) only on the share effect, so each is a one-dimensional integral of a binomial against a
   normal, ``int Bin(y | N, c0 + c1 expit(x)) N(x; mu, sd) dx``. The binomial is sharp (N is in the
   hundreds), so the integral is taken by adaptive Gauss-Hermite quadrature: the integrand's mode by
   Fisher-scoring steps, then ``INNER_NODES`` nodes scaled by its curvature [2]_.
2. The fraud proportions' effects (two per fraud class) are integrated by Gauss-Hermite quadrature
   over their normal distribution (``OUTER_NODES`` nodes each): the inner integrals are smooth in them.
3. The log-likelihood sums log(sum_z pi_z L_jz) over units; it is maximised over pi (pi_1 >= pi_2,
   pi_3, the support of the package's prior: pi_2/pi_1 and pi_3/pi_1 are uniform on [0, 1]), the six
   intercepts and the six log sds by L-BFGS-B from several starts.
4. Speed: the quadrature nodes of steps 1-2 are placed once for a current estimate theta_0 and then
   held fixed, each node weighted by its normal density under the new theta relative to theta_0
   (importance weights). The log-likelihood at fixed nodes and its exact gradient are cheap, so
   L-BFGS-B maximises it; the nodes are then re-placed at the new optimum, until two rounds agree
   (log-likelihood within 1e-6, relative). At the fixed point the nodes are those of the adaptive rule at the
   estimate itself.

Deviations from the package, stated: maximum likelihood, not the posterior (which
:mod:`pollwatch.forensics.qbl_mcmc` samples on request; here the package's priors,
N(0, 1) on intercepts and Exp(5) on the effects' variances, are not used, except for pi's support);
the fraud proportions are continuous (the package draws N iota ~ Bin(N, mu_iota), whose sd is below
1 % at a few hundred voters).

References
----------
.. [1] R package eforensics (UMeforensics/eforensics_public @3017de5, MIT), ``R/ef_models.R``, function
   ``qbl``; ``R/ef_models_desc.R`` (qbl is the default and recommended model).
.. [2] Liu Q., Pierce D. A. (1994). "A note on Gauss-Hermite quadrature". Biometrika 81(3):624-629.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, special

from pollwatch.forensics.table import FloatArray

K = 0.7
INNER_NODES = 7
OUTER_NODES = 8
SCORING_STEPS = 12
ROUNDS = 30
LOG_SD_BOUNDS = (float(np.log(0.02)), float(np.log(5.0)))
COEF_BOUND = 12.0
M_CAP = 1 - 1e-6
NAMES = ("tau", "nu", "iota_m", "iota_s", "chi_m", "chi_s")
"""The six intercepts and sds, in the order of the parameter vector after pi's two ratios."""

_Z_IN, _W_IN = np.polynomial.hermite.hermgauss(INNER_NODES)
_Z_OUT, _W_OUT = np.polynomial.hermite.hermgauss(OUTER_NODES)
_P_EPS = 1e-15
_HALF_LOG_2PI = 0.5 * float(np.log(2 * np.pi))


@dataclass(frozen=True)
class QblFit:
    """ML estimates: pi, logit-scale intercepts and sds (order ``NAMES``), log-likelihood, classes."""

    pi: tuple[float, float, float]
    coef: tuple[float, ...]
    sd: tuple[float, ...]
    loglik: float
    resp: FloatArray
    """(3, units): each unit's probability of no, incremental and extreme fraud given its counts."""
    manufactured: FloatArray
    """Per unit: expected votes manufactured from abstainers, a iota_m / (1 - iota_m)."""
    stolen: FloatArray
    """Per unit: expected votes moved from the opposition, (N - a - w) iota_s / (1 - iota_s)."""
    rounds: int


@dataclass(frozen=True)
class _Data:
    n: FloatArray
    a: FloatArray
    w: FloatArray
    frac: FloatArray
    coef: FloatArray


def _data(n: FloatArray, a: FloatArray, w: FloatArray) -> _Data:
    lc = 2 * special.gammaln(n + 1)
    coef = lc - special.gammaln(a + 1) - special.gammaln(n - a + 1) - special.gammaln(w + 1)
    return _Data(n, a, w, a / n, coef - special.gammaln(n - w + 1))


def _lse(x: FloatArray, axis: int | tuple[int, ...] = -1) -> FloatArray:
    """log sum exp over ``axis`` (scipy's general version costs more than the sums themselves here)."""
    top = np.max(x, axis=axis, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    return np.asarray(np.log(np.sum(np.exp(x - top), axis=axis)) + np.squeeze(top, axis=axis))


def _agh(
    y: FloatArray, n: FloatArray, c0: FloatArray, c1: FloatArray, mu: float, sd: float
) -> tuple[FloatArray, FloatArray]:
    """Adaptive Gauss-Hermite nodes x (..., INNER_NODES) and their weights' logs ``base``, such that
    int Bin(y | n, c0 + c1 expit(x)) N(x; mu', sd') dx ~ sum exp(base + log N(x; mu', sd')) (no
    binomial coefficient) for any (mu', sd') near (mu, sd) [2]_: Fisher scoring finds the mode x* and
    curvature h of the integrand at (mu, sd), the nodes are x* + sqrt(2/h) z_k."""
    y, n, c0, c1 = np.broadcast_arrays(y, n, c0, c1)
    prec = 1.0 / sd**2
    # Start between the binomial's own mode (where attainable) and the prior mean.
    target = np.clip((y / n - c0) / np.where(c1 == 0, 1.0, c1), 1e-4, 1 - 1e-4)
    x = 0.5 * (special.logit(target) + mu)
    for _ in range(SCORING_STEPS):
        grad, info = _score(x, y, n, c0, c1)
        x = x + np.clip((grad - (x - mu) * prec) / (info + prec), -2.0, 2.0)
    _, info = _score(x, y, n, c0, c1)
    scale = np.sqrt(2.0 / (info + prec))
    nodes = x[..., None] + scale[..., None] * _Z_IN
    p = np.clip(c0[..., None] + c1[..., None] * special.expit(nodes), _P_EPS, 1 - _P_EPS)
    loglik = y[..., None] * np.log(p) + (n - y)[..., None] * np.log1p(-p)
    return nodes, loglik + np.log(_W_IN) + _Z_IN**2 + np.log(scale)[..., None]


def _score(
    x: FloatArray, y: FloatArray, n: FloatArray, c0: FloatArray, c1: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """The binomial log-likelihood's derivative in x and its Fisher information in x."""
    s = special.expit(x)
    dp = c1 * s * (1 - s)
    p = np.clip(c0 + c1 * s, _P_EPS, 1 - _P_EPS)
    return (y / p - (n - y) / (1 - p)) * dp, n / (p * (1 - p)) * dp * dp


def log_binomial_normal(
    y: FloatArray, n: FloatArray, c0: FloatArray, c1: FloatArray, mu: float, sd: float
) -> FloatArray:
    """log of int Bin(y | n, c0 + c1 expit(x)) N(x; mu, sd^2) dx, without the binomial coefficient."""
    x, base = _agh(y, n, c0, c1, mu, sd)
    return _integrate(x, base, mu, np.log(sd))[0]


def _integrate(
    x: FloatArray, base: FloatArray, mu: float, log_sd: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """log sum exp(base + log N(x; mu, sd)) over the last axis, and its derivatives in mu, log sd."""
    sd = np.exp(log_sd)
    z = (x - mu) / sd
    terms = base - 0.5 * z * z - log_sd - _HALF_LOG_2PI
    total = _lse(terms, axis=-1)
    post = np.exp(terms - total[..., None])
    return total, (post * z).sum(axis=-1) / sd, (post * (z * z - 1)).sum(axis=-1)


@dataclass(frozen=True)
class _Nodes:
    """Quadrature nodes placed at theta_0 (see the module's step 4), held fixed while theta moves."""

    clean: tuple[FloatArray, FloatArray, FloatArray, FloatArray]
    fraud: tuple[tuple[FloatArray, ...], ...]
    """Per fraud class: u_m, base_m, u_s, base_s, m, s, x_a, base_a (J, Q, I), x_w, base_w (J, Q, Q, I)."""


def _place(d: _Data, theta: FloatArray) -> _Nodes:
    fraud = tuple(place_fraud(d, theta, cls) for cls in (1, 2))
    return _Nodes(place_clean(d, theta), fraud)


def place_clean(d: _Data, theta: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """The no-fraud class's nodes at theta: x_a, base_a, x_w, base_w (each (J, I))."""
    coef, sd = theta[2::2], np.exp(theta[3::2])
    one = np.ones_like(d.n)
    return (
        *_agh(d.a, d.n, one, -one, coef[0], sd[0]),
        *_agh(d.w, d.n, 0 * one, 1 - d.frac, coef[1], sd[1]),
    )


def place_fraud(d: _Data, theta: FloatArray, cls: int) -> tuple[FloatArray, ...]:
    """Fraud class ``cls``'s (1 incremental, 2 extreme) nodes at theta, in the order of ``_Nodes.fraud``."""
    coef, sd = theta[2::2], np.exp(theta[3::2])
    n, a, w, f = (v[:, None] for v in (d.n, d.a, d.w, d.frac))
    lo, width = (0.0, K) if cls == 1 else (K, 1.0 - K)
    im, is_ = 2 * cls, 2 * cls + 1
    outer_base = np.log(_W_OUT) + _Z_OUT**2
    u_m = coef[im] + np.sqrt(2.0) * sd[im] * _Z_OUT
    u_s = coef[is_] + np.sqrt(2.0) * sd[is_] * _Z_OUT
    # Capped below 1, as the package caps chi_m at 0.999: p_w divides by 1 - m.
    m = np.minimum(lo + width * special.expit(u_m), M_CAP)
    s = lo + width * special.expit(u_s)
    x_a, base_a = _agh(a, n, 1 - m, -(1 - m), coef[0], sd[0])
    mm, ss = m[None, :, None], s[None, None, :]
    c1 = (1 - ss) / (1 - mm) * (1 - mm - f[..., None])
    c0 = f[..., None] * (mm - ss) / (1 - mm) + ss
    x_w, base_w = _agh(w[..., None], n[..., None], c0, c1, coef[1], sd[1])
    base_m = outer_base + np.log(np.sqrt(2.0) * sd[im])
    base_s = outer_base + np.log(np.sqrt(2.0) * sd[is_])
    return (u_m, base_m, u_s, base_s, m, s, x_a, base_a, x_w, base_w)


def _classes(nodes: _Nodes, theta: FloatArray) -> tuple[FloatArray, FloatArray, list[FloatArray]]:
    """(3, J) class log-likelihoods (no binomial coefficients), their gradients (3, J, 12) in the
    intercepts and log sds, and each fraud class's posterior over its outer node pairs (J, Q, Q)."""
    mu, ls = theta[2::2], theta[3::2]
    x_a, b_a, x_w, b_w = nodes.clean
    la, ga_mu, ga_ls = _integrate(x_a, b_a, mu[0], ls[0])
    lw, gw_mu, gw_ls = _integrate(x_w, b_w, mu[1], ls[1])
    rows = np.empty((3, la.size))
    grads = np.zeros((3, la.size, 12))
    rows[0] = la + lw
    grads[0, :, 0], grads[0, :, 1], grads[0, :, 2], grads[0, :, 3] = ga_mu, ga_ls, gw_mu, gw_ls
    posts = []
    for cls, (u_m, b_m, u_s, b_s, _, _, x_a, b_a, x_w, b_w) in enumerate(nodes.fraud, start=1):
        im, is_ = 2 * cls, 2 * cls + 1
        la, ga_mu, ga_ls = _integrate(x_a, b_a, mu[0], ls[0])  # (J, Q)
        lw, gw_mu, gw_ls = _integrate(x_w, b_w, mu[1], ls[1])  # (J, Q, Q)
        wm, dm_mu, dm_ls = _point(u_m, b_m, mu[im], ls[im])
        ws, ds_mu, ds_ls = _point(u_s, b_s, mu[is_], ls[is_])
        t = la[:, :, None] + lw + wm[None, :, None] + ws[None, None, :]
        rows[cls] = _lse(t.reshape(t.shape[0], -1), axis=1)
        post = np.exp(t - rows[cls][:, None, None])
        pm, ps = post.sum(axis=2), post.sum(axis=1)
        g = grads[cls]
        g[:, 0], g[:, 1] = (pm * ga_mu).sum(axis=1), (pm * ga_ls).sum(axis=1)
        g[:, 2], g[:, 3] = (post * gw_mu).sum(axis=(1, 2)), (post * gw_ls).sum(axis=(1, 2))
        g[:, 2 * im], g[:, 2 * im + 1] = pm @ dm_mu, pm @ dm_ls
        g[:, 2 * is_], g[:, 2 * is_ + 1] = ps @ ds_mu, ps @ ds_ls
        posts.append(post)
    return rows, grads, posts


def _point(u: FloatArray, base: FloatArray, mu: float, log_sd: float) -> tuple[FloatArray, ...]:
    """Outer nodes' log weights under N(mu, sd) and their derivatives in mu and log sd."""
    sd = np.exp(log_sd)
    z = (u - mu) / sd
    return base - 0.5 * z * z - log_sd - _HALF_LOG_2PI, z / sd, z * z - 1


def _log_pi(theta: FloatArray) -> FloatArray:
    ratios = np.array([1.0, theta[0], theta[1]])
    return np.asarray(np.log(np.maximum(ratios, 1e-300)) - np.log(ratios.sum()))


def _objective(theta: FloatArray, nodes: _Nodes) -> tuple[float, FloatArray]:
    """Minus the log-likelihood at fixed nodes (without binomial coefficients) and its gradient."""
    rows, grads, _ = _classes(nodes, theta)
    joint = rows + _log_pi(theta)[:, None]
    total = _lse(joint, axis=0)
    resp = np.exp(joint - total)
    grad = np.empty(14)
    grad[2:] = np.einsum("zj,zjk->k", resp, grads)
    ratio_sum = 1.0 + theta[0] + theta[1]
    # d/d r_z of sum_j log sum_z pi_z L_jz, pi = (1, r_2, r_3) / (1 + r_2 + r_3).
    lik = np.exp(rows - _lse(joint, axis=0) - np.log(ratio_sum))
    grad[0], grad[1] = (lik[1] - 1 / ratio_sum).sum(), (lik[2] - 1 / ratio_sum).sum()
    return -float(total.sum()), -grad


def negative_loglik(theta: FloatArray, d: _Data) -> float:
    """Minus the marginal log-likelihood, theta = (pi_2/pi_1, pi_3/pi_1, then intercept and log sd
    for each of ``NAMES``), with the quadrature placed at theta itself."""
    value, _ = _objective(theta, _place(d, theta))
    return value - float(d.coef.sum())


def _bounds(*, clean_only: bool = False) -> list[tuple[float, float]]:
    ratio = (0.0, 0.0) if clean_only else (0.0, 1.0)
    return [ratio, ratio] + [(-COEF_BOUND, COEF_BOUND), LOG_SD_BOUNDS] * 6


def _starts(d: _Data) -> list[FloatArray]:
    turnout = 1 - d.a.sum() / d.n.sum()
    share = d.w.sum() / max((d.n - d.a).sum(), 1.0)
    base = [special.logit(turnout), np.log(0.5), special.logit(share), np.log(0.5)]
    out = []
    for r2, r3, inc, ext in ((0.1, 0.02, -1.5, 0.0), (0.8, 0.05, -1.0, 0.0), (0.3, 0.3, 0.0, -1.0)):
        fraud = [inc, np.log(0.5), inc, np.log(0.5), ext, np.log(0.5), ext, np.log(0.5)]
        out.append(np.array([r2, r3, *base, *fraud]))
    return out


def _climb(d: _Data, theta: FloatArray, *, clean_only: bool) -> tuple[FloatArray, float, int]:
    """Rounds of (place nodes, maximise at fixed nodes) until the log-likelihood settles."""
    previous = np.inf
    bounds = _bounds(clean_only=clean_only)
    for rounds in range(1, ROUNDS + 1):
        nodes = _place(d, theta)
        got = optimize.minimize(_objective, theta, args=(nodes,), jac=True, method="L-BFGS-B", bounds=bounds)
        theta = np.asarray(got.x)
        value = negative_loglik(theta, d)
        if abs(previous - value) < 1e-6 * max(1.0, abs(value)):
            return theta, value, rounds
        previous = value
    return theta, previous, ROUNDS


def fit_qbl(n: FloatArray, a: FloatArray, w: FloatArray, *, clean_only: bool = False) -> QblFit:
    """Maximum-likelihood fit of the qbl mixture, best of several starts (see the module's steps).

    ``clean_only`` fixes pi = (1, 0, 0): the honest-units model, whose log-likelihood beside the
    full fit's gives the likelihood-ratio test of "no fraud class at all".
    """
    d = _data(n.astype(np.float64), a.astype(np.float64), w.astype(np.float64))
    best: tuple[FloatArray, float, int] | None = None
    starts = _starts(d)
    for start in starts[:1] if clean_only else starts:
        if clean_only:
            start = np.r_[0.0, 0.0, start[2:]]
        got = _climb(d, start, clean_only=clean_only)
        if best is None or got[1] < best[1]:
            best = got
    assert best is not None
    return _summarise(d, best[0], best[2])


def _summarise(d: _Data, theta: FloatArray, rounds: int) -> QblFit:
    nodes = _place(d, theta)
    rows, _, posts = _classes(nodes, theta)
    joint = rows + _log_pi(theta)[:, None]
    norm = _lse(joint, axis=0)
    resp = np.exp(joint - norm)
    manufactured, stolen = np.zeros_like(d.n), np.zeros_like(d.n)
    others = d.n - d.a - d.w
    for cls, (post, detail) in enumerate(zip(posts, nodes.fraud, strict=True), start=1):
        m, s = detail[4], detail[5]
        manufactured += resp[cls] * d.a * (post.sum(axis=2) @ (m / (1 - m)))
        stolen += resp[cls] * others * (post.sum(axis=1) @ (s / (1 - s)))
    ratios = np.array([1.0, theta[0], theta[1]])
    pi = ratios / ratios.sum()
    return QblFit(
        pi=(float(pi[0]), float(pi[1]), float(pi[2])),
        coef=tuple(float(c) for c in theta[2::2]),
        sd=tuple(float(s) for s in np.exp(theta[3::2])),
        loglik=float(norm.sum() + d.coef.sum()),
        resp=resp,
        manufactured=manufactured,
        stolen=stolen,
        rounds=rounds,
    )
