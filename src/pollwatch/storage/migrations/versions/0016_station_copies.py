"""station_copies: each station copy in a row of its own, written once; station rows name copies by leaf

A station row held every copy of its sheet (and each version's copy again), so every new copy encoded
and wrote all of them again: the projector's cost per leaf grew with the copies a station had. The
projections are rebuildable from the log, so this revision drops their rows and rewinds the results
cursor: the server's projector applies the log again when it starts (``pollwatch projections
rebuild`` does it in one pass).

Revision ID: 0016
Revises: 0015
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    _forget_projections()
    op.create_table(
        "station_copies",
        sa.Column("leaf_index", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("key", sa.String(96), nullable=False),
        sa.Column("constituency_id", sa.BigInteger(), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("leaf", sa.LargeBinary(), nullable=False),
    )
    op.create_index("ix_station_copies_key", "station_copies", ["key"])
    op.create_index(
        "ix_station_copies_constituency_id_leaf_index", "station_copies", ["constituency_id", "leaf_index"]
    )
    with op.batch_alter_table("station_results") as batch:
        batch.drop_column("copies")


def downgrade() -> None:
    _forget_projections()
    op.drop_table("station_copies")
    with op.batch_alter_table("station_results") as batch:
        batch.add_column(sa.Column("copies", sa.JSON(), nullable=False))


def _forget_projections() -> None:
    """Drop the projections' rows and rewind the results cursor: the projector applies the log again."""
    for table in ("station_results", "constituency_results", "audit_results", "other_results"):
        op.execute(f"DELETE FROM {table}")
    op.execute("UPDATE projection_cursors SET next_index = 0 WHERE name = 'results'")
