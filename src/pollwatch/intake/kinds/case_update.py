"""The ``case_update`` kind: one step of a case's status history (arrested, remanded, bailed, released,
convicted, acquitted, ...), with its sources; the history is append-only, each step a leaf naming the
case's leaf. A coordinator may also publish a person's name here, recording why (consent, public figure).

Its leaf is ``type: "case_update"``: ``election``, ``submission_id``, ``case`` (the case leaf's index),
``status``, ``on``, ``people`` (references it concerns), ``note``, ``sources``, ``publish``,
``submitter_key``, ``role``, ``organisation``, ``captured_at`` plus ``received_at``, ``signature``,
``checks``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import Connection

from pollwatch.auth.roles import AuthRole
from pollwatch.errors import ForbiddenError, InputError, ProblemList
from pollwatch.intake.format import NoNul, Visible
from pollwatch.intake.kinds.base import Batch, Draft, LoggedRecord, RecordBase, Signer
from pollwatch.intake.kinds.case import BEFORE, CASE_ROLES
from pollwatch.intake.kinds.observation import (
    Ref,
    SourceIn,
    StateRows,
    logged_record_id,
    plausible_day,
    public_record,
    source_docs,
)
from pollwatch.observe.cases import Publication, Status
from pollwatch.observe.text import screen_text
from pollwatch.storage import observations

if TYPE_CHECKING:
    from pollwatch.intake.service import Job


class PublishIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ref: Ref
    publication: Publication
    published_name: Annotated[str, StringConstraints(min_length=1, max_length=100), Visible]


class CaseUpdateSubmission(RecordBase):
    """A step of a case's history (JSON body of ``POST /api/v1/records/case_update``)."""

    case: Annotated[int, Field(strict=True, ge=0, le=2**53 - 1)] = Field(description="The case's leaf index.")
    status: Status
    on: dt.date
    people: list[Ref] = Field([], max_length=50, description="Whom it concerns (default: every victim).")
    note: Annotated[str, StringConstraints(max_length=1000), NoNul] = ""
    sources: list[SourceIn] = Field(min_length=1, max_length=20)
    publish: list[PublishIn] = Field([], max_length=50)


class CaseUpdateKind(StateRows):
    """The status history of cases, one leaf per step."""

    name: ClassVar[str] = "case_update"
    leaf_type: ClassVar[str] = "case_update"
    schema: ClassVar[type[BaseModel]] = CaseUpdateSubmission
    roles: ClassVar[frozenset[AuthRole]] = CASE_ROLES

    def prefetch(self, batch: Batch, records: Sequence[Any]) -> None:
        batch.found[self.name] = observations.cases_by_leaf(batch.conn, {r.case for r in records})

    def draft(self, batch: Batch, job: Job, signer: Signer) -> Draft:
        rec: CaseUpdateSubmission = job.record
        info = batch.election(rec.election)
        found = batch.found.get(self.name, {}).get(rec.case)
        if found is None or found[1] != info.id:
            raise InputError("no case of this election has that leaf index; nothing was written",
                             where="case", expected="the leaf_index of a case record",
                             found=str(rec.case))  # fmt: skip
        case_id, _, record = found
        if rec.publish and job.principal.role not in (AuthRole.ADMIN, AuthRole.COORDINATOR):
            raise ForbiddenError("only a coordinator may publish a person's name", where="publish")
        plausible_day(rec.on, where="on", election=info.date, received_at=job.received_at, before=BEFORE)
        refs = {p["ref"] for p in record["people"]}
        problems = ProblemList()
        for n, ref in enumerate([*rec.people, *(p.ref for p in rec.publish)]):
            if ref not in refs:
                problems.add("unknown person reference for this case", where="people" if n < len(rec.people)
                             else "publish", expected=", ".join(sorted(refs)), found=ref)  # fmt: skip
        problems.raise_if_any("the update names people the case does not have; nothing was written")
        screen_text(rec.note, where="note")
        body = {
            "election": rec.election, "submission_id": rec.submission_id, "case": rec.case,
            "status": rec.status.value, "on": rec.on.isoformat(), "people": rec.people, "note": rec.note,
            "sources": source_docs(rec.sources, "sources"),
            "publish": [p.model_dump(mode="json") for p in rec.publish],
            "submitter_key": signer.submitter_key,
            "role": rec.role.value, "organisation": job.principal.organisation,
            "captured_at": signer.captured_at,
        }  # fmt: skip
        row = {"case_id": case_id, "status": rec.status.value, "on": rec.on,
               "record": {k: v for k, v in body.items() if k != "captured_at"},
               "submitter_key": signer.submitter_key}  # fmt: skip
        return Draft(info.id, body, state=row)

    def insert(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> list[int]:
        return observations.insert_case_updates(conn, rows)

    def state_from_leaf(self, batch: Batch, record: LoggedRecord) -> dict[str, Any]:
        b = record.body
        return {
            "case_id": logged_record_id(batch, "case", record, "case"), "status": b["status"],
            "on": dt.date.fromisoformat(b["on"]), "record": public_record(b),
            "submitter_key": b["submitter_key"],
        }  # fmt: skip
