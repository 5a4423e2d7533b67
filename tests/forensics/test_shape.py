"""Fingerprint, Klimek model and turnout regressions against independent computations."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from pollwatch.errors import DataError
from pollwatch.forensics import StationTable, fingerprint, klimek, regressions
from pollwatch.forensics.klimek import KlimekParams, _draws, simulate
from tests.forensics.conftest import dataset, tiny_table


def test_fingerprint_moments_match_scipy(clean_table: StationTable) -> None:
    r = fingerprint(clean_table)
    w, valid = clean_table.leader_votes, clean_table.valid
    ok = (w > 0) & (w < valid)
    lvr = np.log((valid[ok] - w[ok]) / w[ok])  # Klimek's log vote rate, computed here from scratch
    assert r.skewness == pytest.approx(stats.skew(lvr))
    assert r.kurtosis == pytest.approx(stats.kurtosis(lvr, fisher=False))
    assert r.histogram.sum() == pytest.approx(float(clean_table.registered.sum()))  # type: ignore[union-attr]


def test_fingerprint_needs_turnout() -> None:
    with pytest.raises(DataError, match="needs turnout"):
        fingerprint(tiny_table([[10, 5]] * 20))


def test_fingerprint_russia_2011_heavy_tail() -> None:
    r = fingerprint(dataset("russia-kobak:2011"))
    assert r.flagged
    assert r.kurtosis > 5
    assert r.skewness < -1


def _model_table(f_i: float, f_e: float, alpha: float, seed: int = 0) -> StationTable:
    rng = np.random.default_rng(seed)
    n = rng.integers(500, 3000, 20_000).astype(float)
    d = _draws(n, KlimekParams(0.55, 0.07, 0.45, 0.07, 0.3), rng)
    turnout, share, _ = simulate(d, f_i, f_e, alpha)
    given = np.rint(turnout * n).astype(np.int64)
    lead = np.rint(share * given).astype(np.int64)
    return StationTable(
        name="klimek-model",
        candidates=("w", "o"),
        votes=np.column_stack([lead, given - lead]),
        valid=given,
        invalid=np.zeros_like(given),
        registered=n.astype(np.int64),
        given=given,
        leader=0,
    )


def test_klimek_recovers_fraud_parameters_from_its_own_model() -> None:
    r = klimek(_model_table(0.3, 0.05, 2.0))
    assert r.f_i == pytest.approx(0.3, abs=0.15)
    assert r.f_e == pytest.approx(0.05, abs=0.03)
    assert r.flagged
    assert r.distance < r.distance_clean


def test_klimek_clean_model_not_flagged() -> None:
    r = klimek(_model_table(0.0, 0.0, 1.0, seed=1))
    assert not r.flagged
    assert r.f_e <= 0.01


def test_regression_slopes_match_polyfit() -> None:
    rng = np.random.default_rng(4)
    reg = rng.integers(500, 1500, 200)
    t = rng.uniform(0.4, 0.7, 200)
    given = np.rint(reg * t).astype(np.int64)
    lead = np.rint(given * 0.6).astype(np.int64)
    table = tiny_table(np.column_stack([lead, given - lead]).tolist(), registered=reg.tolist())
    r = regressions(table)
    x = given / reg
    want = np.polyfit(x, lead / reg, 1)[0]  # reference: least squares with numpy
    assert r.regions[0].leader_slope == pytest.approx(want)
    assert not r.flagged


def test_regressions_flag_stuffing_pattern() -> None:
    # The leader gets every extra ballot and rivals lose votes as turnout rises: the MOS pattern.
    rng = np.random.default_rng(8)
    reg = np.full(300, 1000)
    extra = rng.uniform(0, 400, 300)
    rival = np.rint(300 - 0.3 * extra).astype(np.int64)
    lead = np.rint(200 + 1.3 * extra).astype(np.int64)
    r = regressions(tiny_table(np.column_stack([lead, rival]).tolist(), registered=reg.tolist()))
    assert r.flagged
    assert r.regions[0].leader_slope > 1
    assert r.regions[0].min_rival_slope < 0
