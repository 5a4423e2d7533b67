"""Integer-percentage test against Kobak et al.'s published numbers and brute-force probabilities."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from pollwatch.errors import InputError
from pollwatch.forensics import StationTable, from_synthetic, integer_percentages
from pollwatch.forensics.integer import inclusion, integer_probability, is_integer_pct
from pollwatch.forensics.loaders import RUSSIA_YEARS
from pollwatch.synth import Manipulation, ManipulationKind, SynthConfig, generate
from tests.forensics.conftest import dataset, reference

KOBAK = reference("kobak.json")
K1_YEARS = sorted(KOBAK["k1_excess_t_or_r"])


def test_is_integer_pct_matches_the_definition() -> None:
    # 100 * 1/8 = 12.5 (not integer); 100 * 201/2000 = 10.05 (edge, float says just above 0.05);
    # 100 * 1/3 = 33.33 (no); 100 * 333/1000 = 33.3 (no); 100 * 1000/1001 = 99.9 (no); 100*7/7 (yes)
    got = is_integer_pct(np.array([1, 1, 1, 7, 999, 3]), np.array([8, 100, 3, 7, 1000, 300]))
    assert got.tolist() == [False, True, False, True, False, True]


def test_integer_probability_matches_brute_force_pmf_sums() -> None:
    # Reference: sum of scipy.stats.binom.pmf over every numerator that is an integer percentage.
    rng = np.random.default_rng(3)
    n = rng.integers(1, 2500, 150)
    k = rng.integers(0, n + 1)
    got = integer_probability(n, k)
    want = [
        stats.binom.pmf(np.arange(m + 1), m, j / m)[is_integer_pct(np.arange(m + 1), m)].sum()
        for m, j in zip(n, k, strict=False)
    ]
    np.testing.assert_allclose(got, want, atol=1e-9)


def test_inclusion_applies_kobaks_rules() -> None:
    table = StationTable(
        name="t",
        candidates=("a", "b"),
        votes=np.array([[50, 50], [99, 0], [60, 40], [30, 20]]),
        valid=np.array([100, 99, 100, 50]),
        invalid=np.array([0, 0, 0, 0]),
        registered=np.array([200, 200, 100, 99]),
        given=np.array([100, 99, 100, 50]),
    )
    # station 1: leader share 100 % > 99; station 2: turnout 100 % > 99; station 3: 99 voters < 100
    assert inclusion(table).tolist() == [True, False, False, False]


def test_integer_percentages_rejects_too_few_replicates(clean_table: StationTable) -> None:
    with pytest.raises(InputError, match="too few Monte Carlo replicates"):
        integer_percentages(clean_table, replicates=3)


def test_integer_percentages_clean_synthetic_not_flagged(clean_table: StationTable) -> None:
    result = integer_percentages(clean_table, replicates=300)
    assert not result.flagged
    assert abs(result.excess_t_or_r) < 4 * result.sd_t_or_r


def test_integer_percentages_rounded_turnout_flagged() -> None:
    manip = (Manipulation(ManipulationKind.ROUNDED_TURNOUT, share=0.1),)
    table = from_synthetic(
        generate(SynthConfig(seed=4, n_stations=3000, n_constituencies=30, manipulations=manip))
    )
    result = integer_percentages(table, replicates=300)
    assert result.flagged
    assert result.excess_t > 100


def test_integer_percentages_weighting_by_voters_scales_counts(clean_table: StationTable) -> None:
    by_station = integer_percentages(clean_table, replicates=50)
    by_voters = integer_percentages(clean_table, replicates=50, weighting="voters")
    assert by_voters.integer_t_or_r > 100 * by_station.integer_t_or_r


def test_integer_percentages_k2_observed_counts_2012() -> None:
    table = dataset("russia-kobak:2012")
    result = integer_percentages(table, replicates=10)
    want = KOBAK["k2_2012"]
    assert (result.included, result.integer_t_or_r, result.integer_r, result.integer_t) == (
        want["included"],
        want["integer_t_or_r"],
        want["integer_r"],
        want["integer_t"],
    )


@pytest.mark.slow
@pytest.mark.parametrize("year", K1_YEARS)
def test_integer_percentages_k1_within_monte_carlo_error(year: str) -> None:
    result = integer_percentages(dataset(f"russia-kobak:{year}"), replicates=1000, seed=7)
    # MC standard error of the mean of 1000 draws is sd/sqrt(1000) ~ 3.7; allow 4 of them plus rounding.
    assert result.excess_t_or_r == pytest.approx(KOBAK["k1_excess_t_or_r"][year], abs=16)
    # K1's sd range [111, 118] (Kobak's 1000 draws); an sd from 1000 draws has its own Monte Carlo
    # error of about sd / sqrt(2 x 1000) ~ 2.6, so allow 3 either side of the published range.
    low, high = KOBAK["k1_mc_sd_range"]
    assert low - 3 <= result.sd_t_or_r <= high + 3


@pytest.mark.slow
@pytest.mark.parametrize("year", K1_YEARS)
def test_integer_percentages_k1_exact_with_legacy_loop(year: str) -> None:
    result = integer_percentages(dataset(f"russia-kobak:{year}"), replicates=1000, seed=42, mode="legacy")
    assert round(result.excess_t_or_r, 1) == KOBAK["k1_excess_t_or_r"][year]
    # Kobak's own draws: the sd lies in the range he printed ("about 111-118", to the rounding).
    low, high = KOBAK["k1_mc_sd_range"]
    assert low - 0.5 <= result.sd_t_or_r <= high + 0.5


@pytest.mark.slow
@pytest.mark.parametrize("year", [y for y in RUSSIA_YEARS if y not in KOBAK["k1_excess_t_or_r"]])
def test_integer_percentages_other_russian_years_computed(year: str) -> None:
    result = integer_percentages(dataset(f"russia-kobak:{year}"), replicates=200)
    assert result.included > 80_000
    assert np.isfinite(result.excess_t_or_r)
    assert result.integer_t_or_r >= result.integer_r


def test_integer_percentages_binomial_mode_agrees_with_exact(clean_table: StationTable) -> None:
    exact = integer_percentages(clean_table, replicates=400, seed=1)
    draws = integer_percentages(clean_table, replicates=400, seed=2, mode="binomial")
    # Two Monte Carlo estimates of the same null mean: within 5 standard errors of their difference.
    assert abs(exact.mean_t_or_r - draws.mean_t_or_r) < 5 * exact.sd_t_or_r * np.sqrt(2 / 400)
