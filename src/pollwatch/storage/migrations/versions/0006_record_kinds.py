"""submissions of every record kind: a kind column, the kind's own row id, sheet_id only for sheets

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("submissions") as batch:
        batch.add_column(sa.Column("kind", sa.String(length=24), server_default="sheet", nullable=False))
        batch.add_column(sa.Column("record_id", sa.BigInteger(), nullable=True))
        batch.alter_column("sheet_id", existing_type=_ID, nullable=True)
    op.execute("UPDATE submissions SET record_id = sheet_id")


def downgrade() -> None:
    op.execute("DELETE FROM submissions WHERE sheet_id IS NULL")
    with op.batch_alter_table("submissions") as batch:
        batch.alter_column("sheet_id", existing_type=_ID, nullable=False)
        batch.drop_column("record_id")
        batch.drop_column("kind")
