"""Apportionment and coalitions against hand-worked examples and brute force."""

import itertools
import math
from collections import Counter
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pollwatch.errors import InputError
from pollwatch.parliament.apportion import Rounding, apportion
from pollwatch.parliament.coalitions import minimal_winning_coalitions
from pollwatch.parliament.reserved import Reading, compose
from pollwatch.parliament.seats import GeneralSeats, SeatWinner
from pollwatch.rules import House, ReservedQuota


def test_largest_remainder_hand_worked() -> None:
    # 32 seats; weights 81/78/52/14/4 (sum 229). Quotas: 11.319, 10.900, 7.266, 1.956, 0.559.
    # Whole parts 11+10+7+1+0 = 29; the 3 largest remainders go to D (.956), B (.900), E (.559).
    got = apportion(32, {"A": 81, "B": 78, "C": 52, "D": 14, "E": 4})
    assert got == {"A": 11, "B": 11, "C": 7, "D": 2, "E": 1}


def test_divisor_methods_hand_worked() -> None:
    # D'Hondt, 7 seats, 100/80/30: the 7 largest quotients 100A 80B 50A 40B 33.3A 30C 26.7B -> A3 B3 C1.
    assert apportion(7, {"A": 100, "B": 80, "C": 30}, method=Rounding.DHONDT) == {"A": 3, "B": 3, "C": 1}
    # Sainte-Lague, 7 seats: divisors 1,3,5: 100A 80B 33.3A 30C 26.7B 20A 16B -> A3 B3 C1.
    assert apportion(7, {"A": 100, "B": 80, "C": 30}, method=Rounding.SAINTE_LAGUE) == {
        "A": 3,
        "B": 3,
        "C": 1,
    }
    # 5 seats, 53/24/23: the 5 largest quotients 53A 26.5A 24B 23C 17.7A -> A3 B1 C1.
    assert apportion(5, {"A": 53, "B": 24, "C": 23}, method=Rounding.DHONDT) == {"A": 3, "B": 1, "C": 1}


def test_apportion_edge_cases() -> None:
    assert apportion(0, {"A": 3}) == {"A": 0}
    assert apportion(3, {"A": 0, "B": 0}) == {"A": 0, "B": 0}
    with pytest.raises(InputError, match="must not be negative"):
        apportion(-1, {"A": 1})


def _brute(seats: dict[str, int], majority: int) -> set[tuple[str, ...]]:
    parties = [p for p, n in seats.items() if n > 0]
    out = set()
    for r in range(1, len(parties) + 1):
        for combo in itertools.combinations(parties, r):
            total = sum(seats[p] for p in combo)
            if total >= majority and all(total - seats[p] < majority for p in combo):
                out.add(tuple(sorted(combo)))
    return out


@pytest.mark.parametrize("seed", range(5))
def test_minimal_winning_coalitions_match_brute_force(seed: int) -> None:
    import random

    rng = random.Random(seed)
    seats = {f"P{i}": rng.randint(0, 60) for i in range(9)}
    majority = sum(seats.values()) // 2 + 1
    got = {tuple(sorted(c.parties)) for c in minimal_winning_coalitions(seats, majority)}
    assert got == _brute(seats, majority)


def _winners(region: str, counts: dict[str, int]) -> list[SeatWinner]:
    return [SeatWinner(f"{region}-{p}-{i}", region, p, p, "") for p, n in counts.items() for i in range(n)]


def test_three_readings_of_a_contested_party() -> None:
    seats = GeneralSeats(tuple(_winners("North", {"SIC": 6, "A": 3, "B": 1, "IND": 2})))
    house = House("H", 12, (ReservedQuota("women", {"North": 5}),))
    counted = compose(seats, house, reading=Reading.JOINERS_COUNTED, contested={"SIC"})
    notified = compose(seats, house, reading=Reading.AS_NOTIFIED, contested={"SIC"})
    vacant = compose(seats, house, reading=Reading.VACANT, contested={"SIC"})
    # Base 6/3/1 (independents never count): quotas 3.0, 1.5, 0.5 -> 3, 1, 0; the last seat goes to
    # the tied .5 remainder of the larger party, A.
    assert counted.reserved == Counter({"SIC": 3, "A": 2})
    # Without SIC: 3/1 of 5 -> 3.75, 1.25 -> A 3 (+1 by remainder .75) = 4, B 1.
    assert notified.reserved == Counter({"A": 4, "B": 1})
    assert (vacant.reserved, vacant.vacant) == (Counter({"A": 2}), 3)


@given(
    st.integers(0, 80),
    st.dictionaries(st.sampled_from("ABCDEFGH"), st.integers(0, 200), min_size=1),
    st.sampled_from(list(Rounding)),
)
def test_every_seat_is_given_and_largest_remainder_stays_within_quota(
    seats: int, weights: dict[str, int], method: Rounding
) -> None:
    got = apportion(seats, weights, method=method)
    total = sum(weights.values())
    assert sum(got.values()) == (seats if total else 0)
    assert all(got[p] == 0 for p, w in weights.items() if w == 0)
    if method is Rounding.LARGEST_REMAINDER and total:
        for p, w in weights.items():  # Hamilton satisfies quota: floor(q) <= seats <= ceil(q)
            q = Fraction(w * seats, total)
            assert math.floor(q) <= got[p] <= math.ceil(q)
