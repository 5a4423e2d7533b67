"""The live tally: coverage, decidedness and incremental updates that agree with a full recompute."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pollwatch.errors import InputError
from pollwatch.tally.live import LiveTally, Universe, sum_by_constituency


def _karachi(registered_each: int = 1_000, cap: float = 0.75) -> LiveTally:
    """One constituency of 198 stations (the 2008 Karachi case), each with the same registered voters."""
    u = Universe(
        constituency_codes=("NA-250",),
        regions=("Sindh",),
        station_constituency=np.zeros(198, dtype=np.int64),
        station_registered=np.full(198, registered_each, dtype=np.int64),
        parties=(("A", "B", None),),
    )
    return LiveTally(u, turnout_cap=cap)


def test_karachi_lead_of_22000_with_52_of_198_is_not_decided() -> None:
    live = _karachi()
    for s in range(52):
        live.apply(s, [600, 600 - (22_000 // 52) - (1 if s < 22_000 % 52 else 0), 10])
    t = live.constituency(0)
    assert (t.stations_reported, t.stations_expected, t.margin) == (52, 198, 22_000)
    # 146 unreported stations x 1,000 registered = 146,000 voters could still close a 22,000 gap.
    assert t.unreported_registered == 146_000
    assert not t.decided
    assert not t.decided_under_cap


@pytest.mark.parametrize(("cap", "decided_at"), [(1.0, 177), (0.5, 155)])
def test_karachi_becomes_decided_when_unreported_voters_cannot_close_the_margin(
    cap: float, decided_at: int
) -> None:
    # Later stations split evenly, so the margin stays 22,000. Decided when 22,000 > cap * 1,000 * unreported:
    # cap 1.0 -> unreported <= 21 -> 177 reported; cap 0.5 -> unreported <= 43 -> 155 reported.
    live = _karachi(cap=cap)
    live.apply(0, [22_500, 500, 0])
    first = None
    for s in range(1, 198):
        live.apply(s, [300, 300, 5])
        t = live.constituency(0)
        flag = t.decided if cap == 1.0 else t.decided_under_cap
        if flag and first is None:
            first = t.stations_reported
    assert first == decided_at


def test_replacing_a_station_changes_totals_once() -> None:
    live = _karachi()
    live.apply(3, [100, 50, 0])
    live.apply(3, [90, 60, 0])
    t = live.constituency(0)
    assert (t.votes, t.stations_reported, t.registered_reported) == ((90, 60, 0), 1, 1_000)


def test_unknown_registered_voters_never_let_a_race_be_decided() -> None:
    u = Universe(
        ("X-1",), ("R",), np.zeros(2, dtype=np.int64), np.array([100, -1], dtype=np.int64), (("A", "B"),)
    )
    live = LiveTally(u)
    live.apply(0, [100, 0])
    assert live.constituency(0).unreported_registered is None
    assert not live.constituency(0).decided
    live.apply(1, [10, 0])
    assert live.constituency(0).decided


def test_incremental_updates_equal_a_full_recompute() -> None:
    rng = np.random.default_rng(11)
    n, c, k = 500, 7, 4
    u = Universe(
        tuple(f"C-{i}" for i in range(c)),
        tuple("R1 R2".split()[i % 2] for i in range(c)),
        rng.integers(0, c, n),
        rng.integers(300, 1500, n),
        tuple(("A", "B", None, "C") for _ in range(c)),
    )
    votes = rng.integers(0, 300, (n, k))
    reported = rng.uniform(size=n) < 0.6
    live = LiveTally(u)
    for s in np.flatnonzero(reported):
        live.apply(int(s), rng.integers(0, 300, k))  # a first copy, later replaced
        live.apply(int(s), votes[s])
    full = LiveTally(u)
    full.load(votes, reported)
    assert live.constituencies() == full.constituencies()
    assert [
        live.constituency(i) for i in range(c)
    ] == full.constituencies()  # scalar and vectorised paths agree
    assert live.parties() == full.parties()


def test_sum_by_constituency_matches_a_loop() -> None:
    rng = np.random.default_rng(5)
    const, votes = rng.integers(0, 9, 1000), rng.integers(0, 1000, (1000, 5))
    expected = np.zeros((9, 5), dtype=np.int64)
    for i in range(1000):
        expected[const[i]] += votes[i]
    assert np.array_equal(sum_by_constituency(const, votes, n_constituencies=9), expected)


def test_party_totals_by_region_and_nation() -> None:
    u = Universe(
        ("C-1", "C-2"), ("North", "South"), np.array([0, 1]), np.array([100, 100]), (("A", None), ("B", "A"))
    )
    live = LiveTally(u)
    live.apply(0, [60, 30])
    live.apply(1, [20, 70])
    nation = {p.party: (p.votes, p.leading, p.decided) for p in live.parties() if p.region == ""}
    assert nation == {"A": (130, 2, 2), "IND": (30, 0, 0), "B": (20, 0, 0)}


def test_turnout_cap_out_of_range_is_refused() -> None:
    with pytest.raises(InputError, match="turnout cap out of range"):
        _karachi(cap=1.5)


@given(
    st.lists(st.tuples(st.integers(1, 500), st.booleans()), min_size=1, max_size=12),
    st.lists(st.integers(0, 400), min_size=36, max_size=36),
)
def test_decided_means_no_completion_can_overturn_the_leader(
    stations: list[tuple[int, bool]], draws: list[int]
) -> None:
    # Brute force the definition: for each challenger, give it every unreported registered voter.
    reg = np.array([r for r, _ in stations])
    u = Universe(("X-1",), ("R",), np.zeros(len(stations), dtype=np.int64), reg, (("A", "B", "C"),))
    live = LiveTally(u)
    for i, (r, reported) in enumerate(stations):
        if reported:
            live.apply(i, [min(draws[3 * i + j], r // 3) for j in range(3)])
    t = live.constituency(0)
    if t.leader is None:
        return
    remaining = int(reg[[not rep for _, rep in stations]].sum())
    totals = list(t.votes)
    can_catch = any(totals[j] + remaining >= totals[t.leader - 1] for j in range(3) if j != t.leader - 1)
    assert t.decided is (not can_catch)
    assert live.constituencies()[0] == t
