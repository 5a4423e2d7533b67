"""The ``official`` kind: a result the election authority published (Form-47/48/49, an official
Form-45 upload, a re-upload), submitted by an ``official`` or ``admin`` token with its source: the
URL it was downloaded from or the file it came in, and that file's SHA-256.

Its leaf is ``type: "official"`` (:func:`pollwatch.ledger.records.official_record`, the keys of a
sheet leaf plus ``label`` and ``source``); its rows are a ``sheets`` row like any sheet's, with the
role ``official`` (or ``import``) so that audits compare it with the station sheets.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator
from sqlalchemy import Connection

from pollwatch.auth.roles import AuthRole
from pollwatch.errors import ForbiddenError
from pollwatch.intake.checks import default_form
from pollwatch.intake.format import TOTAL_FIELDS, Count, TotalsIn, Visible, refuse_duplicate_positions
from pollwatch.intake.kinds.base import Batch, Draft, LoggedRecord, Place, RecordBase, RowIds, Signer
from pollwatch.intake.kinds.sheet import (
    insert_logged_sheets,
    insert_sheets,
    prefetch_places,
    resolve_place,
    result_sheet,
    run_checks,
)
from pollwatch.ledger import records
from pollwatch.ledger.records import LeafRecord
from pollwatch.model import Role, SheetKind

if TYPE_CHECKING:
    from pollwatch.intake.service import Job

Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class SourceIn(BaseModel):
    """Where an official figure was published: a URL or a file, and the SHA-256 of what was read."""

    model_config = ConfigDict(extra="forbid")

    url: Annotated[str, StringConstraints(pattern=r"^https?://\S+$", max_length=2000)] | None = None
    file: Annotated[str, StringConstraints(min_length=1, max_length=300), Visible] | None = None
    sha256: Sha256 = Field(description="SHA-256 (lowercase hex) of the downloaded page or file.")
    row: Annotated[int, Field(strict=True, ge=1)] | None = Field(
        None, description="1-based row of the file the figures are on, if a table."
    )

    @model_validator(mode="after")
    def _url_or_file(self) -> SourceIn:
        if (self.url is None) == (self.file is None):
            raise ValueError("give the source's url or its file (exactly one)")
        return self

    def as_leaf(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class OfficialSubmission(RecordBase):
    """One official result sheet as published (JSON body of ``POST /api/v1/records/official``)."""

    kind: SheetKind = SheetKind.FINAL
    form: Annotated[str, StringConstraints(min_length=1, max_length=32), Visible] | None = Field(
        None, description="The country's name for the sheet; default from the election's rule pack."
    )
    label: Annotated[str, StringConstraints(max_length=100), Visible] = Field(
        "", description="Snapshot or version, e.g. 'upload 2024-02-10 14:00' (a re-upload gets a new one)."
    )
    constituency: Annotated[str, StringConstraints(min_length=1, max_length=32), Visible]
    station: Annotated[str, StringConstraints(pattern=r"^[0-9]{1,6}$")] | None = None
    votes: Annotated[
        dict[Annotated[str, StringConstraints(pattern=r"^[0-9]{1,3}$")], Count],
        AfterValidator(refuse_duplicate_positions),
    ] = Field(min_length=1)
    totals: TotalsIn = TotalsIn()
    source: SourceIn
    role: Role = Role.OFFICIAL


class OfficialKind:
    """Official results, uploaded over HTTP (``pollwatch import`` logs its own as the same leaf)."""

    name: ClassVar[str] = "official"
    leaf_type: ClassVar[str] = "official"
    schema: ClassVar[type[BaseModel]] = OfficialSubmission
    roles: ClassVar[frozenset[AuthRole]] = frozenset({AuthRole.ADMIN, AuthRole.OFFICIAL})

    def place(self, record: Any) -> Place:
        return Place(record.constituency, None if record.station is None else int(record.station))

    def prefetch(self, batch: Batch, records: Sequence[Any]) -> None:
        prefetch_places(batch, records)

    def draft(self, batch: Batch, job: Job, signer: Signer) -> Draft:
        rec: OfficialSubmission = job.record
        if rec.role not in (Role.OFFICIAL, Role.IMPORT):
            raise ForbiddenError(
                "an official result is submitted as official or import",
                where="role",
                expected="official or import",
                found=rec.role.value,
            )
        info = batch.election(rec.election)
        ctx = resolve_place(batch, info.id, rec)
        form = rec.form or default_form(info.rule_pack, rec.kind)
        body = {
            "election": rec.election, "submission_id": rec.submission_id, "kind": rec.kind.value,
            "form": form, "label": rec.label, "constituency": rec.constituency,
            "station": None if rec.station is None else str(int(rec.station)),
            "votes": {str(int(k)): v for k, v in rec.votes.items()},
            "totals": {name: getattr(rec.totals, name) for name in TOTAL_FIELDS},
            "submitter_key": signer.submitter_key, "role": rec.role.value,
            "organisation": job.principal.organisation, "source": rec.source.as_leaf(),
            "captured_at": signer.captured_at, "photo_sha256": rec.photo_sha256,
        }  # fmt: skip
        checks, details = run_checks(batch, ctx, body)
        sheet = result_sheet(job, ctx, form=form, submitter_key=signer.submitter_key, label=rec.label)
        extra: dict[str, Any] = {
            "submission_id": rec.submission_id,
            "checks": list(checks),
            "source": rec.source.as_leaf(),
        }
        if details:
            extra["check_details"] = details
        return Draft(info.id, body, checks, state=(ctx, type(sheet)(**{**vars(sheet), "extra": extra})))

    def leaf(self, draft: Draft, *, received_at: str, signature: str | None) -> LeafRecord:
        return records.official_record(**draft.body, received_at=received_at, signature=signature,
                                       checks=draft.checks)  # fmt: skip

    def rows(self, conn: Connection, items: Sequence[tuple[Job, Draft]]) -> RowIds:
        return insert_sheets(conn, items)

    def rows_from_leaves(self, batch: Batch, records: Sequence[LoggedRecord]) -> RowIds:
        return insert_logged_sheets(batch, records, self.leaf_type)
