"""deployments: observers at stations and shifts, with the PVT-sample flag, accreditation and supervisor

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "deployments",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("election_id", sa.BigInteger(), nullable=False),
        sa.Column("submitter_id", sa.BigInteger(), nullable=False),
        sa.Column("constituency_id", sa.BigInteger(), nullable=False),
        sa.Column("station_id", sa.BigInteger(), nullable=True),
        sa.Column("shift", sa.String(length=16), nullable=False),
        sa.Column("pvt_sample", sa.Boolean(), nullable=False),
        sa.Column("accreditation", sa.String(length=64), nullable=False),
        sa.Column("supervisor", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deployments")),
    )
    op.create_index(
        op.f("ix_deployments_election_id_submitter_id"), "deployments", ["election_id", "submitter_id"]
    )
    op.create_index(op.f("ix_deployments_station_id"), "deployments", ["station_id"])


def downgrade() -> None:
    op.drop_table("deployments")
