"""Every minimal winning coalition: parties whose seats reach a majority of the whole house, where
losing any one member would drop below it.

References
----------
.. [1] W. H. Riker, *The Theory of Political Coalitions*, Yale UP, 1962 (minimal winning coalitions).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pollwatch.errors import InputError

MAX_PARTIES = 24


@dataclass(frozen=True)
class Coalition:
    parties: tuple[str, ...]
    seats: int
    surplus: int
    """Seats above the majority."""


def minimal_winning_coalitions(seats: Mapping[str, int], majority: int) -> list[Coalition]:
    """All minimal winning coalitions, fewest parties first, then smallest surplus.

    Parties without a seat never count.
    """
    parties = sorted((p for p, n in seats.items() if n > 0), key=lambda p: (-seats[p], p))
    if len(parties) > MAX_PARTIES:
        raise InputError(
            "too many parties for exhaustive coalition search",
            expected=f"at most {MAX_PARTIES} parties with seats",
            found=str(len(parties)),
            remedy="merge small parties or leave out independents",
        )
    suffix = [0] * (len(parties) + 1)
    for i in range(len(parties) - 1, -1, -1):
        suffix[i] = suffix[i + 1] + seats[parties[i]]
    out: list[Coalition] = []

    def extend(start: int, chosen: list[str], total: int) -> None:
        if total >= majority:
            # Members are added in descending seat order, so the last added is the smallest.
            if total - seats[chosen[-1]] < majority:
                out.append(Coalition(tuple(chosen), total, total - majority))
            return
        if total + suffix[start] < majority:
            return
        for i in range(start, len(parties)):
            chosen.append(parties[i])
            extend(i + 1, chosen, total + seats[parties[i]])
            chosen.pop()

    extend(0, [], 0)
    return sorted(out, key=lambda c: (len(c.parties), c.surplus, c.parties))
