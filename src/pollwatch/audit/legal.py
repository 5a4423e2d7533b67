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
from pollwatch.tally.reconcile import StationReconciliation


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


def awaited_at_deadline(
    items: Iterable[StationReconciliation], deadline: dt.datetime, *, rule: str = "EA 2017 s.13(3)"
) -> list[Finding]:
    """Per constituency, the stations whose official copy had not arrived by the deadline.

    Only constituencies where the authority uploads station sheets at all are considered.
    """
    uploads: dict[str, list[tuple[str, bool, dt.datetime | None]]] = {}
    for r in items:
        copies = [v for v in r.versions if v.official]
        first = min((v.official_received for v in copies if v.official_received is not None), default=None)
        uploads.setdefault(r.constituency, []).append((r.number or str(r.serial), bool(copies), first))
    out = []
    for code, rows in uploads.items():
        if not any(has for _, has, _ in rows):
            continue
        # No official copy at all, or one received after the deadline (an unknown time proves nothing).
        late = [n for n, has, t in rows if not has or (t is not None and t > deadline)]
        if late:
            out.append(
                Finding(
                    kind="stations_awaited_at_deadline",
                    severity=Severity.WARNING,
                    where=code,
                    message="stations whose official result had not arrived by the legal deadline",
                    expected=f"every station's result by {deadline.isoformat()}",
                    found=f"{len(late)} of {len(rows)} awaited: {', '.join(late[:50])}"
                    + (" ..." if len(late) > 50 else ""),
                    rule=rule,
                    data={"awaited": late, "stations": len(rows), "deadline": deadline.isoformat()},
                )
            )
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
