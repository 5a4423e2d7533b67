"""sms deliveries and outbox: a gateway's message id and the reply given, so a retried delivery adds
no leaf; replies waiting to go out through a gateway's send API

Also rewrites phone numbers registered as ``+00<country code>...`` (how ``00`` numbers were stored
before numbers were parsed) to E.164, unless that number is registered too.

Revision ID: 0013
Revises: 0012
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "sms_deliveries",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("adapter", sa.String(length=64), nullable=False),
        sa.Column("gateway_key", sa.String(length=64), nullable=False),
        sa.Column("message_id", sa.String(length=128), nullable=False),
        sa.Column("reply", sa.Text(), nullable=False),
        sa.Column("accepted", sa.Boolean(), nullable=False),
        sa.Column("leaf_index", sa.BigInteger(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_deliveries")),
        sa.UniqueConstraint(
            "adapter",
            "gateway_key",
            "message_id",
            name=op.f("uq_sms_deliveries_adapter_gateway_key_message_id"),
        ),
    )
    op.create_index(op.f("ix_sms_deliveries_received_at"), "sms_deliveries", ["received_at"], unique=False)
    op.create_table(
        "sms_outbox",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("gateway", sa.String(length=64), nullable=False),
        sa.Column("recipient", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("gave_up", sa.Boolean(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_outbox")),
    )
    op.create_index(op.f("ix_sms_outbox_next_at"), "sms_outbox", ["next_at"], unique=False)
    op.execute(
        "UPDATE submitters SET phone = '+' || substr(phone, 4) WHERE phone LIKE '+00%' AND NOT EXISTS "
        "(SELECT 1 FROM submitters AS s2 WHERE s2.phone = '+' || substr(submitters.phone, 4))"
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_sms_outbox_next_at"), table_name="sms_outbox")
    op.drop_table("sms_outbox")
    op.drop_index(op.f("ix_sms_deliveries_received_at"), table_name="sms_deliveries")
    op.drop_table("sms_deliveries")
