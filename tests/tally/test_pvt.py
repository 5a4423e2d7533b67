"""PVT: the published-seed draw can be redone by hand, and the estimator matches Cochran's formulas."""

import hashlib
import math

import numpy as np
import pytest

from pollwatch.errors import InputError
from pollwatch.synth import SynthConfig, generate
from pollwatch.tally.pvt import compare, draw_sample, estimate_ratios, sample_digest


def test_draw_can_be_redone_from_the_documented_algorithm() -> None:
    keys = [f"NA-{c}/{s}" for c in (1, 2) for s in range(1, 31)]
    strata = [k.split("/")[0] for k in keys]
    got = draw_sample(keys, strata, seed="2024-02-08 published", size=10)
    # Redraw with hashlib only: rank by SHA-256(seed || 0x00 || key) within each stratum, 5 per stratum.
    expected = []
    for stratum in ("NA-1", "NA-2"):
        idx = [i for i, s in enumerate(strata) if s == stratum]
        idx.sort(key=lambda i: hashlib.sha256(b"2024-02-08 published\x00" + keys[i].encode()).hexdigest())
        expected += idx[:5]
    assert got == expected
    assert sample_digest("s", "k") == hashlib.sha256(b"s\x00k").hexdigest()
    assert draw_sample(keys, strata, seed="other", size=10) != got


def test_small_strata_get_the_minimum() -> None:
    keys = [f"A/{i}" for i in range(100)] + ["B/1", "B/2", "B/3"]
    strata = ["A"] * 100 + ["B"] * 3
    sample = draw_sample(keys, strata, seed="x", size=10)
    assert sum(1 for i in sample if strata[i] == "B") == 2  # round(10 * 3 / 103) = 0 -> minimum 2


def _reference(
    y: list[list[int]], x: list[int], strata: list[int], pop: list[int]
) -> list[tuple[float, float]]:
    """Cochran (1977) 6.11-6.12, written out with plain loops: combined ratio and its linearised variance."""
    n_h = [strata.count(h) for h in range(len(pop))]
    w = [pop[strata[i]] / n_h[strata[i]] for i in range(len(x))]
    big_x = sum(w[i] * x[i] for i in range(len(x)))
    out = []
    for k in range(len(y[0])):
        p = sum(w[i] * y[i][k] for i in range(len(x))) / big_x
        var = 0.0
        for h in range(len(pop)):
            z = [(y[i][k] - p * x[i]) / big_x for i in range(len(x)) if strata[i] == h]
            if len(z) < 2:
                continue
            mean = sum(z) / len(z)
            s2 = sum((v - mean) ** 2 for v in z) / (len(z) - 1)
            var += pop[h] ** 2 * (1 - len(z) / pop[h]) * s2 / len(z)
        out.append((p, math.sqrt(var)))
    return out


def test_estimator_matches_the_written_out_formula() -> None:
    y = [[120, 80], [90, 110], [300, 20], [50, 60], [70, 70], [10, 200], [40, 45]]
    x = [a + b for a, b in y]
    strata = [0, 0, 0, 1, 1, 2, 2]
    pop = [40, 25, 10]
    got = estimate_ratios(np.array(y), np.array(x), strata=np.array(strata), population=np.array(pop))
    for est, (p, se) in zip(got, _reference(y, x, strata, pop), strict=True):
        assert est.share == pytest.approx(p, rel=1e-12)
        assert est.se == pytest.approx(se, rel=1e-12)
        assert est.moe == pytest.approx(1.959964 * se, rel=1e-12)


def test_interval_covers_the_true_share_about_95_percent_of_the_time() -> None:
    e = generate(SynthConfig(seed=21, n_stations=4_000, n_constituencies=8, n_candidates=3))
    valid = e.votes.sum(axis=1)
    truth = e.votes[:, 0].sum() / valid.sum()
    keys = [f"C{c}/{i}" for i, c in enumerate(e.constituency)]
    strata_names = [f"C{c}" for c in e.constituency]
    pop = np.bincount(e.constituency)
    hits, runs = 0, 200
    for r in range(runs):
        idx = np.array(draw_sample(keys, strata_names, seed=f"run-{r}", size=200))
        (est, *_rest) = estimate_ratios(e.votes[idx], valid[idx], strata=e.constituency[idx], population=pop)
        hits += est.low <= truth <= est.high
    # Binomial(200, 0.95): 0.88..0.99 holds with probability > 0.999.
    assert 0.88 <= hits / runs <= 0.99


def test_comparison_flags_an_official_share_outside_the_interval() -> None:
    est = estimate_ratios(
        np.array([[50, 50], [60, 40], [55, 45]]),
        np.array([100, 100, 100]),
        strata=np.array([0, 0, 0]),
        population=np.array([30]),
    )
    inside, outside = compare(est, [0.55, 0.45]), compare(est, [0.80, 0.20])
    assert not any(c.outside for c in inside)
    assert all(c.outside for c in outside)


def test_bad_sample_size_is_refused() -> None:
    with pytest.raises(InputError, match="sample size out of range"):
        draw_sample(["a"], ["s"], seed="x", size=2)
