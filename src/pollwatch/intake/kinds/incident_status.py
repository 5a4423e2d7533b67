"""The ``incident_status`` kind: a coordinator's verdict on an incident (``verified``, ``disputed``, or
``reported`` again to withdraw a verdict), a new leaf naming the incident's leaf: an incident's status
changes only by leaves. Without a verdict an incident is ``corroborated`` when reports of its category at
its place from at least two organisations fall within three hours of each other, else ``reported``
(:func:`pollwatch.observe.views.incident_status`).

Its leaf is ``type: "incident_status"``: ``election``, ``submission_id``, ``incident`` (leaf index),
``status``, ``reason``, ``submitter_key``, ``role``, ``organisation``, ``captured_at`` plus
``received_at``, ``signature``, ``checks``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, Field, StringConstraints
from sqlalchemy import Connection

from pollwatch.auth.roles import AuthRole
from pollwatch.errors import InputError
from pollwatch.intake.format import NoNul
from pollwatch.intake.kinds.base import Batch, Draft, LoggedRecord, RecordBase, Signer
from pollwatch.intake.kinds.observation import StateRows, logged_record_id
from pollwatch.observe.text import screen_text
from pollwatch.storage import observations

if TYPE_CHECKING:
    from pollwatch.intake.service import Job


class IncidentStatusSubmission(RecordBase):
    """A verdict on an incident (JSON body of ``POST /api/v1/records/incident_status``)."""

    incident: Annotated[int, Field(strict=True, ge=0, le=2**53 - 1)] = Field(
        description="The incident's leaf."
    )
    status: Literal["verified", "disputed", "reported"]
    reason: Annotated[str, StringConstraints(max_length=1000), NoNul] = ""


class IncidentStatusKind(StateRows):
    """Coordinators' verdicts on incidents."""

    name: ClassVar[str] = "incident_status"
    leaf_type: ClassVar[str] = "incident_status"
    schema: ClassVar[type[BaseModel]] = IncidentStatusSubmission
    roles: ClassVar[frozenset[AuthRole]] = frozenset({AuthRole.ADMIN, AuthRole.COORDINATOR})

    def prefetch(self, batch: Batch, records: Sequence[Any]) -> None:
        batch.found[self.name] = observations.records_of_leaves(
            batch.conn, "incident", {r.incident for r in records}
        )

    def draft(self, batch: Batch, job: Job, signer: Signer) -> Draft:
        rec: IncidentStatusSubmission = job.record
        info = batch.election(rec.election)
        found = batch.found.get(self.name, {}).get(rec.incident)
        if found is None or found[1] != info.id:
            raise InputError("no incident of this election has that leaf index; nothing was written",
                             where="incident", expected="the leaf_index of an incident",
                             found=str(rec.incident))  # fmt: skip
        screen_text(rec.reason, where="reason")
        body = {
            "election": rec.election, "submission_id": rec.submission_id, "incident": rec.incident,
            "status": rec.status, "reason": rec.reason, "submitter_key": signer.submitter_key,
            "role": rec.role.value, "organisation": job.principal.organisation,
            "captured_at": signer.captured_at,
        }  # fmt: skip
        return Draft(info.id, body, state={"incident_id": found[0], "status": rec.status,
                                           "submitter_key": signer.submitter_key})  # fmt: skip

    def insert(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> list[int]:
        return observations.insert_incident_statuses(conn, rows)

    def state_from_leaf(self, batch: Batch, record: LoggedRecord) -> dict[str, Any]:
        return {
            "incident_id": logged_record_id(batch, "incident", record, "incident"),
            "status": record.body["status"],
            "submitter_key": record.body["submitter_key"],
        }
