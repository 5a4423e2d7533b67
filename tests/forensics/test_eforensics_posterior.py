"""The eforensics ``qbl`` posterior on dc2010 held to the package's own MCMC runs (in a file of its own
so that pytest-xdist's ``--dist loadfile`` runs this ten-minute test beside the other dc2010 fits)."""

from __future__ import annotations

import math

import pytest

from pollwatch.forensics.eforensics import eforensics
from tests.forensics.conftest import dataset
from tests.forensics.test_eforensics import EFORENSICS, _within


@pytest.mark.slow
def test_dc2010_qbl_posterior_modes_fall_in_the_packages_intervals() -> None:
    # Reference: the package's three runs (tests/forensics/results/eforensics_dc2010.json, provenance
    # there). Under the package's priors our sampler, which integrates the unit effects out, moves
    # between the two modes that each JAGS run sticks to, so each mode (the posterior on one side of
    # the valley of pi_1's density) is compared with the runs that landed in it: its posterior mean of
    # pi, beta.tau and beta.nu lies inside their 95 % HPD intervals, up to twice its Monte Carlo
    # standard error (the mode's sd over the square root of its effective draws: the pooled ESS times
    # the mode's probability). The chains' path, so the figures' last digits, depends on the machine's
    # floating point (vector units): a mean a Monte Carlo error from a bound passed on one machine and
    # not on the next. Two chains of 2,000 draws, seed 1 (the figures of docs/forensics.md).
    runs = EFORENSICS["runs"]
    result = eforensics(dataset("dc2010-eforensics"), estimator="mcmc", draws=2000, seed=1)
    post = result.posterior
    assert post is not None
    assert result.estimator == "mcmc"
    assert post.split is not None
    names = ("pi[1]", "pi[2]", "pi[3]", "beta.tau", "beta.nu")
    for label, seeds in (
        ("fraud", EFORENSICS["modes"]["fraud_class"]),
        ("honest", EFORENSICS["modes"]["clean"]),
    ):
        for seed in seeds:
            for name in names:
                mode = post.modes[label]
                estimate = mode.parameters[name]
                mcse = estimate.sd / math.sqrt(max(post.diagnostics[name].ess * mode.probability, 1.0))
                assert _within(estimate.mean, runs[seed], name, margin=2 * mcse), (
                    label,
                    seed,
                    name,
                    estimate,
                    mcse,
                )
    # Both chains visit both modes, and agree on the well-identified parameters.
    for chain in post.chains:
        assert min(chain.time_in_mode.values()) > 0.1, chain
        assert all(0.15 < rate < 0.5 for rate in chain.acceptance.values()), chain
    assert post.diagnostics["beta.tau"].split_rhat < 1.1
    assert post.diagnostics["sd.tau"].ess > 100
    # The maximum-likelihood figures and the verdict are those of the default estimator.
    assert result.p_value > 0.05
    assert not result.flagged
