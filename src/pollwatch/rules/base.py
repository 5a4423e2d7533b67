"""Country-neutral values the rule packs read and write: contests, station figures and findings.

References
----------
.. [1] pollwatch MISSION.md, capability 5 (official-result audit and legal checks).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pollwatch.model import CandidateKey, ResultSheet


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True)
class Evidence:
    """One sheet a finding rests on, named by source, label and photo hashes (never by submitter)."""

    source: str
    form: str = ""
    label: str = ""
    role: str = ""
    organisation: str = ""
    sha256: tuple[str, ...] = ()
    station: str = ""

    @classmethod
    def of(cls, sheet: ResultSheet) -> Evidence:
        p = sheet.provenance
        station = sheet.station if sheet.station is not None else sheet.station_serial
        return cls(
            source=p.source,
            form=sheet.form,
            label=sheet.label,
            role=p.role.value,
            organisation=p.organisation,
            sha256=p.evidence_sha256,
            station="" if station is None else str(station),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "form": self.form,
            "label": self.label,
            "role": self.role,
            "organisation": self.organisation,
            "sha256": list(self.sha256),
            "station": self.station,
        }


@dataclass(frozen=True)
class Finding:
    """One departure from what the law or the signed counts say: what, where, expected, found, why."""

    kind: str
    severity: Severity
    where: str
    """``NA-41`` or ``NA-41/station 12`` or ``NA-41/candidate 3``."""
    message: str
    expected: str = ""
    found: str = ""
    rule: str = ""
    """Statute or method the check applies (e.g. ``EA 2017 s.95(5)``)."""
    evidence: tuple[Evidence, ...] = ()
    data: Mapping[str, Any] = field(default_factory=dict)
    """Machine-readable figures behind the finding (margin, threshold, differences)."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "severity": self.severity.value,
            "where": self.where,
            "message": self.message,
            "expected": self.expected,
            "found": self.found,
            "rule": self.rule,
            "evidence": [e.as_dict() for e in self.evidence],
            "data": dict(self.data),
        }


@dataclass(frozen=True)
class Contest:
    """The declared figures of one constituency at one stage (provisional, final)."""

    constituency: str
    assembly: str
    votes: Mapping[CandidateKey, int]
    region: str = ""
    rejected: int | None = None
    polled: int | None = None
    registered: int | None = None
    votes_female: int | None = None
    reported_at: dt.datetime | None = None
    label: str = ""
    evidence: tuple[Evidence, ...] = ()
    registered_female: int | None = None
    women_turnout: float | None = None
    """Share of registered women who voted, where a source gives the rate but not the votes."""

    @property
    def women_votes(self) -> tuple[int | None, bool]:
        """Women's votes and whether they are estimated (turnout rate x registered women)."""
        if self.votes_female is not None:
            return self.votes_female, False
        if self.women_turnout is not None and self.registered_female:
            return round(self.women_turnout * self.registered_female), True
        return None, False

    @property
    def ranking(self) -> list[tuple[CandidateKey, int]]:
        """Candidates by votes, highest first; ties by ballot order."""
        return sorted(self.votes.items(), key=lambda kv: (-kv[1], kv[0]))

    @property
    def winner(self) -> CandidateKey | None:
        ranking = self.ranking
        return ranking[0][0] if ranking else None

    @property
    def margin(self) -> int:
        """Votes between first and second (the first's votes when unopposed)."""
        ranking = self.ranking
        if not ranking:
            return 0
        return ranking[0][1] - (ranking[1][1] if len(ranking) > 1 else 0)

    @property
    def valid(self) -> int:
        return sum(self.votes.values())

    @classmethod
    def of(
        cls, sheet: ResultSheet, *, assembly: str, region: str = "", registered_female: int | None = None
    ) -> Contest:
        t = sheet.totals
        rate = _rate(next((sheet.extra[k] for k in _WOMEN_TURNOUT_KEYS if k in sheet.extra), None))
        men = _rate(next((sheet.extra[k] for k in _MEN_TURNOUT_KEYS if k in sheet.extra), None))
        if rate == 0.0 and men == 0.0:
            rate = None  # both rates zero while votes were polled: the source left them blank
        return cls(
            constituency=sheet.constituency,
            assembly=assembly,
            region=region,
            votes=dict(sheet.votes),
            rejected=t.rejected,
            polled=t.polled,
            registered=t.registered,
            votes_female=t.votes_female,
            reported_at=sheet.provenance.received_at,
            label=sheet.label,
            evidence=(Evidence.of(sheet),),
            registered_female=registered_female,
            women_turnout=rate,
        )


_WOMEN_TURNOUT_KEYS = ("women_turnout", "femaleTurnout")
_MEN_TURNOUT_KEYS = ("men_turnout", "maleTurnout")
"""Keys of ``ResultSheet.extra`` under which sources give the women's (men's) turnout rate."""


def _rate(value: Any) -> float | None:
    try:
        rate = float(value)
    except (TypeError, ValueError):
        return None
    return rate if 0.0 <= rate <= 1.5 else None


@dataclass(frozen=True)
class StationFigures:
    """One station's signed figures next to what its polling scheme says it can take."""

    constituency: str
    serial: int
    number: str
    registered: int | None
    booths: int | None
    polled: int
    votes_female: int | None = None
    evidence: tuple[Evidence, ...] = ()
    registered_female: int | None = None

    @property
    def where(self) -> str:
        return f"{self.constituency}/station {self.number}"


@dataclass(frozen=True)
class RecountVerdict:
    """Whether a contest's margin is inside the recount threshold, and the figures that decide it."""

    eligible: bool
    margin: int
    threshold: float
    rule: str
