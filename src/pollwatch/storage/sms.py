"""SQL of SMS deliveries: the reply given to each gateway message id, for answering retries."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, delete, select
from sqlalchemy.exc import IntegrityError

from pollwatch.storage import intake_schema as ti


@dataclass(frozen=True)
class Delivery:
    reply: str
    accepted: bool
    leaf_index: int | None


def get_delivery(conn: Connection, *, adapter: str, gateway_key: str, message_id: str) -> Delivery | None:
    c = ti.sms_deliveries.c
    row = conn.execute(
        select(c.reply, c.accepted, c.leaf_index).where(
            c.adapter == adapter, c.gateway_key == gateway_key, c.message_id == message_id
        )
    ).first()
    return None if row is None else Delivery(row.reply, bool(row.accepted), row.leaf_index)


def create_delivery(
    conn: Connection, *, adapter: str, gateway_key: str, message_id: str, delivery: Delivery
) -> Delivery:
    """Keep the reply given to a message id; if another request kept one first, return that one."""
    try:
        with conn.begin_nested():
            conn.execute(
                ti.sms_deliveries.insert().values(
                    adapter=adapter,
                    gateway_key=gateway_key,
                    message_id=message_id,
                    reply=delivery.reply,
                    accepted=delivery.accepted,
                    leaf_index=delivery.leaf_index,
                    received_at=dt.datetime.now(dt.UTC),
                )  # fmt: skip
            )
    except IntegrityError:
        first = get_delivery(conn, adapter=adapter, gateway_key=gateway_key, message_id=message_id)
        if first is not None:
            return first
        raise
    return delivery


def delete_deliveries_before(conn: Connection, before: dt.datetime) -> int:
    """Forget deliveries older than ``before`` (gateways stop retrying after a day or two)."""
    result = conn.execute(delete(ti.sms_deliveries).where(ti.sms_deliveries.c.received_at < before))
    return int(result.rowcount)
