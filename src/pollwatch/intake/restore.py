"""The submission core run backwards: re-create the rows of records already in the log from their leaves.

``pollwatch log restore`` (:mod:`pollwatch.ledger.restore`) appends a mirror's missing entries to a
restored database; this module gives each leaf back the rows the core wrote with it: its kind's own
rows (:meth:`~pollwatch.intake.kinds.base.RecordKind.rows_from_leaves`, one mechanism per kind) and its
``submissions`` row (idempotency, the leaf index, who sent it). Nothing is validated again: the log holds
what was accepted. What is checked is what the leaf carries: a device signature is verified against the
key the leaf names, and the device's owner is looked up in the database.

What a leaf never held cannot come back: submitters' names and phones, a case's private identities, the
channel a record came in by (recorded as ``api``), a photo's bytes and their metadata. A signed record
whose device is not registered in the restored database keeps the device key as its ``submitter_key``
(it is listed in :attr:`Restored.unknown_devices`).

>>> from pollwatch.storage import Database
>>> from pollwatch.ledger.records import LeafRecord
>>> db = Database("sqlite://"); db.upgrade()
>>> leaf = LeafRecord("photo", {"election": "x", "photo_sha256": "ab", "sheets": [0]})
>>> with db.begin() as conn:
...     store_logged(conn, [(0, leaf)]).log_only
1
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

from sqlalchemy import Connection

from pollwatch.auth.devices import fingerprint, verify_signature
from pollwatch.errors import Error, NotFoundError, VerificationError
from pollwatch.intake import kinds
from pollwatch.intake.kinds.base import Batch, Cache, LoggedRecord, RecordKind, leaf_time
from pollwatch.ledger.records import LeafRecord, device_public_key, signed_bytes
from pollwatch.model import Channel
from pollwatch.storage import devices as device_store
from pollwatch.storage import submissions as submission_store

IMPORTED = "import"
"""``submitter_key`` and ``role`` of an official leaf written by ``pollwatch import`` (no submission)."""


@dataclass
class Restored:
    """What :func:`store_logged` re-created: records with rows, leaves that have none, unknown devices."""

    records: int = 0
    log_only: int = 0
    unknown_devices: set[str] = field(default_factory=set)

    def add(self, other: Restored) -> None:
        self.records += other.records
        self.log_only += other.log_only
        self.unknown_devices |= other.unknown_devices


@dataclass(frozen=True)
class _Item:
    index: int
    kind: RecordKind | None
    leaf: LeafRecord


def store_logged(
    conn: Connection, leaves: Sequence[tuple[int, LeafRecord]], cache: Cache | None = None
) -> Restored:
    """Re-create, in the caller's transaction, the rows of log entries (index, parsed leaf), in order.

    1. verify a device signature against the key the leaf names; 2. for each run of one kind, insert
    the kind's rows from the leaves, then their ``submissions`` rows, so a later leaf naming an earlier
    one (a case update, a verdict) finds it. Leaves of no registered kind, or with no submission (a
    photo's full hash logged by the server), have no rows. Raises VerificationError for a leaf that
    lacks what its rows need or whose signature fails, NotFoundError for an election or place the
    database lacks; the caller rolls back.
    """
    batch = Batch(conn, cache if cache is not None else Cache())
    done = Restored()
    by_leaf = {kind.leaf_type: kind for kind in map(kinds.get_kind, kinds.names())}
    items = [
        _Item(index, by_leaf.get(leaf.type) if "submission_id" in leaf.body else None, leaf)
        for index, leaf in leaves
    ]
    for kind, run in groupby(items, key=lambda i: i.kind):
        group = list(run)
        if kind is None:
            done.log_only += len(group)
            continue
        done.add(_store_run(batch, kind, group))
    return done


def _store_run(batch: Batch, kind: RecordKind, items: Sequence[_Item]) -> Restored:
    done = Restored(records=len(items))
    logged, owners = [], []
    for item in items:
        body = item.leaf.body
        try:
            election_id = batch.election(str(body.get("election"))).id
        except NotFoundError as exc:
            raise NotFoundError(
                f"log entry {item.index} is of an election this database does not hold",
                where="election", found=str(body.get("election"))[:64],
                remedy="restore the election's structure (pollwatch import) before its records",
            ) from exc  # fmt: skip
        owner = _owner(batch.conn, item)
        if owner is None:
            done.unknown_devices.add(str(body["submitter_key"]))
        owners.append(owner or str(body["submitter_key"]))
        logged.append(_logged(item, election_id))
    try:
        ids = kind.rows_from_leaves(batch, logged)
    except (KeyError, TypeError, ValueError) as exc:
        raise VerificationError(
            f"a {kind.name} leaf from log entry {items[0].index} on lacks what its rows need",
            found=f"{type(exc).__name__}: {exc}"[:200], expected=f"the {kind.leaf_type} body of docs/",
        ) from exc  # fmt: skip
    rows = [
        _submission(kind, record, owner, ids_)
        for record, owner, ids_ in zip(logged, owners, ids, strict=True)
        if not _imported(record.body)
    ]
    submission_store.insert_submissions(batch.conn, rows)
    return done


def _owner(conn: Connection, item: _Item) -> str | None:
    """The key id the record was submitted under: the leaf's own, or a signing device's owner's.

    Verifies the device signature first (the leaf names the device's public key). None: the
    device is not registered in this database.
    """
    body = item.leaf.body
    signature = body.get("signature")
    if signature is None:
        return str(body["submitter_key"])
    try:
        key = device_public_key(str(body["submitter_key"]))
        verify_signature(key, signed_bytes(body, item.leaf.type), str(signature))
    except Error as exc:
        raise VerificationError(
            f"the device signature of log entry {item.index} does not verify: {exc.message}",
            expected="a signature by the device key the leaf names", found=str(signature)[:40],
            remedy="the log itself holds a record the server should have refused: keep it as evidence",
        ) from exc  # fmt: skip
    device = device_store.get_device_key(conn, fingerprint(key))
    return None if device is None else device.owner.key_id


def _logged(item: _Item, election_id: int) -> LoggedRecord:
    body = item.leaf.body
    received = leaf_time(body.get("received_at"))
    if received is None:
        raise VerificationError(f"log entry {item.index} has no received_at", where="received_at")
    server_filled = body.get("signature") is None and body.get("captured_at") == body.get("received_at")
    captured = None if server_filled else leaf_time(body.get("captured_at"))
    return LoggedRecord(item.index, body, election_id, received, captured)


def _imported(body: Mapping[str, Any]) -> bool:
    return body.get("role") == IMPORTED and body.get("submitter_key") == IMPORTED


def _submission(
    kind: RecordKind, record: LoggedRecord, owner: str, ids: tuple[int | None, int | None]
) -> dict[str, object]:
    """The ``submissions`` row the core wrote (:func:`pollwatch.intake.service.write_batch`)."""
    body = record.body
    # As the core compares content: with captured_at as sent (none, when the server filled it in).
    filled = record.captured_at is None and body.get("captured_at") is not None
    signed = {**body, "captured_at": None} if filled else body
    record_id, sheet_id = ids
    return {
        "election_id": record.election_id,
        "submitter_key": owner,
        "submission_id": body["submission_id"],
        "content_sha256": hashlib.sha256(signed_bytes(signed, kind.leaf_type)).hexdigest(),
        "signature": body.get("signature"),
        "kind": kind.name,
        "sheet_id": sheet_id,
        "record_id": record_id,
        "leaf_index": record.index,
        "photo_sha256": body.get("photo_sha256") or "",
        "channel": str(body.get("channel") or Channel.API.value),
        "received_at": record.received_at.astimezone(dt.UTC),
    }
