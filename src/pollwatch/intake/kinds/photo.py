"""The ``photo`` kind: a submitter commits to a photo of evidence by its SHA-256, naming the leaves
(of their own earlier records) it shows. The bytes may follow later with ``PUT /api/v1/photos/{sha256}``
(the hash is now referenced), so a photo taken during a shutdown is committed to at once.

Its leaf is ``type: "photo"``: ``election``, ``photo_sha256``, ``sheets`` (the leaf indices it shows),
as in the leaf the server logs when an SMS's 16-hex prefix is resolved, plus the submission fields
(``submission_id``, ``submitter_key``, ``role``, ``organisation``, ``captured_at``, ``received_at``,
``signature``, ``checks``). It has no rows of its own: its ``submissions`` row names the photo hash.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

from pydantic import BaseModel, Field, StringConstraints
from sqlalchemy import Connection

from pollwatch.auth.roles import SUBMITTING, AuthRole
from pollwatch.errors import InputError
from pollwatch.intake.kinds.base import Batch, Draft, LoggedRecord, Place, RecordBase, RowIds, Signer
from pollwatch.ledger.records import LeafRecord
from pollwatch.storage import photos as photo_store
from pollwatch.storage import submissions

if TYPE_CHECKING:
    from pollwatch.intake.service import Job


class PhotoSubmission(RecordBase):
    """A photo of evidence by its full SHA-256 (JSON body of ``POST /api/v1/records/photo``)."""

    photo_sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
    sheets: list[Annotated[int, Field(strict=True, ge=0, le=2**53 - 1)]] = Field(
        min_length=1, max_length=100, description="Leaf indices of your earlier records the photo shows."
    )


class PhotoKind:
    """Photos of evidence, committed by hash and tied to the leaves they show."""

    name: ClassVar[str] = "photo"
    leaf_type: ClassVar[str] = "photo"
    schema: ClassVar[type[BaseModel]] = PhotoSubmission
    roles: ClassVar[frozenset[AuthRole]] = SUBMITTING

    def place(self, record: Any) -> Place:
        return Place()  # no place of its own: the leaves it names must be the submitter's (see draft)

    def prefetch(self, batch: Batch, records: Sequence[Any]) -> None:
        wanted = {index for r in records for index in r.sheets}
        batch.found[self.name] = submissions.list_leaf_owners(batch.conn, wanted)

    def draft(self, batch: Batch, job: Job, signer: Signer) -> Draft:
        rec: PhotoSubmission = job.record
        info = batch.election(rec.election)
        owners = batch.found.get(self.name, {})
        for n, index in enumerate(rec.sheets):
            owner = owners.get(index)
            if owner is None or (owner != job.principal.key_id and job.principal.role is not AuthRole.ADMIN):
                raise InputError(
                    "a photo names the leaves of your own earlier records",
                    where=f"sheets.{n}",
                    expected="the leaf_index of a record you submitted",
                    found=str(index),
                )
        body = {
            "election": rec.election, "submission_id": rec.submission_id, "photo_sha256": rec.photo_sha256,
            "sheets": sorted(set(rec.sheets)), "submitter_key": signer.submitter_key, "role": rec.role.value,
            "organisation": job.principal.organisation, "captured_at": signer.captured_at,
        }  # fmt: skip
        return Draft(info.id, body)

    def leaf(self, draft: Draft, *, received_at: str, signature: str | None) -> LeafRecord:
        return LeafRecord(self.leaf_type, {**draft.body, "received_at": received_at, "signature": signature,
                                           "checks": list(draft.checks)})  # fmt: skip

    def rows(self, conn: Connection, items: Sequence[tuple[Job, Draft]]) -> RowIds:
        return [(None, None)] * len(items)

    def rows_from_leaves(self, batch: Batch, records: Sequence[LoggedRecord]) -> RowIds:
        return [(None, None)] * len(records)


def log_stored_photos(conn: Connection, named: Sequence[tuple[str, str | None, int]]) -> None:
    """Log a ``photo`` leaf with the full hash for sheets that named an already stored photo by prefix.

    ``named`` holds (election slug, photo hash or prefix, leaf index) of records just logged. A photo
    uploaded before the SMS that names it is never uploaded again, so its full hash is logged now,
    as ``PUT /api/v1/photos/{sha256}`` would have done.
    """
    from pollwatch.ledger import service as ledger

    by_photo: dict[tuple[str, str], list[int]] = {}
    for election, photo, index in named:
        full = photo_store.find_photo_by_prefix(conn, photo) if photo and len(photo) == 16 else None
        if full is not None:
            by_photo.setdefault((election, full), []).append(index)
    leaves = [
        LeafRecord("photo", {"election": election, "photo_sha256": full, "sheets": indices})
        for (election, full), indices in sorted(by_photo.items())
    ]
    if leaves:
        ledger.append(conn, leaves)
