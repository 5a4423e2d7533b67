"""Rozenas' RKD test: R's density estimator, the beta-binomial EM, and the two reference elections."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from pollwatch.forensics import StationTable, spikes
from pollwatch.forensics.betabinom import fit_mixture, select_mixture
from pollwatch.forensics.spikes import exact_density, r_density
from tests.forensics.conftest import dataset


def test_r_density_matches_gaussian_kde_for_a_wide_bandwidth() -> None:
    # Reference: the exact Gaussian KDE sum (scipy.stats.norm.pdf), which R's binned estimator
    # approximates to within its binning error when bw spans many bins.
    rng = np.random.default_rng(0)
    x = rng.beta(4, 6, 2000)
    grid = np.linspace(0, 1, 1001)
    want = stats.norm.pdf((grid[:, None] - x[None, :]) / 0.02).sum(axis=1) / (x.size * 0.02)
    np.testing.assert_allclose(r_density(x, bw=0.02, grid=1001), want, atol=0.02 * want.max())


def test_exact_density_matches_direct_sum() -> None:
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 1, 500)
    grid = np.linspace(0, 1, 1001)
    want = stats.norm.pdf((grid[:, None] - x[None, :]) / 1e-4).sum(axis=1) / (x.size * 1e-4)
    np.testing.assert_allclose(exact_density(x, bw=1e-4, grid=1001), want, rtol=1e-9, atol=1e-9)


def test_r_density_puts_a_point_mass_on_its_bin() -> None:
    # 1/2 lies between internal grid points; its mass must come back on the output point 0.5.
    dens = r_density(np.full(10, 0.5), bw=1e-4, grid=1001)
    assert int(np.argmax(dens)) == 500
    assert dens.sum() > 0


def test_fit_mixture_recovers_a_two_component_beta_binomial() -> None:
    rng = np.random.default_rng(5)
    n = rng.integers(200, 1500, 8000)
    comp = rng.random(n.size) < 0.3
    p = np.where(comp, rng.beta(80, 20, n.size), rng.beta(30, 70, n.size))
    y = rng.binomial(n, p)
    mix = fit_mixture(n, y, components=2)
    means = np.sort(mix.alpha / (mix.alpha + mix.beta))
    np.testing.assert_allclose(means, [0.3, 0.8], atol=0.02)
    assert sorted(np.round(mix.weights, 1).tolist()) == [0.3, 0.7]


def test_select_mixture_stops_when_densities_agree() -> None:
    rng = np.random.default_rng(6)
    n = rng.integers(300, 900, 4000)
    y = rng.binomial(n, rng.beta(50, 50, n.size))
    assert select_mixture(n, y).components <= 3


def test_spikes_clean_synthetic_not_flagged(clean_table: StationTable) -> None:
    result = spikes(clean_table, resamples=150)
    assert not result.flagged
    assert result.p_value > 0.01


def test_spikes_invented_shares_flagged(clean_table: StationTable) -> None:
    # 3 % of stations get a leader share of exactly 60 % of turnout: a spike no resample reaches.
    votes = clean_table.votes.copy()
    idx = np.arange(0, clean_table.n, 33)
    assert clean_table.given is not None
    votes[idx, clean_table.leader] = np.rint(0.6 * clean_table.given[idx]).astype(np.int64)
    forged = StationTable(
        name="forged",
        candidates=clean_table.candidates,
        votes=votes,
        valid=votes.sum(axis=1),
        invalid=clean_table.invalid,
        registered=clean_table.registered,
        given=clean_table.given,
        leader=clean_table.leader,
    )
    result = spikes(forged, resamples=150)
    assert result.flagged
    assert 0.6 in result.spike_bins


@pytest.mark.slow
def test_spikes_canada_2011_close_to_the_packages_clean_result() -> None:
    # The spikes package ships output$fraud for this data (withheld from us); a clean election's RKD
    # estimate is a small fraction of a percent, and it must not be significant.
    result = spikes(dataset("rozenas-spikes:canada2011"), resamples=1000)
    assert result.fraud_pct < 0.5
    assert not result.flagged


@pytest.mark.slow
def test_spikes_russia_2011_flagged() -> None:
    result = spikes(dataset("rozenas-spikes:russia2011"), resamples=300)
    assert result.flagged
    assert {0.75, 0.8, 0.85}.issubset({round(b, 2) for b in result.spike_bins})
