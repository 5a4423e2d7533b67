"""station_results.versions: each station's reconciled versions, so an audit need not re-read every copy

Rows written before this revision have none (NULL); readers then reconcile the row's copies, and
``pollwatch projections rebuild`` fills them in.

Revision ID: 0015
Revises: 0014
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("station_results") as batch:
        batch.add_column(sa.Column("versions", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("station_results") as batch:
        batch.drop_column("versions")
