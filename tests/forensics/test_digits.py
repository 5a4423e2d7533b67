"""Digit tests: the plain chi-squares reproduce C1-C3; the resampled null does not reject clean data."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from pollwatch.errors import DataError
from pollwatch.forensics import StationTable, digit_kinds, digits
from pollwatch.forensics.digits import benford_second, second_digit
from tests.forensics.conftest import dataset, reference, tiny_table

REF = reference("digits.json")


def test_benford_second_digit_constants() -> None:
    q = benford_second()
    b = REF["benford_second"]
    assert (round(q[0], 5), round(q[9], 5), round(float(q @ np.arange(10)), 5)) == (
        b["q0"],
        b["q9"],
        b["mean"],
    )
    assert q.sum() == pytest.approx(1.0)


def test_second_digit_of_counts() -> None:
    # Reference: str(x)[1] for each x.
    x = np.array([10, 19, 99, 100, 109, 999, 1000, 54321, 10**12 + 5 * 10**10])
    assert second_digit(x).tolist() == [int(str(v)[1]) for v in x]


def test_uganda_2011_plain_chi_square_matches_c1() -> None:
    ref = REF["c1_uganda_2011_museveni"]
    second, last = digit_kinds(dataset("uganda-uedp:2011"), replicates=50)
    assert (second.n, round(second.mean_digit, 3), round(second.chi2_plain, 1)) == (
        ref["second_n"],
        ref["second_mean"],
        ref["second_chi2"],
    )
    assert (round(last.chi2_plain, 1), round(last.p_plain, 2)) == (ref["last_chi2"], ref["last_p"])
    # The plain test rejects; the resampled null, which knows how count size shapes digits, does not.
    assert second.p_plain < 1e-10
    assert second.p_resampled > 0.01


def test_venezuela_plain_tests_reject_both_candidates_as_c2_says() -> None:
    ref = REF["c2_venezuela"]
    t = dataset("venezuela-2024-actas:v1")
    gonzalez, maduro = (digit_kinds(t, candidate=c, replicates=50) for c in (0, 1))
    assert round(maduro[0].chi2_plain, 1) == ref["second_chi2_maduro"]
    assert round(gonzalez[0].chi2_plain, 1) == ref["second_chi2_gonzalez"]
    assert (round(maduro[1].mean_digit, 2), round(maduro[1].chi2_plain, 1)) == (
        ref["last_mean_maduro"],
        ref["last_chi2_maduro"],
    )
    assert round(gonzalez[1].p_plain, 2) == ref["last_p_gonzalez"]
    assert not gonzalez[0].flagged
    assert not maduro[0].flagged


def test_austria_ooe_2008_matches_c3() -> None:
    ref = REF["c3_austria_ooe_2008"]
    t = dataset("austria-nrw-ooe-tirol:ooe-2008")
    ovp = digits(t, kind="second", candidate=t.candidates.index("ÖVP"), replicates=100)
    spo = digits(t, kind="last", candidate=t.candidates.index("SPÖ"), replicates=100)
    assert (round(ovp.mean_digit, 3), round(ovp.chi2_plain, 2), round(ovp.p_plain, 2)) == (
        ref["ovp_second_mean"],
        ref["ovp_second_chi2"],
        ref["ovp_second_p"],
    )
    assert round(spo.p_plain, 2) == ref["spo_last_p"]
    assert not ovp.flagged
    assert not spo.flagged


def test_plain_chi_square_agrees_with_scipy(clean_table: StationTable) -> None:
    r = digits(clean_table, kind="last", replicates=20)
    want = stats.chisquare(r.counts, np.asarray(r.expected) * r.n)
    assert r.chi2_plain == pytest.approx(want.statistic)
    assert r.p_plain == pytest.approx(want.pvalue)


def test_last_digit_invented_counts_flagged() -> None:
    # Counts whose last digit is always 0 or 5, as a tired clerk writes them, at 400 stations.
    rng = np.random.default_rng(2)
    lead = 5 * rng.integers(40, 120, 400)
    other = rng.integers(150, 400, 400)
    r = digits(tiny_table(np.column_stack([lead, other]).tolist()), kind="last", candidate=0, replicates=200)
    assert r.flagged
    assert r.p_resampled < 0.01


def test_digits_too_few_counts() -> None:
    with pytest.raises(DataError, match="too few counts"):
        digits(tiny_table([[5, 3], [4, 4]]), kind="second")
