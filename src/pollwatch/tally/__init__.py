"""Reconciliation of copies, the live tally with decidedness, and parallel vote tabulation.

>>> import numpy as np
>>> from pollwatch.tally import LiveTally, Universe
>>> u = Universe(constituency_codes=("NA-1",), regions=("Punjab",),
...              station_constituency=np.zeros(3, dtype=np.int64),
...              station_registered=np.array([1000, 1000, 1000], dtype=np.int64),
...              parties=(("A", "B"),))
>>> live = LiveTally(u, turnout_cap=0.6)
>>> live.apply(0, [700, 100]); live.apply(1, [800, 150])
>>> t = live.constituency(0)
>>> (t.margin, t.unreported_registered, t.decided, t.decided_under_cap)
(1250, 1000, True, True)
"""

from pollwatch.tally.ballot import BallotEntry, Ballots
from pollwatch.tally.inputs import ResultsInput
from pollwatch.tally.live import ConstituencyTally, LiveTally, PartyTally, Universe
from pollwatch.tally.pvt import ShareEstimate, draw_sample, estimate_ratios
from pollwatch.tally.reconcile import CopyState, StationReconciliation, reconcile, reconcile_station

__all__ = [
    "BallotEntry",
    "Ballots",
    "ConstituencyTally",
    "CopyState",
    "LiveTally",
    "PartyTally",
    "ResultsInput",
    "ShareEstimate",
    "StationReconciliation",
    "Universe",
    "draw_sample",
    "estimate_ratios",
    "reconcile",
    "reconcile_station",
]
