"""SQL of SMS deliveries: the reply given to each gateway message id, for answering retries."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, delete, select, update
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


@dataclass(frozen=True)
class Outbound:
    id: int
    gateway: str
    recipient: str
    text: str
    attempts: int
    next_at: dt.datetime


def create_outbound(conn: Connection, *, gateway: str, recipient: str, text: str, now: dt.datetime) -> int:
    """Queue a reply to send through ``gateway``'s send API as soon as possible."""
    result = conn.execute(
        ti.sms_outbox.insert().values(
            gateway=gateway,
            recipient=recipient,
            text=text,
            attempts=0,
            next_at=now,
            sent_at=None,
            gave_up=False,
            last_error="",
            created_at=now,
        )  # fmt: skip
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def list_due(conn: Connection, now: dt.datetime, *, limit: int = 100) -> list[Outbound]:
    """Replies not sent, not given up, whose next attempt is due, oldest first."""
    c = ti.sms_outbox.c
    rows = conn.execute(
        select(c.id, c.gateway, c.recipient, c.text, c.attempts, c.next_at)
        .where(c.sent_at.is_(None), c.gave_up.is_(False), c.next_at <= now)
        .order_by(c.next_at, c.id)
        .limit(limit)
    )
    return [Outbound(int(r.id), r.gateway, r.recipient, r.text, int(r.attempts), r.next_at) for r in rows]


def claim_outbound(conn: Connection, item: Outbound, *, until: dt.datetime) -> bool:
    """Take ``item`` for sending (its next attempt moves to ``until``); False if another sender took it."""
    c = ti.sms_outbox.c
    result = conn.execute(
        update(ti.sms_outbox)
        .where(c.id == item.id, c.next_at == item.next_at, c.sent_at.is_(None))
        .values(next_at=until)
    )
    return int(result.rowcount) == 1


def mark_sent(conn: Connection, outbound_id: int, now: dt.datetime) -> None:
    """Sent: the number is no longer needed, so it is blanked."""
    c = ti.sms_outbox.c
    conn.execute(
        update(ti.sms_outbox)
        .where(c.id == outbound_id)
        .values(sent_at=now, recipient="", attempts=c.attempts + 1)
    )


def mark_failed(
    conn: Connection, outbound_id: int, *, next_at: dt.datetime, error: str, give_up: bool
) -> None:
    c = ti.sms_outbox.c
    values: dict[str, object] = {"attempts": c.attempts + 1, "next_at": next_at, "last_error": error[:500]}
    if give_up:
        values.update(gave_up=True, recipient="")
    conn.execute(update(ti.sms_outbox).where(c.id == outbound_id).values(**values))


def count_outbox(conn: Connection) -> dict[str, int]:
    """How many replies are waiting, sent and given up."""
    c = ti.sms_outbox.c
    rows = conn.execute(select(c.sent_at.is_not(None), c.gave_up)).all()
    return {
        "waiting": sum(1 for sent, gave_up in rows if not sent and not gave_up),
        "sent": sum(1 for sent, _ in rows if sent),
        "gave_up": sum(1 for sent, gave_up in rows if gave_up and not sent),
    }
