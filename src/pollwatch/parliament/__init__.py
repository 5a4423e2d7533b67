"""Seats: general seats by party, reserved seats by the proportional rule, coalition arithmetic.

>>> from pollwatch.parliament import apportion, minimal_winning_coalitions
>>> apportion(10, {"A": 60, "B": 30, "C": 10})
{'A': 6, 'B': 3, 'C': 1}
>>> [c.parties for c in minimal_winning_coalitions({"A": 45, "B": 35, "C": 20}, 51)]
[('B', 'C'), ('A', 'C'), ('A', 'B')]
"""

from pollwatch.parliament.apportion import Rounding, apportion
from pollwatch.parliament.coalitions import Coalition, minimal_winning_coalitions
from pollwatch.parliament.reserved import Composition, Reading, compose
from pollwatch.parliament.seats import GeneralSeats, Joins, general_seats
from pollwatch.parliament.service import ParliamentReport, parliament_report

__all__ = [
    "Coalition",
    "Composition",
    "GeneralSeats",
    "Joins",
    "ParliamentReport",
    "Reading",
    "Rounding",
    "apportion",
    "compose",
    "general_seats",
    "minimal_winning_coalitions",
    "parliament_report",
]
