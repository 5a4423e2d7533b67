import numpy as np

from pollwatch.synth import Contest, Manipulation, ManipulationKind, RealStation, SynthConfig, from_universe

CONTESTS = [
    Contest(
        code="NA-1",
        region="North",
        registered=12_000,
        candidates=(("A", "P1"), ("B", "P2"), ("C", None)),
        totals=(3_000, 2_500, 400),
        rejected=150,
        stations=tuple(RealStation(str(i + 1), 1_000 + 50 * i, 3) for i in range(10)),
    ),
    Contest(
        code="NA-2",
        region="South",
        registered=30_000,
        candidates=(("D", "P2"), ("E", "P1")),
        totals=(9_000, 8_000),
        rejected=300,
    ),
]


def test_from_universe_reproduces_real_totals_exactly() -> None:
    e = from_universe(CONTESTS, SynthConfig(seed=2))
    sums = e.station_sums()
    assert sums[0].tolist() == [3_000, 2_500, 400]
    assert sums[1].tolist() == [9_000, 8_000, 0]
    assert [int(e.rejected[e.constituency == c].sum()) for c in (0, 1)] == [150, 300]
    assert np.array_equal(e.official, sums)


def test_from_universe_uses_real_stations_and_generates_the_rest() -> None:
    e = from_universe(CONTESTS, SynthConfig(seed=2))
    real = e.registered[e.constituency == 0]
    assert real.tolist() == [1_000 + 50 * i for i in range(10)]
    generated = e.registered[e.constituency == 1]
    assert generated.sum() == 30_000
    assert 15 <= generated.shape[0] <= 35
    assert (e.polled <= e.registered).all()
    assert e.candidate_names[1] == ("D", "E", "")


def test_from_universe_varies_turnout_between_stations() -> None:
    e = from_universe(CONTESTS, SynthConfig(seed=4))
    turnout = e.polled / e.registered
    assert turnout[e.constituency == 1].std() > 0.02


def test_from_universe_with_withheld_stations_lowers_the_official_total() -> None:
    e = from_universe(
        CONTESTS, SynthConfig(seed=2, manipulations=(Manipulation(ManipulationKind.WITHHELD, 0.2),))
    )
    assert e.official.sum() < e.votes.sum()
    assert e.truth.withheld.sum() > 0
