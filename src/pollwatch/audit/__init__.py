"""The official-result audit: signed station sheets against Form-47/48/49, legal checks, re-polls.

>>> from pollwatch.audit import repoll_impact, RepollStation
>>> impact = repoll_impact("NA-41", {1: 5_700, 2: 3_700},
...                        stations=[RepollStation(str(n), 400) for n in range(4)])
>>> impact.can_change_winner, impact.closest.needed
(False, 2001)
"""

from pollwatch.audit.official import OfficialTotals, SignedCounts, audit_station_copies, audit_totals
from pollwatch.audit.repoll import RepollImpact, RepollStation, repoll_impact
from pollwatch.audit.service import AuditReport, audit_election, repoll_election
from pollwatch.audit.snapshots import compare_snapshots

__all__ = [
    "AuditReport",
    "OfficialTotals",
    "RepollImpact",
    "RepollStation",
    "SignedCounts",
    "audit_election",
    "audit_station_copies",
    "audit_totals",
    "compare_snapshots",
    "repoll_election",
    "repoll_impact",
]
