"""The synthetic night as signed submissions, in timeline order, for the one submission core.

Every copy becomes a :class:`~pollwatch.intake.format.SheetSubmission` signed by its submitter's
device key and written by :func:`pollwatch.intake.service.write_batch`, exactly as an HTTP submission:
the agents' and observers' Form-45s, the commission's Form-45 uploads, its Form-47 (kind
``provisional``) per constituency and its Form-48 (kind ``consolidated``) row by row. Submission ids
are fixed by the election and the entry, so loading the night twice writes nothing the second time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from pollwatch.auth import sign
from pollwatch.intake.format import SheetSubmission, TotalsIn, iso, signing_body
from pollwatch.intake.service import Job
from pollwatch.ledger.records import signed_bytes
from pollwatch.model import Channel, Role, SheetKind
from pollwatch.synth.election import SyntheticElection
from pollwatch.synth.submitters import OFFICIAL_ORGANISATION, Identity, Wanted
from pollwatch.synth.timeline import Arrivals

PROVISIONAL_AFTER = dt.timedelta(hours=14)
"""Form-47 after polls close (the returning officers' provisional statements)."""
CONSOLIDATED_AFTER = dt.timedelta(hours=38)
"""Form-48 after polls close (the station-wise consolidated statements)."""
_OFFICIAL = (Role.OFFICIAL, OFFICIAL_ORGANISATION)


class Form(StrEnum):
    STATION = "Form-45"
    PROVISIONAL = "Form-47"
    CONSOLIDATED = "Form-48"


@dataclass(frozen=True)
class Entry:
    """One submission of the night: when it arrives, which form, and the row it comes from."""

    at: dt.datetime
    form: Form
    index: int
    """Arrival row (Form-45), constituency (Form-47) or station (Form-48)."""


@dataclass
class Night:
    """A synthetic election's night, ready to be turned into signed jobs."""

    slug: str
    election: SyntheticElection
    arrivals: Arrivals
    polls_close: dt.datetime
    identities: dict[tuple[Role, str], Identity] = field(default_factory=dict)
    """Filled by :func:`pollwatch.synth.prepare_night` once the submitters are registered."""
    entries: list[Entry] = field(init=False)
    _votes: list[list[int]] = field(init=False, repr=False)
    _used: list[int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        e = self.election
        self._votes = self.arrivals.votes.tolist()
        self._used = [len([n for n in names if n]) for names in e.candidate_names]
        self.entries = _entries(e, self.arrivals, self.polls_close)

    def wanted(self) -> list[Wanted]:
        """The submitters this night needs: an agent per party (for its constituencies), others."""
        e, a = self.election, self.arrivals
        places: dict[tuple[Role, str], set[str]] = {}
        for station, role, organisation in zip(a.station.tolist(), a.role, a.organisation, strict=True):
            code = e.constituency_codes[e.constituency[station]]
            places.setdefault((role, organisation), set()).add(code)
        places.setdefault(_OFFICIAL, set())
        return [
            Wanted(role, organisation, tuple(sorted(codes)) if role is Role.AGENT else ())
            for (role, organisation), codes in sorted(places.items())
        ]

    def submitter_of(self, entry: Entry) -> tuple[Role, str]:
        if entry.form is Form.STATION:
            return self.arrivals.role[entry.index], self.arrivals.organisation[entry.index]
        return _OFFICIAL

    def submission_id(self, entry: Entry) -> str:
        return f"{self.slug}:{entry.form.value}:{entry.index}"

    def job(self, entry: Entry) -> Job:
        """The signed submission of one entry, as its submitter's device would send it."""
        identity = self.identities[self.submitter_of(entry)]
        sub, captured = self._submission(entry, identity)
        body = signing_body(
            sub,
            form=entry.form.value,
            submitter_key=identity.device_key,
            organisation=identity.principal.organisation,
            captured_at=iso(captured),
        )
        signed = sub.model_copy(update={"signature": sign(identity.device, signed_bytes(body))})
        return Job(signed, identity.principal, Channel.SYNTH, received_at=entry.at)

    def _submission(self, entry: Entry, identity: Identity) -> tuple[SheetSubmission, dt.datetime]:
        e = self.election
        if entry.form is Form.STATION:
            station, captured = (
                int(self.arrivals.station[entry.index]),
                self.arrivals.captured_at[entry.index],
            )
            row, kind, role = (
                self._votes[entry.index],
                SheetKind.STATION_COUNT,
                self.arrivals.role[entry.index],
            )
        elif entry.form is Form.CONSOLIDATED:
            station, captured = entry.index, entry.at
            row, kind, role = e.votes[station].tolist(), SheetKind.CONSOLIDATED, Role.OFFICIAL
        else:
            return self._provisional(entry, identity), entry.at
        c = int(e.constituency[station])
        votes = {str(j + 1): v for j, v in enumerate(row[: self._used[c]])}
        valid, rejected = sum(votes.values()), int(e.rejected[station])
        sub = SheetSubmission(
            election=self.slug,
            submission_id=self.submission_id(entry),
            kind=kind,
            form=entry.form.value,
            constituency=e.constituency_codes[c],
            station=str(station + 1),
            votes=votes,
            totals=TotalsIn(
                valid=valid, rejected=rejected, polled=valid + rejected, registered=int(e.registered[station])
            ),
            role=role,
            organisation=identity.principal.organisation,
            captured_at=captured,
            device_key=identity.device_key,
        )
        return sub, captured

    def _provisional(self, entry: Entry, identity: Identity) -> SheetSubmission:
        """Form-47: the official constituency totals, which leave the withheld stations out."""
        e, c = self.election, entry.index
        votes = {str(j + 1): int(v) for j, v in enumerate(e.official[c, : self._used[c]])}
        rejected = int(e.rejected[(e.constituency == c) & ~e.official_withheld].sum())
        valid = sum(votes.values())
        return SheetSubmission(
            election=self.slug,
            submission_id=self.submission_id(entry),
            kind=SheetKind.PROVISIONAL,
            form=entry.form.value,
            constituency=e.constituency_codes[c],
            votes=votes,
            totals=TotalsIn(valid=valid, rejected=rejected, polled=valid + rejected),
            role=Role.OFFICIAL,
            organisation=identity.principal.organisation,
            captured_at=entry.at,
            device_key=identity.device_key,
        )


def _entries(e: SyntheticElection, a: Arrivals, close: dt.datetime) -> list[Entry]:
    """Every submission of the night, sorted by arrival (Form-47 and Form-48 come last)."""
    out = [Entry(at, Form.STATION, i) for i, at in enumerate(a.received_at)]
    provisional = close + PROVISIONAL_AFTER
    out += [Entry(provisional, Form.PROVISIONAL, c) for c in range(e.n_constituencies)]
    consolidated = close + CONSOLIDATED_AFTER
    out += [Entry(consolidated, Form.CONSOLIDATED, int(s)) for s in np.flatnonzero(~e.official_withheld)]
    out.sort(key=lambda entry: entry.at)
    return out
