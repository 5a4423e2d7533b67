"""The ``shutdown`` kind: an internet or phone shutdown, in the style of Access Now's STOP records
(OBSERVATION.md [S19]): when, where, which networks, full or throttled, who ordered it, the stated and
the apparent cause, and the sources. Shutdowns are why intake falls back to SMS; they share the timeline
with incidents and cases.

Its leaf is ``type: "shutdown"``: ``election``, ``submission_id``, ``started_at``, ``ended_at``,
``scope``, ``places``, ``networks``, ``shutdown_type``, ``platforms``, ``telcos``, ``ordered_by``,
``stated_cause``,
``apparent_cause``, ``election_related``, ``legal_basis``, ``sources``, ``submitter_key``, ``role``,
``organisation``, ``captured_at`` plus ``received_at``, ``signature``, ``checks``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, Field, StringConstraints, field_validator
from sqlalchemy import Connection

from pollwatch.auth.roles import AuthRole
from pollwatch.errors import ProblemList
from pollwatch.intake.format import NoNul, aware_utc
from pollwatch.intake.kinds.base import Batch, Draft, LoggedRecord, RecordBase, Signer, leaf_time
from pollwatch.intake.kinds.case import BEFORE, CASE_ROLES
from pollwatch.intake.kinds.observation import ShortText, SourceIn, StateRows, public_record, source_docs
from pollwatch.observe.text import screen_text
from pollwatch.storage import observations

if TYPE_CHECKING:
    from pollwatch.intake.service import Job

Network = Literal["mobile_data", "mobile_voice", "sms", "broadband", "platforms"]
Cause = Annotated[str, StringConstraints(max_length=300), NoNul]


class ShutdownSubmission(RecordBase):
    """A shutdown (JSON body of ``POST /api/v1/records/shutdown``)."""

    started_at: dt.datetime
    ended_at: dt.datetime | None = None
    scope: Literal["national", "province", "district", "constituency", "city"]
    places: list[ShortText] = Field([], max_length=50, description="Names or codes; empty when national.")
    networks: list[Network] = Field(min_length=1, max_length=5)
    shutdown_type: Literal["full", "throttling", "service_based"]
    platforms: list[ShortText] = Field([], max_length=20)
    telcos: list[ShortText] = Field([], max_length=20)
    ordered_by: ShortText | None = None
    stated_cause: Cause | None = None
    apparent_cause: Cause | None = None
    election_related: bool = True
    legal_basis: ShortText | None = None
    sources: list[SourceIn] = Field(min_length=1, max_length=20)

    _aware = field_validator("started_at", "ended_at")(aware_utc)


class ShutdownKind(StateRows):
    """Internet and phone shutdowns."""

    name: ClassVar[str] = "shutdown"
    leaf_type: ClassVar[str] = "shutdown"
    schema: ClassVar[type[BaseModel]] = ShutdownSubmission
    roles: ClassVar[frozenset[AuthRole]] = CASE_ROLES

    def draft(self, batch: Batch, job: Job, signer: Signer) -> Draft:
        rec: ShutdownSubmission = job.record
        info = batch.election(rec.election)
        _check(rec, job.received_at, info.date)
        body = {
            "election": rec.election, "submission_id": rec.submission_id, "started_at": _iso(rec.started_at),
            "ended_at": _iso(rec.ended_at) if rec.ended_at else None, "scope": rec.scope,
            "places": rec.places,
            "networks": sorted(set(rec.networks)), "shutdown_type": rec.shutdown_type,
            "platforms": rec.platforms,
            "telcos": rec.telcos, "ordered_by": rec.ordered_by, "stated_cause": rec.stated_cause,
            "apparent_cause": rec.apparent_cause, "election_related": rec.election_related,
            "legal_basis": rec.legal_basis, "sources": source_docs(rec.sources, "sources"),
            "submitter_key": signer.submitter_key, "role": rec.role.value,
            "organisation": job.principal.organisation, "captured_at": signer.captured_at,
        }  # fmt: skip
        row = {"election_id": info.id, "started_at": rec.started_at, "ended_at": rec.ended_at,
               "record": {k: v for k, v in body.items() if k != "captured_at"},
               "submitter_key": signer.submitter_key}  # fmt: skip
        return Draft(info.id, body, state=row)

    def insert(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> list[int]:
        return observations.insert_shutdowns(conn, rows)

    def state_from_leaf(self, batch: Batch, record: LoggedRecord) -> dict[str, Any]:
        b = record.body
        return {
            "election_id": record.election_id, "started_at": leaf_time(b["started_at"]),
            "ended_at": leaf_time(b.get("ended_at")), "record": public_record(b),
            "submitter_key": b["submitter_key"],
        }  # fmt: skip


def _iso(when: dt.datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


def _check(rec: ShutdownSubmission, received_at: dt.datetime, date: dt.date | None) -> None:
    problems = ProblemList()
    if rec.ended_at is not None and rec.ended_at < rec.started_at:
        problems.add("a shutdown ends after it starts", where="ended_at", found=rec.ended_at.isoformat())
    if (rec.scope == "national") == bool(rec.places):
        problems.add("places name where a shutdown was, unless it was national", where="places",
                     expected="none" if rec.scope == "national" else "at least one place")  # fmt: skip
    earliest = dt.datetime.combine(date, dt.time(), dt.UTC) - BEFORE if date else None
    if rec.started_at > received_at + dt.timedelta(days=1) or (earliest and rec.started_at < earliest):
        problems.add("not a plausible start for this election's shutdowns", where="started_at",
                     found=rec.started_at.isoformat())  # fmt: skip
    problems.raise_if_any("the shutdown record does not hang together; nothing was written")
    for field in ("stated_cause", "apparent_cause"):
        screen_text(getattr(rec, field) or "", where=field)
