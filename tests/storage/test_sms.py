"""SMS deliveries on SQLite and PostgreSQL: the first reply kept for a message id wins; old ones go."""

from __future__ import annotations

import datetime as dt

from pollwatch.storage import Database
from pollwatch.storage import sms as sms_store


def test_first_reply_for_a_message_id_wins(db: Database) -> None:
    key = {"adapter": "kannel", "gateway_key": "sub-gw", "message_id": "3e3a3053"}
    first = sms_store.Delivery("OK NA-1/1 leaf 4", True, 4)
    with db.begin() as conn:
        assert sms_store.create_delivery(conn, **key, delivery=first) == first
    with db.begin() as conn:  # a concurrent request that wrote the same message again loses
        kept = sms_store.create_delivery(conn, **key, delivery=sms_store.Delivery("OK other", True, 5))
        other_gateway = sms_store.create_delivery(conn, **{**key, "gateway_key": "sub-gw2"}, delivery=first)
    assert kept == first
    assert other_gateway == first
    with db.connect() as conn:
        assert sms_store.get_delivery(conn, **key) == first
        assert sms_store.get_delivery(conn, **{**key, "message_id": "other"}) is None


def test_old_deliveries_are_deleted(db: Database) -> None:
    key = {"adapter": "twilio", "gateway_key": "sub-gw", "message_id": "SM1"}
    with db.begin() as conn:
        sms_store.create_delivery(conn, **key, delivery=sms_store.Delivery("ERR x", False, None))
        assert sms_store.delete_deliveries_before(conn, dt.datetime.now(dt.UTC) - dt.timedelta(days=3)) == 0
        assert (
            sms_store.delete_deliveries_before(conn, dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)) == 1
        )
        assert sms_store.get_delivery(conn, **key) is None


def test_migration_0013_rewrites_00_numbers_to_e164(db: Database) -> None:
    """Before 0013, ``00923001234567`` was stored as ``+00923001234567`` and matched nothing."""
    from alembic import command
    from sqlalchemy import text

    from pollwatch.storage.db import _alembic_config

    with db.engine.begin() as conn:
        command.downgrade(_alembic_config(conn), "0012")
        now = dt.datetime.now(dt.UTC)
        for n, phone in enumerate(("+00923001234567", "+00923007654321", "+923007654321"), start=1):
            conn.execute(text("INSERT INTO submitters (key_id, role, organisation, name, phone, address, "
                              "created_at) VALUES (:k, 'agent', '', '', :p, '', :t)"),
                         {"k": f"sub-{n}", "p": phone, "t": now})  # fmt: skip
    db.upgrade()
    with db.connect() as conn:
        phones = {str(k): str(p) for k, p in conn.execute(text("SELECT key_id, phone FROM submitters"))}
    assert phones == {"sub-1": "+923001234567", "sub-2": "+00923007654321", "sub-3": "+923007654321"}
