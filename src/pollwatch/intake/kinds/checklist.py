"""The ``checklist`` kind: an observer's answers to one observation form at one station (or, for the
returning officer's tabulation, one constituency).

The form must be the current version of one of the election's country's forms
(:mod:`pollwatch.observe.forms`); answers are checked against it and against its QC rules. A checklist
that breaks a QC rule is stored and logged, quarantined, with the rules it broke in its leaf's
``checks`` (``qc:<rule>``).

Its leaf is ``type: "checklist"``: ``election``, ``submission_id``, ``form``, ``version``, ``phase``,
``constituency``, ``station`` (serial or null), ``answers`` (by tag, in the form's order; multi-select
answers in the options' order), ``submitter_key``, ``role``, ``organisation``, ``captured_at`` (what a
device signs) plus ``received_at``, ``signature`` and ``checks``. Its row is in ``checklists``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

from pydantic import BaseModel, Field, StrictBool, StrictInt, StrictStr, StringConstraints
from sqlalchemy import Connection

from pollwatch.auth.roles import AuthRole
from pollwatch.errors import InputError
from pollwatch.intake.format import Visible
from pollwatch.intake.kinds.base import Batch, Draft, LoggedRecord, Place, RecordBase, Signer
from pollwatch.intake.kinds.observation import StateRows, logged_place, resolve
from pollwatch.observe import qc
from pollwatch.observe.forms import Level, check_answers, current_form
from pollwatch.storage import observations

if TYPE_CHECKING:
    from pollwatch.intake.service import Job

Answer = StrictBool | StrictInt | StrictStr | list[StrictStr]


class ChecklistSubmission(RecordBase):
    """An observation checklist (JSON body of ``POST /api/v1/records/checklist``)."""

    form: Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z0-9\-]+$")] = Field(
        description="The form's id, e.g. pk-count (GET /api/v1/forms lists them)."
    )
    version: Annotated[int, Field(strict=True, ge=0, le=10_000)] = Field(
        description="The form version the device filled in; only the current one is accepted."
    )
    constituency: Annotated[str, StringConstraints(min_length=1, max_length=32), Visible]
    station: Annotated[int, Field(strict=True, ge=1, le=1_000_000)] | None = Field(
        None, description="Station serial in the polling scheme; null for a constituency-level form."
    )
    answers: dict[Annotated[str, StringConstraints(min_length=1, max_length=8)], Answer] = Field(
        max_length=200, description="Answers by question tag."
    )


class ChecklistKind(StateRows):
    """Observation checklists, one form version at a time, quarantined when a QC rule fails."""

    name: ClassVar[str] = "checklist"
    leaf_type: ClassVar[str] = "checklist"
    schema: ClassVar[type[BaseModel]] = ChecklistSubmission
    roles: ClassVar[frozenset[AuthRole]] = frozenset(
        {AuthRole.ADMIN, AuthRole.COORDINATOR, AuthRole.OBSERVER}
    )

    def place(self, record: Any) -> Place:
        return Place(record.constituency, record.station)

    def draft(self, batch: Batch, job: Job, signer: Signer) -> Draft:
        rec: ChecklistSubmission = job.record
        info = batch.election(rec.election)
        spec = current_form(info.country, rec.form, rec.version)
        at_station = spec.level is Level.STATION
        if at_station != (rec.station is not None):
            raise InputError(
                f"form {spec.form} is filled in at {'a station' if at_station else 'a constituency'}; "
                "nothing was written",
                where="station", expected="a station serial" if at_station else "null",
                found=str(rec.station),
            )  # fmt: skip
        ctx = resolve(batch, info.id, rec.constituency, rec.station)
        answers = check_answers(spec, rec.answers)
        failed = qc.failures([r.rule for r in spec.qc], answers)
        body = signing_body(rec, answers, phase=spec.phase, submitter_key=signer.submitter_key,
                            organisation=job.principal.organisation,
                            captured_at=signer.captured_at)  # fmt: skip
        row = {
            "election_id": info.id, "constituency_id": ctx.constituency_id, "station_id": ctx.station_id,
            "form": spec.form, "version": spec.version, "phase": spec.phase,
            "submitter_key": signer.submitter_key, "organisation": job.principal.organisation,
            "answers": answers, "qc_failures": failed, "quarantined": bool(failed),
            "captured_at": rec.captured_at,
        }  # fmt: skip
        return Draft(info.id, body, tuple(f"qc:{name}" for name in failed), state=row)

    def insert(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> list[int]:
        return observations.insert_checklists(conn, rows)

    def state_from_leaf(self, batch: Batch, record: LoggedRecord) -> dict[str, Any]:
        b = record.body
        ctx = logged_place(batch, record)
        failed = [c.removeprefix("qc:") for c in b.get("checks") or [] if c.startswith("qc:")]
        return {
            "election_id": record.election_id, "constituency_id": ctx.constituency_id if ctx else None,
            "station_id": ctx.station_id if ctx else None, "form": b["form"], "version": b["version"],
            "phase": b["phase"], "submitter_key": b["submitter_key"], "organisation": b["organisation"],
            "answers": b["answers"], "qc_failures": failed, "quarantined": bool(failed),
            "captured_at": record.captured_at,
        }  # fmt: skip


def signing_body(
    rec: ChecklistSubmission,
    answers: dict[str, Any],
    *,
    phase: str,
    submitter_key: str,
    organisation: str,
    captured_at: str,
) -> dict[str, Any]:
    """What a device signs for a checklist (the leaf body without ``received_at``, ``signature``,
    ``checks``), with the answers as checked (:func:`pollwatch.observe.forms.check_answers`)."""
    return {
        "election": rec.election, "submission_id": rec.submission_id, "form": rec.form,
        "version": rec.version,
        "phase": phase, "constituency": rec.constituency, "station": rec.station, "answers": answers,
        "submitter_key": submitter_key, "role": rec.role.value, "organisation": organisation,
        "captured_at": captured_at,
    }  # fmt: skip
