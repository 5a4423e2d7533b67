"""Intake SQL of device keys: registration, revocation and the owners of signing keys."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, select

from pollwatch.storage import intake_schema as ti
from pollwatch.storage._rows import aware
from pollwatch.storage.submitters import SubmitterRow


@dataclass(frozen=True)
class DeviceKeyRow:
    """A registered device key and its owner (no personal data)."""

    fingerprint: str
    public_key: str
    created_at: dt.datetime
    revoked: bool
    owner: SubmitterRow


def get_device_key(conn: Connection, fingerprint: str) -> DeviceKeyRow | None:
    """The device key with this fingerprint, revoked or not, with its owner."""
    rows = _device_rows(conn, ti.device_keys.c.fingerprint == fingerprint)
    return rows[0] if rows else None


def list_submitter_devices(conn: Connection, submitter_id: int) -> list[DeviceKeyRow]:
    """Every device key of a submitter, oldest first, revoked ones included."""
    return _device_rows(conn, ti.device_keys.c.submitter_id == submitter_id)


def _device_rows(conn: Connection, condition: Any) -> list[DeviceKeyRow]:
    d, s = ti.device_keys, ti.submitters
    rows = conn.execute(
        select(d.c.fingerprint, d.c.public_key, d.c.created_at, d.c.revoked, s.c.id, s.c.key_id, s.c.role,
               s.c.organisation)
        .join(s, d.c.submitter_id == s.c.id).where(condition).order_by(d.c.id)
    )  # fmt: skip
    return [
        DeviceKeyRow(r.fingerprint, r.public_key, aware(r.created_at), bool(r.revoked),
                     SubmitterRow(int(r.id), r.key_id, r.role, r.organisation))
        for r in rows
    ]  # fmt: skip


def revoke_device_key(conn: Connection, fingerprint: str) -> bool:
    """Mark one device key revoked (the row stays); False if it was unknown or already revoked."""
    d = ti.device_keys
    query = d.update().where(d.c.fingerprint == fingerprint, d.c.revoked.is_(False)).values(revoked=True)
    return conn.execute(query).rowcount == 1


def create_device_key(conn: Connection, *, submitter_id: int, fingerprint: str, public_key: str) -> None:
    conn.execute(
        ti.device_keys.insert().values(
            submitter_id=submitter_id,
            fingerprint=fingerprint,
            public_key=public_key,
            created_at=dt.datetime.now(dt.UTC),
            revoked=False,
        )
    )


def get_device_owner(conn: Connection, fingerprint: str) -> int | None:
    d = ti.device_keys
    row = conn.execute(
        select(d.c.submitter_id).where(d.c.fingerprint == fingerprint, d.c.revoked.is_(False))
    ).first()
    return None if row is None else int(row[0])


def list_device_keys(conn: Connection) -> list[dict[str, Any]]:
    """Public device keys with role and organisation only: what a verifier may publish."""
    d, s = ti.device_keys, ti.submitters
    rows = conn.execute(
        select(d.c.public_key, d.c.fingerprint, s.c.role, s.c.organisation, d.c.revoked)
        .join(s, d.c.submitter_id == s.c.id)
        .order_by(d.c.id)
    )
    return [
        {
            "public_key": r.public_key,
            "fingerprint": r.fingerprint,
            "role": r.role,
            "organisation": r.organisation,
            "revoked": bool(r.revoked),
        }  # fmt: skip
        for r in rows
    ]


def get_latest_device_key(conn: Connection, submitter_id: int) -> str | None:
    """The most recently registered, unrevoked device key id of a submitter."""
    d = ti.device_keys
    row = conn.execute(
        select(d.c.public_key)
        .where(d.c.submitter_id == submitter_id, d.c.revoked.is_(False))
        .order_by(d.c.id.desc())
        .limit(1)
    ).first()
    return None if row is None else str(row[0])


_DEVICE_OWNERS = select(ti.device_keys.c.fingerprint, ti.device_keys.c.submitter_id).where(
    ti.device_keys.c.fingerprint.in_(bindparam("fingerprints", expanding=True)),
    ti.device_keys.c.revoked.is_(False),
)


def list_device_owners(conn: Connection, fingerprints: set[str]) -> dict[str, int]:
    """Unrevoked device keys among ``fingerprints``: fingerprint -> submitter id."""
    if not fingerprints:
        return {}
    rows = conn.execute(_DEVICE_OWNERS, {"fingerprints": sorted(fingerprints)})
    return {str(f): int(s) for f, s in rows}
