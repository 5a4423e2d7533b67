"""Apportioning a number of seats in proportion to weights: largest remainder and divisor methods.

References
----------
.. [1] M. L. Balinski, H. P. Young, *Fair Representation*, 2nd ed., Brookings, 2001, ch. 2-4
   (Hamilton's largest remainder; Jefferson/D'Hondt and Webster/Sainte-Lague divisors).
.. [2] Constitution of Pakistan Art. 51(6)(d), Art. 106(3)(c): reserved seats "in proportion to"
   general seats won; the rounding rule of the Election Rules was not found (PAKISTAN.md A6), so the
   method is a parameter with largest remainder as default.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from fractions import Fraction

from pollwatch.errors import InputError


class Rounding(StrEnum):
    LARGEST_REMAINDER = "largest_remainder"
    """Hare quota ``W / seats``; whole quotas first, then the largest remainders."""
    DHONDT = "dhondt"
    """Highest averages with divisors 1, 2, 3, ..."""
    SAINTE_LAGUE = "sainte_lague"
    """Highest averages with divisors 1, 3, 5, ..."""


def apportion(
    seats: int, weights: Mapping[str, int], *, method: Rounding = Rounding.LARGEST_REMAINDER
) -> dict[str, int]:
    """Seats per party; ties go to the larger weight, then to the party code in sort order.

    Exact rational arithmetic, so that a tie is a tie.
    """
    if seats < 0:
        raise InputError("seats to apportion must not be negative", found=str(seats))
    live = {p: w for p, w in weights.items() if w > 0}
    out = dict.fromkeys(weights, 0)
    if seats == 0 or not live:
        return out
    if method is Rounding.LARGEST_REMAINDER:
        total = sum(live.values())
        quotas = {p: Fraction(w * seats, total) for p, w in live.items()}
        for p, q in quotas.items():
            out[p] = int(q)
        left = seats - sum(out.values())
        order = sorted(live, key=lambda p: (-(quotas[p] - int(quotas[p])), -live[p], p))
        for p in order[:left]:
            out[p] += 1
        return out
    step = 1 if method is Rounding.DHONDT else 2
    for _ in range(seats):
        best = min(live, key=lambda p: (-Fraction(live[p], step * out[p] + 1), -live[p], p))
        out[best] += 1
    return out
