"""The log's health for its operator and the public: size, latest checkpoint, each witness's record.

>>> from pollwatch.storage import Database
>>> from pollwatch.ledger.note import Signer
>>> from pollwatch.ledger.settings import LogSettings
>>> db = Database("sqlite://"); db.upgrade()
>>> with db.connect() as conn:
...     get_status(conn, LogSettings(Signer.from_seed("example.org/log", bytes(32))).public).size
0

References
----------
C2SP tlog-witness (https://c2sp.org/tlog-witness) @5ba5ee8.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection

from pollwatch.ledger.note import parse_note
from pollwatch.ledger.settings import LogKeys
from pollwatch.storage import log as store
from pollwatch.storage.log import WitnessFailure


@dataclass(frozen=True)
class WitnessStatus:
    """One configured witness: its key, the last checkpoint it cosigned, its recent failures."""

    name: str
    url: str
    vkey: str
    fingerprint: str
    cosigned_latest: bool
    last_cosigned_size: int | None
    last_cosigned_at: dt.datetime | None
    failures: tuple[WitnessFailure, ...]


@dataclass(frozen=True)
class LogStatus:
    """The log's size, its latest checkpoint's size, the configured witnesses and recent failures."""

    origin: str
    size: int
    checkpoint_size: int
    witnesses: tuple[WitnessStatus, ...]
    recent_failures: tuple[WitnessFailure, ...]


def get_status(conn: Connection, settings: LogKeys, *, failures: int = 20) -> LogStatus:
    """Read the log's status; ``failures`` bounds the recent failures listed (newest first)."""
    state = store.get_state(conn)
    signed = (
        {(s.name, s.key_id) for s in parse_note(state.checkpoint).signatures} if state.checkpoint else set()
    )
    last = store.last_cosigned(conn)
    recent = store.list_witness_failures(conn, limit=failures)
    witnesses = []
    for endpoint in settings.witnesses:
        key = endpoint.key
        size, at = last.get(key.name, (None, None))
        witnesses.append(
            WitnessStatus(
                key.name,
                endpoint.url,
                key.vkey,
                key.fingerprint,
                (key.name, key.key_id) in signed,
                size,
                at,
                tuple(f for f in recent if f.witness == key.name),
            )
        )
    return LogStatus(settings.origin, state.size, state.checkpoint_size, tuple(witnesses), tuple(recent))
