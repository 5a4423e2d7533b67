"""submissions by leaf index: a correction names the leaf it supersedes, found without a table scan

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(op.f("ix_submissions_leaf_index"), "submissions", ["leaf_index"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_submissions_leaf_index"), table_name="submissions")
