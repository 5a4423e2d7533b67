"""Second-digit (2BL) and last-digit tests, judged only against a binomial resampling null.

Plain chi-square tests against Benford's second-digit law or a uniform last digit reject clean
elections (FORENSICS.md C1-C3): the digit distribution of honest counts depends on how large the counts
are. Here every station's count is redrawn R times from Bin(ballots, observed share); the statistic of
the real counts is compared with its distribution over those redraws. The plain chi-square is still
reported, labelled, because published work quotes it.

References
----------
.. [1] Mebane W. R. (2006). "Election Forensics: The Second-digit Benford's Law Test and Recent American
   Presidential Elections". Election Fraud Conference, Salt Lake City.
.. [2] Beber B., Scacco A. (2012). "What the Numbers Say: A Digit-Based Test for Election Fraud".
   Political Analysis 20(2):211-234, doi:10.1093/pan/mps003.
.. [3] Deckert J., Myagkov M., Ordeshook P. C. (2011). "Benford's Law and the Detection of Election
   Fraud". Political Analysis 19(3):245-268 (the coin-toss critique).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from pollwatch.errors import DataError
from pollwatch.forensics.result import as_dict, empirical_p
from pollwatch.forensics.sampling import Binomial
from pollwatch.forensics.table import FloatArray, IntArray, StationTable

REFERENCES = (
    "Mebane (2006), Election Fraud Conference, Salt Lake City (2BL)",
    "Beber & Scacco (2012), Political Analysis 20(2):211-234, doi:10.1093/pan/mps003 (last digit)",
    "Deckert, Myagkov & Ordeshook (2011), Political Analysis 19(3):245-268 (critique)",
)
CAVEATS = (
    "Digit tests are weak: Deckert et al. found 2BL no better than a coin toss; fraud can even move "
    "counts toward Benford. Report them, do not conclude from them alone.",
    "The plain chi-square (chi2_plain, p_plain) ignores how count size shapes digits and rejects clean "
    "elections; only p_resampled is calibrated.",
    "Last digits are only uniform for large counts; counts below the threshold are left out.",
)


class DigitKind(StrEnum):
    SECOND = "second"
    LAST = "last"


def benford_second() -> FloatArray:
    """q_d = sum_{k=1..9} log10(1 + 1/(10k + d)), d = 0..9 [1]_."""
    k = np.arange(1, 10)[:, None]
    d = np.arange(10)[None, :]
    return np.asarray(np.log10(1 + 1 / (10 * k + d)).sum(axis=0))


_POW10 = 10 ** np.arange(19, dtype=np.int64)


def second_digit(x: IntArray) -> IntArray:
    """Second significant digit of each count >= 10."""
    mag = np.floor(np.log10(np.maximum(x, 1).astype(np.float64))).astype(np.int64)  # 10^mag <= x
    mag -= x < _POW10[mag]  # guard against log10 rounding just below a power of ten
    return np.asarray((x // _POW10[np.maximum(mag - 1, 0)]) % 10)


def _digits(x: IntArray, kind: DigitKind, minimum: int) -> IntArray:
    x = x[x >= minimum]
    return second_digit(x) if kind is DigitKind.SECOND else np.asarray(x % 10)


@dataclass(frozen=True)
class DigitResult:
    """Digit frequencies of one candidate's counts against the expected law and the resampled null."""

    test: str
    dataset: str
    candidate: str
    kind: str
    minimum_count: int
    n: int
    counts: tuple[int, ...]
    expected: tuple[float, ...]
    mean_digit: float
    expected_mean: float
    chi2_plain: float
    p_plain: float
    chi2_null_mean: float
    p_resampled: float
    p_mean_resampled: float
    replicates: int
    flagged: bool
    null: str
    caveats: tuple[str, ...]
    references: tuple[str, ...]

    def summary(self) -> dict[str, Any]:
        return as_dict(self)


def _chi2(digits: IntArray, expected: FloatArray) -> tuple[float, IntArray]:
    counts = np.bincount(digits, minlength=10)
    e = expected * max(counts.sum(), 1)
    return float(((counts - e) ** 2 / e).sum()), counts


_EXPECTED = {DigitKind.SECOND: benford_second(), DigitKind.LAST: np.full(10, 0.1)}


def _minimum(kind: DigitKind, minimum: int | None) -> int:
    return minimum if minimum is not None else (10 if kind is DigitKind.SECOND else 100)


def _lookup(kind: DigitKind, minimum: int, top: int) -> NDArray[np.uint8]:
    """Digit of every count 0..top as a table; 10 marks counts below ``minimum`` (left out)."""
    x = np.arange(top + 1, dtype=np.int64)
    lut = np.full(top + 1, 10, dtype=np.uint8)
    keep = x >= minimum
    lut[keep] = (second_digit(x[keep]) if kind is DigitKind.SECOND else x[keep] % 10).astype(np.uint8)
    return lut


def _stats(hist: IntArray, expected: FloatArray) -> tuple[float, float]:
    """(chi-square, mean digit) of a digit histogram."""
    total = hist.sum()
    if total == 0:
        return float("nan"), float("nan")
    e = expected * total
    return float(((hist - e) ** 2 / e).sum()), float(hist @ np.arange(10) / total)


