"""Run a country's rule pack over every declared contest and station, and flag missing results.

References
----------
.. [1] EA 2017 s.13(3): the RO lists the stations still awaited at the deadline; a contest with no
   declared result is itself a finding (PAKISTAN.md A2, A9).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from pollwatch.rules import RulePack
from pollwatch.rules.base import Contest, Finding, Severity, StationFigures


def check_contests(
    contests: Iterable[Contest], pack: RulePack, *, election_date: dt.date | None = None
) -> list[Finding]:
    """The pack's contest checks (recount, rejected > margin, turnout, women's share, deadline)."""
    out: list[Finding] = []
    for contest in contests:
        out += pack.check_contest(contest, election_date=election_date)
    return out


def check_stations(stations: Iterable[StationFigures], pack: RulePack) -> list[Finding]:
    """The pack's station checks (turnout above 100 %, above booth capacity)."""
    out: list[Finding] = []
    for station in stations:
        out += pack.check_station(station)
    return out


def missing_results(expected: Sequence[str], contests: Iterable[Contest], *, label: str) -> list[Finding]:
    """A finding for each expected constituency with no declared result in snapshot ``label``."""
    have = {c.constituency for c in contests}
    return [
        Finding(
            kind="result_missing",
            severity=Severity.WARNING,
            where=code,
            message="no official result for this constituency",
            expected=f"a declared result in {label}",
            found="none",
            rule="EA 2017 s.13(3)",
            data={"label": label},
        )
        for code in expected
        if code not in have
    ]
