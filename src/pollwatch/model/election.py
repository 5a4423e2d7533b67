"""The structure of an election: constituencies, polling stations, parties and candidates."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from pollwatch.model.ids import (
    CandidateKey,
    ConstituencyCode,
    ElectionSlug,
    PartyCode,
    StationNumber,
)


@dataclass(frozen=True)
class Election:
    """One general (or by-) election of one country, interpreted under one rule pack."""

    slug: ElectionSlug
    country: str
    """ISO 3166-1 alpha-2 code, e.g. ``PK``."""
    name: str
    date: dt.date
    rule_pack: str
    """Name of the country rule pack (``pakistan``) that gives forms, deadlines and seat rules."""
    delimitation: str
    """Which delimitation of constituencies applies (e.g. ``2018``): codes are only unique within it."""


@dataclass(frozen=True)
class Registered:
    """Registered voters, by sex where the source gives it."""

    male: int | None = None
    female: int | None = None
    total: int | None = None


@dataclass(frozen=True)
class Booths:
    """Polling booths at a station, by sex where the source gives it."""

    male: int | None = None
    female: int | None = None
    total: int | None = None


@dataclass(frozen=True)
class GeoPoint:
    latitude: float
    longitude: float


@dataclass(frozen=True)
class Constituency:
    """A contest for one or more seats of one assembly, keyed by code and delimitation."""

    code: ConstituencyCode
    assembly: str
    """Assembly code: NA, PP, PS, PK, PB in Pakistan; any short code elsewhere."""
    delimitation: str
    name: str = ""
    region: str = ""
    """Province, state or county the constituency belongs to."""
    registered: Registered = Registered()
    seats: int = 1

    @property
    def key(self) -> tuple[str, str]:
        """The identity of a constituency: the same code in another delimitation is another place."""
        return (self.code, self.delimitation)


class StationSex(StrEnum):
    """Whom a polling station serves (Pakistan separates male, female and combined stations)."""

    MALE = "male"
    FEMALE = "female"
    COMBINED = "combined"
    UNKNOWN = "unknown"

    @classmethod
    def from_registered(cls, registered: Registered) -> StationSex:
        """Infer the sex of a station from its registered voters."""
        male, female = registered.male or 0, registered.female or 0
        if male and female:
            return cls.COMBINED
        if male:
            return cls.MALE
        if female:
            return cls.FEMALE
        return cls.UNKNOWN


@dataclass(frozen=True)
class Station:
    """A polling station: where one station-count sheet (Form-45, Form 34A, acta) is written."""

    constituency: ConstituencyCode
    serial: int
    """Position in the official polling scheme; unique within the constituency."""
    number: StationNumber
    """Number printed on the sheet; the real data has duplicates, so it is not the key."""
    name: str = ""
    sex: StationSex = StationSex.UNKNOWN
    registered: Registered = Registered()
    booths: Booths = Booths()
    location: GeoPoint | None = None


@dataclass(frozen=True)
class Party:
    code: PartyCode
    name: str


@dataclass(frozen=True)
class Candidate:
    """A candidate on one constituency's ballot; ``party`` is None for an independent."""

    constituency: ConstituencyCode
    ballot_order: CandidateKey
    name: str
    party: PartyCode | None = None
    name_ur: str = ""
    """The name in Urdu script, where the source has it (Pakistan's 2024 Form-33 rosters)."""

    @property
    def independent(self) -> bool:
        return self.party is None
