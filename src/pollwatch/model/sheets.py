"""Result sheets of every kind, with the provenance that makes them evidence.

A sheet is one *copy* of a result as somebody reported it: the same Form-45 photographed by three
party agents and uploaded by the commission is four sheets. Reconciliation decides what they say
together; a sheet itself is never edited.

Other countries fit without schema changes: ``kind`` is the country-neutral level of the sheet,
``form`` is the country's own name for it (``Form-45``, ``34A``, ``acta``), and anything only one
country prints goes into ``extra``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pollwatch.model.ids import CandidateKey, ConstituencyCode, StationNumber


class SheetLevel(StrEnum):
    STATION = "station"
    CONSTITUENCY = "constituency"


class SheetKind(StrEnum):
    """Where a sheet sits in the results chain, whatever the country calls it."""

    STATION_COUNT = "station_count"
    """Count at one station, signed there (Pakistan Form-45, Kenya 34A, Venezuela acta)."""
    BALLOT_ACCOUNT = "ballot_account"
    """Ballot papers received, used, spoilt at one station (Pakistan Form-46)."""
    PROVISIONAL = "provisional"
    """Provisional constituency sum, before postal ballots (Pakistan Form-47)."""
    CONSOLIDATED = "consolidated"
    """Station-by-station consolidated statement (Pakistan Form-48, Kenya 34B)."""
    FINAL = "final"
    """Final consolidated result, the basis of the declaration (Pakistan Form-49)."""

    @property
    def level(self) -> SheetLevel:
        if self in (SheetKind.STATION_COUNT, SheetKind.BALLOT_ACCOUNT):
            return SheetLevel.STATION
        return SheetLevel.CONSTITUENCY


class Role(StrEnum):
    """In what capacity a sheet was submitted."""

    AGENT = "agent"
    OBSERVER = "observer"
    PUBLIC = "public"
    OFFICIAL = "official"
    """Published by the election authority (an upload, a gazette, a results website)."""
    COORDINATOR = "coordinator"
    ADMIN = "admin"
    IMPORT = "import"
    """Loaded from a dataset by an operator."""


class Channel(StrEnum):
    API = "api"
    WEB_FORM = "web_form"
    CSV = "csv"
    SMS = "sms"
    IMPORT = "import"
    SYNTH = "synth"


@dataclass(frozen=True)
class Totals:
    """The totals printed on a sheet; ``None`` where the sheet (or the source) has no such box."""

    valid: int | None = None
    rejected: int | None = None
    """Rejected, excluded from the count or invalid, as the form calls it."""
    polled: int | None = None
    tendered: int | None = None
    challenged: int | None = None
    votes_male: int | None = None
    votes_female: int | None = None
    registered: int | None = None
    """Registered voters as printed on the sheet (may differ from the polling scheme)."""


@dataclass(frozen=True)
class Provenance:
    """Who reported a sheet, how and when; submitters appear only by pseudonymous key and role."""

    source: str
    """Dataset, deployment or feed the sheet came from (e.g. ``pakistan-2018-constituency``)."""
    channel: Channel
    role: Role
    organisation: str = ""
    submitter_key: str = ""
    """Pseudonymous key id of the submitter's device or account; never a name or phone number."""
    received_at: dt.datetime | None = None
    captured_at: dt.datetime | None = None
    evidence_sha256: tuple[str, ...] = ()
    """SHA-256 of each photo or scan of the signed sheet."""


@dataclass(frozen=True)
class ResultSheet:
    """One reported copy of one result sheet."""

    kind: SheetKind
    form: str
    """The country's name for this sheet, e.g. ``Form-45``."""
    constituency: ConstituencyCode
    votes: Mapping[CandidateKey, int]
    totals: Totals
    provenance: Provenance
    station: StationNumber | None = None
    station_serial: int | None = None
    label: str = ""
    """Snapshot or version label, e.g. ``2018-07-29 provisional``."""
    extra: Mapping[str, Any] = field(default_factory=dict)
    """Fields only one country prints (a Kenyan stream number, a Venezuelan acta code)."""

    @property
    def candidate_sum(self) -> int:
        return sum(self.votes.values())
