"""A toy record kind that exists only in the test suite: what a new kind has to write, and nothing more.

A "tally note": a short remark about one constituency. One module: its schema, its validation against
the store (the constituency must exist), its leaf and its rows (in a table of its own). A note whose
text is ``POISON`` makes its own insert fail (a NOT NULL column left empty), to show that a record
that breaks the batch's transaction is refused alone.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

import pytest
import sqlalchemy as sa
from pydantic import BaseModel, StringConstraints
from sqlalchemy import Connection

from pollwatch.auth.roles import SUBMITTING, AuthRole
from pollwatch.errors import InputError
from pollwatch.intake import kinds
from pollwatch.intake.kinds.base import Batch, Draft, LoggedRecord, Place, RecordBase, RowIds, Signer
from pollwatch.ledger.records import LeafRecord
from pollwatch.storage import Database, places

if TYPE_CHECKING:
    from pollwatch.intake.service import Job

POISON = "POISON"
_metadata = sa.MetaData()
toy_notes = sa.Table(
    "toy_notes",
    _metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("election_id", sa.Integer, nullable=False),
    sa.Column("constituency_id", sa.Integer, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
)


class ToyNote(RecordBase):
    """The toy kind's input: where, what, and free-form tags (which the privacy walk must police)."""

    constituency: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    text: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    tags: dict[str, str] = {}


class ToyKind:
    name: ClassVar[str] = "toy"
    leaf_type: ClassVar[str] = "toy"
    schema: ClassVar[type[BaseModel]] = ToyNote
    roles: ClassVar[frozenset[AuthRole]] = SUBMITTING

    def place(self, record: Any) -> Place:
        return Place(record.constituency)

    def prefetch(self, batch: Batch, records: Sequence[Any]) -> None:
        return None

    def draft(self, batch: Batch, job: Job, signer: Signer) -> Draft:
        rec: ToyNote = job.record
        election_id = batch.election(rec.election).id
        found = places.list_constituency_contexts(batch.conn, election_id, {rec.constituency})
        if rec.constituency not in found:
            raise InputError("unknown constituency; nothing was written", where="constituency",
                             found=rec.constituency)  # fmt: skip
        body = {
            "election": rec.election, "submission_id": rec.submission_id, "constituency": rec.constituency,
            "text": rec.text, "tags": rec.tags, "submitter_key": signer.submitter_key,
            "role": rec.role.value, "captured_at": signer.captured_at,
        }  # fmt: skip
        return Draft(election_id, body, state=found[rec.constituency].id)

    def leaf(self, draft: Draft, *, received_at: str, signature: str | None) -> LeafRecord:
        body = {**draft.body, "received_at": received_at, "signature": signature, "checks": []}
        return LeafRecord(self.leaf_type, body)

    def rows(self, conn: Connection, items: Sequence[tuple[Job, Draft]]) -> RowIds:
        values = [
            {"election_id": d.election_id, "constituency_id": d.state,
             "text": None if d.body["text"] == POISON else d.body["text"]}
            for _, d in items
        ]  # fmt: skip
        first = int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(toy_notes.c.id), 0))).scalar_one())
        conn.execute(toy_notes.insert(), values)
        return [(first + n + 1, None) for n in range(len(items))]

    def rows_from_leaves(self, batch: Batch, records: Sequence[LoggedRecord]) -> RowIds:
        """The same rows from leaves already in the log (``pollwatch log restore``)."""
        found = places.list_constituency_contexts(
            batch.conn, records[0].election_id, {str(r.body["constituency"]) for r in records}
        )
        values = [
            {"election_id": r.election_id, "constituency_id": found[str(r.body["constituency"])].id,
             "text": r.body["text"]}
            for r in records
        ]  # fmt: skip
        first = int(
            batch.conn.execute(sa.select(sa.func.coalesce(sa.func.max(toy_notes.c.id), 0))).scalar_one()
        )
        batch.conn.execute(toy_notes.insert(), values)
        return [(first + n + 1, None) for n in range(len(records))]


@pytest.fixture
def toy_kind() -> Iterator[ToyKind]:
    """The toy kind, registered for one test only."""
    kind = ToyKind()
    kinds.register(kind)
    try:
        yield kind
    finally:
        kinds.unregister(kind.name)


def create_toy_table(db: Database) -> None:
    with db.begin() as conn:
        _metadata.create_all(conn)


def list_toy_notes(db: Database) -> list[str]:
    with db.connect() as conn:
        return [str(t) for t in conn.execute(sa.select(toy_notes.c.text).order_by(toy_notes.c.id)).scalars()]
