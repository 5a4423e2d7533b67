"""The ``incident`` kind: what an observer, agent or coordinator saw happen, in a category of the
documented taxonomy (:mod:`pollwatch.observe.incidents`), at a station, a constituency or a point.

Incidents may come from the months around polling day (intimidation, arrests, shutdowns), so
``occurred_at`` may be up to a year before the election and at most a day after the record arrives.
The description is public: phone numbers and e-mail addresses in it are refused.

Its leaf is ``type: "incident"``: ``election``, ``submission_id``, ``category``, ``severity``,
``occurred_at``, ``constituency``, ``station``, ``latitude``, ``longitude``, ``description``, ``photos``
(SHA-256s), ``submitter_key``, ``role``, ``organisation``, ``captured_at`` (what a device signs) plus
``received_at``, ``signature`` and ``checks``. Its row is in ``incidents``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

from pydantic import BaseModel, Field, StringConstraints, field_validator
from sqlalchemy import Connection

from pollwatch.auth.roles import SUBMITTING, AuthRole
from pollwatch.errors import InputError, ProblemList
from pollwatch.intake.format import NoNul, Visible, aware_utc
from pollwatch.intake.kinds.base import Batch, Draft, LoggedRecord, Place, RecordBase, Signer, leaf_time
from pollwatch.intake.kinds.observation import StateRows, logged_place, resolve
from pollwatch.observe.incidents import Severity, category
from pollwatch.observe.text import screen_text
from pollwatch.storage import observations

if TYPE_CHECKING:
    from pollwatch.intake.service import Job

BEFORE = dt.timedelta(days=366)
"""How long before polling day an incident may have happened."""


class IncidentSubmission(RecordBase):
    """An incident report (JSON body of ``POST /api/v1/records/incident``)."""

    category: Annotated[str, StringConstraints(min_length=1, max_length=64), Visible] = Field(
        description="A code of the incident taxonomy (GET /api/v1/incident-categories)."
    )
    severity: Severity = Severity.MEDIUM
    occurred_at: dt.datetime | None = Field(None, description="When it happened (default: captured_at).")
    constituency: Annotated[str, StringConstraints(min_length=1, max_length=32), Visible] | None = None
    station: Annotated[int, Field(strict=True, ge=1, le=1_000_000)] | None = None
    latitude: Annotated[float, Field(ge=-90, le=90)] | None = None
    longitude: Annotated[float, Field(ge=-180, le=180)] | None = None
    description: Annotated[str, StringConstraints(max_length=1000), NoNul] = ""
    photos: list[Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]] = Field([], max_length=10)

    _aware_occurred = field_validator("occurred_at")(aware_utc)


class IncidentKind(StateRows):
    """Incidents of the taxonomy, at a station, a constituency or a point on the map."""

    name: ClassVar[str] = "incident"
    leaf_type: ClassVar[str] = "incident"
    schema: ClassVar[type[BaseModel]] = IncidentSubmission
    roles: ClassVar[frozenset[AuthRole]] = SUBMITTING

    def place(self, record: Any) -> Place:
        return Place(record.constituency, record.station) if record.constituency else Place()

    def draft(self, batch: Batch, job: Job, signer: Signer) -> Draft:
        rec: IncidentSubmission = job.record
        info = batch.election(rec.election)
        kind = category(rec.category)
        occurred = _where_and_when(rec, job.received_at, info.date)
        if kind.code == "other" and not rec.description.strip():
            raise InputError("an incident of category other needs a description; nothing was written",
                             where="description")  # fmt: skip
        screen_text(rec.description, where="description")
        ctx = resolve(batch, info.id, rec.constituency, rec.station) if rec.constituency else None
        body = signing_body(rec, occurred, submitter_key=signer.submitter_key,
                            organisation=job.principal.organisation,
                            captured_at=signer.captured_at)  # fmt: skip
        row = {
            "election_id": info.id, "constituency_id": ctx.constituency_id if ctx else None,
            "station_id": ctx.station_id if ctx else None, "category": kind.code,
            "severity": rec.severity.value,
            "occurred_at": occurred, "latitude": rec.latitude, "longitude": rec.longitude,
            "description": rec.description, "photos": body["photos"], "submitter_key": signer.submitter_key,
            "organisation": job.principal.organisation,
        }  # fmt: skip
        return Draft(info.id, body, state=row)

    def insert(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> list[int]:
        return observations.insert_incidents(conn, rows)

    def state_from_leaf(self, batch: Batch, record: LoggedRecord) -> dict[str, Any]:
        b = record.body
        ctx = logged_place(batch, record)
        return {
            "election_id": record.election_id, "constituency_id": ctx.constituency_id if ctx else None,
            "station_id": ctx.station_id if ctx else None, "category": b["category"],
            "severity": b["severity"], "occurred_at": leaf_time(b["occurred_at"]),
            "latitude": b.get("latitude"), "longitude": b.get("longitude"),
            "description": b.get("description") or "", "photos": b.get("photos") or [],
            "submitter_key": b["submitter_key"], "organisation": b["organisation"],
        }  # fmt: skip


def _where_and_when(rec: IncidentSubmission, received_at: dt.datetime, date: dt.date | None) -> dt.datetime:
    """Check the place fields hang together and the time is plausible; return when it happened."""
    problems = ProblemList()
    if (rec.latitude is None) != (rec.longitude is None):
        problems.add("coordinates need both latitude and longitude", where="latitude" if rec.latitude is None
                     else "longitude", expected="both, or neither")  # fmt: skip
    if rec.constituency is None and rec.latitude is None:
        problems.add("an incident needs a place", where="constituency",
                     expected="a constituency (and station) or latitude and longitude")  # fmt: skip
    if rec.station is not None and rec.constituency is None:
        problems.add(
            "a station needs its constituency", where="constituency", expected="the station's constituency"
        )
    occurred = rec.occurred_at or rec.captured_at
    if occurred is None:
        problems.add("when did it happen?", where="occurred_at", expected="a time with its zone")
    else:
        latest = received_at + dt.timedelta(days=1)
        earliest = dt.datetime.combine(date, dt.time(), dt.UTC) - BEFORE if date else None
        if occurred > latest or (earliest is not None and occurred < earliest):
            problems.add("not a plausible time for this election's incidents", where="occurred_at",
                         expected=f"between {earliest or 'the campaign'} and {latest}",
                         found=occurred.isoformat())  # fmt: skip
    problems.raise_if_any("the incident report is incomplete; nothing was written")
    assert occurred is not None
    return occurred


def signing_body(
    rec: IncidentSubmission, occurred: dt.datetime, *, submitter_key: str, organisation: str, captured_at: str
) -> dict[str, Any]:
    """What a device signs for an incident (the leaf body without ``received_at``, ``signature``,
    ``checks``); ``occurred`` is ``occurred_at``, else ``captured_at``."""
    return {
        "election": rec.election, "submission_id": rec.submission_id, "category": rec.category,
        "severity": rec.severity.value,
        "occurred_at": occurred.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        "constituency": rec.constituency, "station": rec.station, "latitude": rec.latitude,
        "longitude": rec.longitude, "description": rec.description, "photos": sorted(set(rec.photos)),
        "submitter_key": submitter_key, "role": rec.role.value, "organisation": organisation,
        "captured_at": captured_at,
    }  # fmt: skip
