"""Re-poll impact: the 2013 NA-41 South Waziristan case, 5,700 vs 3,700 with four stations re-polled."""

import pytest

from pollwatch.audit.repoll import RepollStation, repoll_impact
from pollwatch.errors import InputError
from pollwatch.model import CandidateKey

A, B, C = CandidateKey(1), CandidateKey(2), CandidateKey(3)
TOTALS = {A: 5_700, B: 3_700, C: 900}


def _stations(*registered: int) -> list[RepollStation]:
    return [RepollStation(str(i + 1), r) for i, r in enumerate(registered)]


def test_na41_four_small_stations_cannot_change_the_winner() -> None:
    # 4 x 450 = 1,800 registered: even all for the runner-up gives 5,500 < 5,700.
    impact = repoll_impact("NA-41", TOTALS, stations=_stations(450, 450, 450, 450))
    assert not impact.can_change_winner
    assert impact.closest is not None
    assert (impact.closest.candidate, impact.closest.needed) == (B, 2_001)


def test_na41_four_larger_stations_can_change_the_winner() -> None:
    # 4 x 600 = 2,400 registered >= 2,001 votes the runner-up needs (83.4 % turnout all for B).
    impact = repoll_impact("NA-41", TOTALS, stations=_stations(600, 600, 600, 600))
    assert impact.can_change_winner
    assert [c.candidate for c in impact.challengers if c.possible] == [B]
    assert impact.closest is not None
    assert impact.closest.needed_turnout == pytest.approx(2_001 / 2_400)


def test_turnout_cap_can_close_the_door_again() -> None:
    # 70 % of 2,400 = 1,680 < 2,001.
    assert not repoll_impact(
        "NA-41", TOTALS, stations=_stations(600, 600, 600, 600), turnout_cap=0.7
    ).can_change_winner


def test_counted_votes_of_the_stations_are_taken_out_first() -> None:
    # The four stations had given A 1,000 and B 100: without them A leads 4,700 to 3,600 (gap 1,100).
    stations = [
        RepollStation("1", 300, {A: 1_000, B: 100}),
        RepollStation("2", 300),
        RepollStation("3", 300),
        RepollStation("4", 300),
    ]
    impact = repoll_impact("NA-41", TOTALS, stations=stations)
    assert impact.base == {A: 4_700, B: 3_600, C: 900}
    assert impact.closest is not None
    assert impact.closest.needed == 1_101
    assert impact.can_change_winner  # 1,200 registered


def test_counted_votes_above_the_total_are_refused() -> None:
    with pytest.raises(InputError, match="exceed the constituency total"):
        repoll_impact("NA-41", TOTALS, stations=[RepollStation("1", 300, {C: 1_000})])
