"""The rule pack for a country nobody has modelled yet: only checks that hold everywhere.

References
----------
.. [1] pollwatch MISSION.md, capability 5: turnout above 100 % is impossible under any law.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pollwatch.rules.base import Contest, Finding, RecountVerdict, Severity, StationFigures


@dataclass(frozen=True)
class GenericRules:
    """Country-neutral checks: votes polled above registered voters, at a station or a constituency."""

    name: str = "generic"

    def recount(self, contest: Contest) -> RecountVerdict:
        """No recount rule is known for this country: never eligible."""
        return RecountVerdict(eligible=False, margin=contest.margin, threshold=0.0, rule="no recount rule")

    def check_contest(self, contest: Contest, *, election_date: dt.date | None = None) -> list[Finding]:
        return over_registered(contest)

    def check_station(self, station: StationFigures) -> list[Finding]:
        return station_over_registered(station)

    def house(self, assembly: str, *, year: int) -> None:
        return None

    def region_key(self, region: str) -> str:
        return region.strip()

    def constituency_region(self, code: str, *, year: int) -> str:
        return ""

    def deadline(self, election_date: dt.date) -> None:
        return None


def over_registered(contest: Contest) -> list[Finding]:
    """Votes polled in a constituency above its registered voters (turnout above 100 %)."""
    polled = contest.polled if contest.polled is not None else contest.valid + (contest.rejected or 0)
    if contest.registered is None or polled <= contest.registered:
        return []
    return [
        Finding(
            kind="turnout_over_100",
            severity=Severity.ERROR,
            where=contest.constituency,
            message="more votes polled than registered voters",
            expected=f"votes polled <= {contest.registered} registered",
            found=f"{polled} polled ({polled / max(contest.registered, 1):.1%})",
            rule="votes polled cannot exceed registered voters",
            evidence=contest.evidence,
            data={"polled": polled, "registered": contest.registered, "label": contest.label},
        )
    ]


def station_over_registered(station: StationFigures) -> list[Finding]:
    """Votes polled at a station above its registered voters."""
    if station.registered is None or station.polled <= station.registered:
        return []
    return [
        Finding(
            kind="station_turnout_over_100",
            severity=Severity.ERROR,
            where=station.where,
            message="more votes polled at the station than voters registered there",
            expected=f"votes polled <= {station.registered} registered",
            found=f"{station.polled} polled",
            rule="votes polled cannot exceed registered voters",
            evidence=station.evidence,
            data={"polled": station.polled, "registered": station.registered},
        )
    ]
