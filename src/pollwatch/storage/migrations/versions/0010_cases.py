"""cases: incident statuses, cases of repression (private identities apart), status history, shutdowns

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _table(name: str, *columns: sa.Column[object]) -> None:
    op.create_table(
        name,
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        *columns,
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
    )


def upgrade() -> None:
    _table(
        "incident_statuses",
        sa.Column("incident_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("submitter_key", sa.String(length=96), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(op.f("ix_incident_statuses_incident_id"), "incident_statuses", ["incident_id"])
    _table(
        "cases",
        sa.Column("election_id", sa.BigInteger(), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("constituency_id", sa.BigInteger(), nullable=True),
        sa.Column("record", sa.JSON(), nullable=False),
        sa.Column("submitter_key", sa.String(length=96), nullable=False),
        sa.Column("organisation", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(op.f("ix_cases_election_id_started_on"), "cases", ["election_id", "started_on"])
    _table(
        "case_people_private",
        sa.Column("case_id", sa.BigInteger(), nullable=False),
        sa.Column("ref", sa.String(length=8), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
    )
    op.create_index(op.f("ix_case_people_private_case_id"), "case_people_private", ["case_id"])
    _table(
        "case_updates",
        sa.Column("case_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("on", sa.Date(), nullable=False),
        sa.Column("record", sa.JSON(), nullable=False),
        sa.Column("submitter_key", sa.String(length=96), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(op.f("ix_case_updates_case_id"), "case_updates", ["case_id"])
    _table(
        "shutdowns",
        sa.Column("election_id", sa.BigInteger(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("record", sa.JSON(), nullable=False),
        sa.Column("submitter_key", sa.String(length=96), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(op.f("ix_shutdowns_election_id_started_at"), "shutdowns", ["election_id", "started_at"])


def downgrade() -> None:
    for name in ("shutdowns", "case_updates", "case_people_private", "cases", "incident_statuses"):
        op.drop_table(name)