def _null(
    n: IntArray,
    p: FloatArray,
    kinds: tuple[DigitKind, ...],
    minima: tuple[int, ...],
    *,
    replicates: int,
    seed: int,
) -> tuple[FloatArray, FloatArray]:
    """Chi-square and mean digit of every kind over ``replicates`` binomial redraws (one set of draws).

    Digits of the redrawn counts come from lookup tables (one gather per count) and are tallied with
    one bincount per replicate block.
    """
    sampler = Binomial.create(n, p)
    rng = np.random.default_rng(seed)
    luts = [_lookup(k, low, int(n.max(initial=0))) for k, low in zip(kinds, minima, strict=True)]
    chi2 = np.empty((len(kinds), replicates))
    mean = np.empty((len(kinds), replicates))
    block = max(1, 2_000_000 // max(n.size, 1))
    for start in range(0, replicates, block):
        rows = min(block, replicates - start)
        x = np.stack([sampler.draw(rng) for _ in range(rows)])
        offset = (np.arange(rows) * 11)[:, None]
        for i, (kind, lut) in enumerate(zip(kinds, luts, strict=True)):
            hist = np.bincount((lut[x] + offset).ravel(), minlength=11 * rows).reshape(rows, 11)[:, :10]
            for r in range(rows):
                chi2[i, start + r], mean[i, start + r] = _stats(hist[r], _EXPECTED[kind])
    return chi2, mean


def digit_kinds(
    table: StationTable,
    *,
    kinds: tuple[DigitKind | str, ...] = (DigitKind.SECOND, DigitKind.LAST),
    candidate: int | None = None,
    minimum: int | None = None,
    replicates: int = 1000,
    seed: int = 5,
    alpha: float = 0.01,
) -> list[DigitResult]:
    """Second-digit (counts >= 10) and/or last-digit (counts >= 100) tests with a binomial null [1]_ [2]_.

    Every count of the candidate is redrawn ``replicates`` times from Bin(valid ballots, observed share);
    one set of redraws serves every requested kind.
    """
    ks = tuple(DigitKind(k) for k in kinds)
    minima = tuple(_minimum(k, minimum) for k in ks)
    cand = table.leader if candidate is None else candidate
    x, ballots = table.votes[:, cand], table.valid
    observed = [_digits(x, k, low) for k, low in zip(ks, minima, strict=True)]
    for k, low, d in zip(ks, minima, observed, strict=True):
        if d.size < 20:
            raise DataError(
                f"too few counts >= {low} for a {k} digit test", expected=">= 20", found=str(d.size)
            )
    use = ballots > 0
    null_chi2, null_mean = _null(
        ballots[use], x[use] / ballots[use], ks, minima, replicates=replicates, seed=seed
    )
    return [
        _result(table, cand, k, low, d, null_chi2[i], null_mean[i], alpha=alpha)
        for i, (k, low, d) in enumerate(zip(ks, minima, observed, strict=True))
    ]


def digits(
    table: StationTable,
    *,
    kind: DigitKind | str = DigitKind.SECOND,
    candidate: int | None = None,
    minimum: int | None = None,
    replicates: int = 1000,
    seed: int = 5,
    alpha: float = 0.01,
) -> DigitResult:
    """One digit test (see :func:`digit_kinds`)."""
    return digit_kinds(
        table,
        kinds=(kind,),
        candidate=candidate,
        minimum=minimum,
        replicates=replicates,
        seed=seed,
        alpha=alpha,
    )[0]


def _result(
    table: StationTable,
    cand: int,
    kind: DigitKind,
    minimum: int,
    observed: IntArray,
    null_chi2: FloatArray,
    null_mean: FloatArray,
    *,
    alpha: float,
) -> DigitResult:
    expected = _EXPECTED[kind]
    chi2, counts = _chi2(observed, expected)
    mean = float(observed.mean())
    p_mean = min(1.0, 2 * min(empirical_p(mean, null_mean), empirical_p(mean, null_mean, upper=False)))
    p_res = empirical_p(chi2, null_chi2)
    return DigitResult(
        test=f"{kind.value}-digit",
        dataset=table.name,
        candidate=table.candidates[cand],
        kind=kind.value,
        minimum_count=minimum,
        n=int(observed.size),
        counts=tuple(int(c) for c in counts),
        expected=tuple(float(e) for e in expected),
        mean_digit=mean,
        expected_mean=float(expected @ np.arange(10)),
        chi2_plain=chi2,
        p_plain=float(stats.chi2.sf(chi2, 9)),
        chi2_null_mean=float(null_chi2.mean()),
        p_resampled=p_res,
        p_mean_resampled=p_mean,
        replicates=null_chi2.size,
        flagged=bool(p_res < alpha),
        null=f"each count redrawn from Bin(valid ballots, observed share), {null_chi2.size} replicates; "
        f"null mean digit {float(np.nanmean(null_mean)):.3f}",
        caveats=CAVEATS,
        references=REFERENCES,
    )
