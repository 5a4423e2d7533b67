"""observe: checklists and incidents

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "checklists",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("election_id", sa.BigInteger(), nullable=False),
        sa.Column("constituency_id", sa.BigInteger(), nullable=False),
        sa.Column("station_id", sa.BigInteger(), nullable=True),
        sa.Column("form", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("phase", sa.String(length=32), nullable=False),
        sa.Column("submitter_key", sa.String(length=96), nullable=False),
        sa.Column("organisation", sa.Text(), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("qc_failures", sa.JSON(), nullable=False),
        sa.Column("quarantined", sa.Boolean(), nullable=False),
        sa.Column("captured_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checklists")),
    )
    op.create_index(
        op.f("ix_checklists_election_id_form_constituency_id"),
        "checklists",
        ["election_id", "form", "constituency_id"],
    )
    op.create_index(op.f("ix_checklists_station_id"), "checklists", ["station_id"])
    op.create_table(
        "incidents",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("election_id", sa.BigInteger(), nullable=False),
        sa.Column("constituency_id", sa.BigInteger(), nullable=True),
        sa.Column("station_id", sa.BigInteger(), nullable=True),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("photos", sa.JSON(), nullable=False),
        sa.Column("submitter_key", sa.String(length=96), nullable=False),
        sa.Column("organisation", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
    )
    op.create_index(op.f("ix_incidents_election_id_category"), "incidents", ["election_id", "category"])
    op.create_index(op.f("ix_incidents_election_id_occurred_at"), "incidents", ["election_id", "occurred_at"])


def downgrade() -> None:
    op.drop_table("incidents")
    op.drop_table("checklists")
