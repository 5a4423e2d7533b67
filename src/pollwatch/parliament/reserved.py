"""Reserved seats (women, non-Muslims) in proportion to general seats won, under alternative readings.

The three readings of the 2024 reserved-seats case (PAKISTAN.md A6) differ only in how the
*contested* parties (in 2024: the Sunni Ittehad Council, which PTI-backed winners joined and which
had filed no priority list) are treated:

``as_notified``
    contested parties get nothing and are left out of the base: their share goes to the others
    (ECP order of 1 Mar 2024, upheld by the PHC and by the 27 Jun 2025 review judgment);
``joiners_counted``
    contested parties are counted and allocated like any other (SC short order of 12 Jul 2024);
``vacant``
    contested parties are counted in the base but their share is left vacant.

References
----------
.. [1] Constitution of Pakistan Art. 51(6)(d), Art. 106(3)(c); EA 2017 s.104 (priority lists).
.. [2] Supreme Court of Pakistan, *Sunni Ittehad Council v. ECP*, 12 Jul 2024; review, 27 Jun 2025.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass
from enum import StrEnum

from pollwatch.parliament.apportion import Rounding, apportion
from pollwatch.parliament.seats import INDEPENDENT, GeneralSeats
from pollwatch.rules import House

VACANT = "(vacant)"


class Reading(StrEnum):
    AS_NOTIFIED = "as_notified"
    JOINERS_COUNTED = "joiners_counted"
    VACANT = "vacant"


@dataclass(frozen=True)
class ReservedAllocation:
    category: str
    region: str
    """Province, or ``""`` for a nationwide list."""
    seats: dict[str, int]
    vacant: int
    base: dict[str, int]
    """General seats counted for each party in this allocation."""


@dataclass(frozen=True)
class Composition:
    """A house under one reading: general plus reserved seats per party."""

    reading: Reading
    house: House
    general: Counter[str]
    reserved: Counter[str]
    vacant: int
    allocations: tuple[ReservedAllocation, ...]

    @property
    def total(self) -> Counter[str]:
        return self.general + self.reserved

    def as_dict(self) -> dict[str, object]:
        total = self.total
        return {
            "reading": self.reading.value,
            "house_total": self.house.total,
            "majority": self.house.majority,
            "vacant": self.vacant,
            "parties": [
                {
                    "party": p,
                    "general": self.general.get(p, 0),
                    "reserved": self.reserved.get(p, 0),
                    "total": n,
                }
                for p, n in sorted(total.items(), key=lambda kv: (-kv[1], kv[0]))
            ],
            "allocations": [
                {
                    "category": a.category,
                    "region": a.region,
                    "seats": a.seats,
                    "vacant": a.vacant,
                    "base": a.base,
                }
                for a in self.allocations
            ],
        }


def compose(
    general: GeneralSeats,
    house: House,
    *,
    reading: Reading = Reading.JOINERS_COUNTED,
    contested: Collection[str] = (),
    region_key: Callable[[str], str] = str.strip,
    method: Rounding = Rounding.LARGEST_REMAINDER,
) -> Composition:
    """Allocate every reserved quota of ``house`` and return the resulting composition."""
    by_region = {region_key(r): c for r, c in general.by_region().items()}
    allocations = []
    for quota in house.reserved:
        for region, seats in sorted(quota.seats.items()):
            won: Counter[str] = Counter()
            for r, counts in by_region.items():
                if region in ("", r):
                    won.update(counts)
            allocations.append(_allocate(quota.category, region, seats, won, reading, set(contested), method))
    reserved: Counter[str] = Counter()
    for a in allocations:
        reserved.update({p: n for p, n in a.seats.items() if n})
    return Composition(
        reading=reading,
        house=house,
        general=general.by_party(),
        reserved=reserved,
        vacant=sum(a.vacant for a in allocations),
        allocations=tuple(allocations),
    )


def _allocate(
    category: str,
    region: str,
    seats: int,
    won: Counter[str],
    reading: Reading,
    contested: set[str],
    method: Rounding,
) -> ReservedAllocation:
    base = {p: n for p, n in won.items() if p != INDEPENDENT}
    if reading is Reading.AS_NOTIFIED:
        base = {p: n for p, n in base.items() if p not in contested}
    shares = apportion(seats, base, method=method)
    vacant = 0
    if reading is Reading.VACANT:
        vacant = sum(n for p, n in shares.items() if p in contested)
        shares = {p: n for p, n in shares.items() if p not in contested}
    if not base:
        vacant = seats
    return ReservedAllocation(category, region, {p: n for p, n in shares.items() if n}, vacant, base)
