"""results projections: cursors, per-station reconciliation, per-constituency sums

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "projection_cursors",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("next_index", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_projection_cursors")),
    )
    op.create_table(
        "station_results",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=96), nullable=False),
        sa.Column("election_id", sa.BigInteger(), nullable=False),
        sa.Column("constituency_id", sa.BigInteger(), nullable=False),
        sa.Column("station_id", sa.BigInteger(), nullable=True),
        sa.Column("serial", sa.BigInteger(), nullable=True),
        sa.Column("number", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("registered", sa.BigInteger(), nullable=True),
        sa.Column("votes", sa.JSON(), nullable=False),
        sa.Column("valid", sa.BigInteger(), nullable=True),
        sa.Column("rejected", sa.BigInteger(), nullable=True),
        sa.Column("polled", sa.BigInteger(), nullable=True),
        sa.Column("copies", sa.JSON(), nullable=False),
        sa.Column("updated_index", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_station_results")),
        sa.UniqueConstraint("key", name=op.f("uq_station_results_key")),
    )
    op.create_index(
        op.f("ix_station_results_constituency_id_serial"), "station_results", ["constituency_id", "serial"]
    )
    # Pages of stations come in id order: per constituency, per election, per state (keyset pagination
    # must not scan the nation's rows for one constituency's page).
    op.create_index(
        op.f("ix_station_results_constituency_id_id"), "station_results", ["constituency_id", "id"]
    )
    op.create_index(
        op.f("ix_station_results_election_id_state_id"), "station_results", ["election_id", "state", "id"]
    )
    op.create_index(op.f("ix_station_results_election_id_id"), "station_results", ["election_id", "id"])
    op.create_table(
        "other_results",
        sa.Column("leaf_index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("election_id", sa.BigInteger(), nullable=False),
        sa.Column("constituency_id", sa.BigInteger(), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("leaf_index", name=op.f("pk_other_results")),
    )
    op.create_index(op.f("ix_other_results_constituency_id"), "other_results", ["constituency_id"])
    op.create_index(op.f("ix_other_results_election_id"), "other_results", ["election_id"])
    op.create_table(
        "constituency_results",
        sa.Column("constituency_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("election_id", sa.BigInteger(), nullable=False),
        sa.Column("votes", sa.JSON(), nullable=False),
        sa.Column("stations_reported", sa.BigInteger(), nullable=False),
        sa.Column("registered_reported", sa.BigInteger(), nullable=False),
        sa.Column("unknown_reported", sa.BigInteger(), nullable=False),
        sa.Column("sheet_only_stations", sa.BigInteger(), nullable=False),
        sa.Column("sheet_only_registered", sa.BigInteger(), nullable=False),
        sa.Column("conflicts", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("updated_index", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("constituency_id", name=op.f("pk_constituency_results")),
    )
    op.create_index(op.f("ix_constituency_results_election_id"), "constituency_results", ["election_id"])
    op.create_table(
        "audit_results",
        sa.Column("constituency_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("election_id", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("constituency_id", name=op.f("pk_audit_results")),
    )
    op.create_index(op.f("ix_audit_results_election_id"), "audit_results", ["election_id"])


def downgrade() -> None:
    op.drop_table("audit_results")
    op.drop_table("constituency_results")
    op.drop_table("other_results")
    op.drop_table("station_results")
    op.drop_table("projection_cursors")
