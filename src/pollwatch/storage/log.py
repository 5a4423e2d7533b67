"""All SQL of the evidence log: entries, stored hashes, the state row and checkpoints.

Appends happen inside the caller's transaction. Entries and hashes are only ever inserted; the single
``log_state`` row is the serialisation point (its UPDATE takes the write lock on SQLite and a row lock
on PostgreSQL) and carries the latest signed checkpoint, replaced by compare-and-swap.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, func, insert, select, update

from pollwatch.errors import StorageError
from pollwatch.storage.bulk import insert_rows
from pollwatch.storage.log_schema import (
    log_checkpoints,
    log_cosignatures,
    log_entries,
    log_hashes,
    log_state,
    log_witness_failures,
)

_CHUNK = 500


@dataclass(frozen=True)
class LogState:
    """The log's size and the latest signed checkpoint (empty text before the first one)."""

    size: int
    checkpoint_size: int
    checkpoint: str


@dataclass(frozen=True)
class StoredCheckpoint:
    """One signed checkpoint from the history, with the cosignature lines collected for it."""

    size: int
    root: bytes
    note: str
    signed_at: dt.datetime
    cosignatures: tuple[str, ...]


def reserve(conn: Connection, count: int) -> int:
    """Grow the log by ``count`` leaves and return the first new index (serialises appenders)."""
    stmt = (
        update(log_state)
        .where(log_state.c.id == 1)
        .values(size=log_state.c.size + count)
        .returning(log_state.c.size)
    )
    new_size = conn.execute(stmt).scalar_one_or_none()
    if new_size is None:
        raise StorageError("the log state row is missing", remedy="run `pollwatch init` (migration 0002)")
    return int(new_size) - count


def get_state(conn: Connection, *, lock: bool = False) -> LogState:
    """Return the log state; ``lock`` takes the append lock first (for signing checkpoints)."""
    if lock:
        conn.execute(update(log_state).where(log_state.c.id == 1).values(size=log_state.c.size))
    # Read on every proof and receipt: plain SQL, no statement compilation.
    sql = "SELECT size, checkpoint_size, checkpoint FROM log_state WHERE id = 1"
    if conn.dialect.name == "sqlite":
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        row = cursor.execute(sql).fetchone()
        cursor.close()
    else:
        row = conn.exec_driver_sql(sql).one()
    if row is None:
        raise StorageError("the log state row is missing", remedy="run `pollwatch init` (migration 0002)")
    return LogState(int(row[0]), int(row[1]), str(row[2]))


def insert_appended(
    conn: Connection,
    first: int,
    entries: Sequence[tuple[str, str, bytes]],
    hash_first: int,
    hashes: Sequence[bytes],
    *,
    at: dt.datetime,
) -> None:
    """Insert (type, election, data) entries at indices first, first+1, ... and the stored hashes they
    complete, at consecutive storage indexes from ``hash_first``.

    An appender holds the log lock until commit, so on PostgreSQL both go in as ONE statement over
    arrays (a data-modifying CTE); SQLite, in-process, takes two executemany calls.
    """
    rows = [(first + i, kind, election, data, at) for i, (kind, election, data) in enumerate(entries)]
    if conn.dialect.name == "sqlite":
        insert_rows(conn, log_entries, ("idx", "type", "election", "data", "appended_at"), rows)
        insert_rows(conn, log_hashes, ("idx", "hash"), [(hash_first + i, h) for i, h in enumerate(hashes)])
        return
    conn.exec_driver_sql(
        "WITH e AS (INSERT INTO log_entries (idx, type, election, data, appended_at) "
        "SELECT u.idx, u.type, u.election, u.data, %(at)s FROM "
        "unnest(%(idx)s::bigint[], %(type)s::text[], %(election)s::text[], %(data)s::bytea[]) "
        "AS u(idx, type, election, data)) "
        "INSERT INTO log_hashes (idx, hash) SELECT * FROM unnest(%(hidx)s::bigint[], %(hash)s::bytea[])",
        {
            "idx": [r[0] for r in rows],
            "type": [r[1] for r in rows],
            "election": [r[2] for r in rows],
            "data": [r[3] for r in rows],
            "at": at,
            "hidx": list(range(hash_first, hash_first + len(hashes))),
            "hash": list(hashes),
        },
    )


def read_hashes(conn: Connection, indexes: Sequence[int]) -> dict[int, bytes]:
    """Return stored hashes by storage index (missing ones are simply absent).

    Proofs read about 20 hashes per call, so this bypasses SQL compilation: a raw cursor on SQLite,
    ``= ANY(array)`` on PostgreSQL.
    """
    found: dict[int, bytes] = {}
    unique = sorted(set(indexes))
    for start in range(0, len(unique), _CHUNK):
        chunk = unique[start : start + _CHUNK]
        if conn.dialect.name == "sqlite":
            cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            marks = ",".join("?" * len(chunk))
            rows = cursor.execute(f"SELECT idx, hash FROM log_hashes WHERE idx IN ({marks})", chunk)
            found.update((int(i), bytes(h)) for i, h in rows)
            cursor.close()
        else:
            result = conn.exec_driver_sql(
                "SELECT idx, hash FROM log_hashes WHERE idx = ANY(%(ids)s)", {"ids": chunk}
            )
            found.update((int(i), bytes(h)) for i, h in result)
    return found


def read_hash_range(conn: Connection, start: int, end: int) -> list[bytes]:
    """Return stored hashes with start <= index < end, in order."""
    rows = conn.execute(
        select(log_hashes.c.hash)
        .where(log_hashes.c.idx >= start, log_hashes.c.idx < end)
        .order_by(log_hashes.c.idx)
    )
    return [bytes(h) for (h,) in rows]


def read_entries(conn: Connection, start: int, end: int) -> list[bytes]:
    """Return entry bytes for start <= index < end, in order."""
    rows = conn.execute(
        select(log_entries.c.data)
        .where(log_entries.c.idx >= start, log_entries.c.idx < end)
        .order_by(log_entries.c.idx)
    )
    return [bytes(d) for (d,) in rows]


def read_entries_at(conn: Connection, indices: Sequence[int]) -> dict[int, bytes]:
    """Return entry bytes by index for the given indices (missing ones are absent)."""
    found: dict[int, bytes] = {}
    unique = sorted(set(indices))
    for start in range(0, len(unique), _CHUNK):
        rows = conn.execute(_ENTRIES_AT, {"indices": unique[start : start + _CHUNK]})
        found.update((int(i), bytes(d)) for i, d in rows)
    return found


_ENTRIES_AT = select(log_entries.c.idx, log_entries.c.data).where(
    log_entries.c.idx.in_(bindparam("indices", expanding=True))
)


def iter_entries(conn: Connection, *, batch: int = 5000) -> Iterator[tuple[int, bytes]]:
    """Yield every (index, entry bytes) in order, in batches."""
    start = 0
    while True:
        rows = conn.execute(
            select(log_entries.c.idx, log_entries.c.data)
            .where(log_entries.c.idx >= start)
            .order_by(log_entries.c.idx)
            .limit(batch)
        ).all()
        if not rows:
            return
        for idx, data in rows:
            yield int(idx), bytes(data)
        start = int(rows[-1][0]) + 1


def count_entries(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(log_entries)).scalar_one())


def swap_checkpoint(conn: Connection, *, old_size: int, new_size: int, note: str) -> bool:
    """Replace the latest checkpoint only if it is still the one of ``old_size`` (compare-and-swap)."""
    result = conn.execute(
        update(log_state)
        .where(log_state.c.id == 1, log_state.c.checkpoint_size == old_size)
        .values(checkpoint_size=new_size, checkpoint=note)
    )
    return result.rowcount == 1


def insert_checkpoint(conn: Connection, *, size: int, root: bytes, note: str, at: dt.datetime) -> None:
    conn.execute(insert(log_checkpoints).values(size=size, root=root, note=note, signed_at=at))


def insert_cosignature(conn: Connection, *, size: int, witness: str, line: str, at: dt.datetime) -> bool:
    """Record a witness's cosignature line for a checkpoint once; return whether it was new."""
    exists = conn.execute(
        select(log_cosignatures.c.size).where(
            log_cosignatures.c.size == size, log_cosignatures.c.witness == witness
        )
    ).first()
    if exists:
        return False
    conn.execute(insert(log_cosignatures).values(size=size, witness=witness, line=line, received_at=at))
    return True


def list_checkpoints(conn: Connection) -> list[StoredCheckpoint]:
    """Return every signed checkpoint, smallest first, with its cosignature lines."""
    cosigs: dict[int, list[str]] = {}
    for size, line in conn.execute(
        select(log_cosignatures.c.size, log_cosignatures.c.line).order_by(
            log_cosignatures.c.size, log_cosignatures.c.witness
        )
    ):
        cosigs.setdefault(int(size), []).append(str(line))
    rows = conn.execute(select(log_checkpoints).order_by(log_checkpoints.c.size))
    return [
        StoredCheckpoint(
            int(r.size), bytes(r.root), str(r.note), r.signed_at, tuple(cosigs.get(int(r.size), ()))
        )
        for r in rows
    ]


def get_checkpoint(conn: Connection, size: int) -> StoredCheckpoint | None:
    """Return the signed checkpoint of exactly ``size`` leaves, if there is one."""
    for checkpoint in list_checkpoints_at(conn, size):
        return checkpoint
    return None


def list_checkpoints_at(conn: Connection, size: int) -> list[StoredCheckpoint]:
    row = conn.execute(select(log_checkpoints).where(log_checkpoints.c.size == size)).first()
    if row is None:
        return []
    lines = conn.execute(
        select(log_cosignatures.c.line)
        .where(log_cosignatures.c.size == size)
        .order_by(log_cosignatures.c.witness)
    )
    return [
        StoredCheckpoint(
            int(row.size), bytes(row.root), str(row.note), row.signed_at, tuple(str(x) for (x,) in lines)
        )
    ]


def largest_cosigned_size(conn: Connection, *, above: int) -> int | None:
    """Return the largest checkpoint size > ``above`` that some witness cosigned, if any."""
    size = conn.execute(
        select(func.max(log_cosignatures.c.size)).where(log_cosignatures.c.size > above)
    ).scalar_one_or_none()
    return None if size is None else int(size)


@dataclass(frozen=True)
class WitnessFailure:
    """A witness that did not cosign the checkpoint of ``size``: the latest reason and how often."""

    witness: str
    size: int
    url: str
    reason: str
    attempts: int
    first_at: dt.datetime
    last_at: dt.datetime


def record_witness_failure(
    conn: Connection, *, witness: str, size: int, url: str, reason: str, at: dt.datetime
) -> None:
    """Record that ``witness`` failed to cosign ``size`` (one row per witness and size, counted)."""
    table = log_witness_failures
    key = (table.c.witness == witness) & (table.c.size == size)
    updated = conn.execute(
        update(table)
        .where(key)
        .values(url=url, reason=reason[:2000], attempts=table.c.attempts + 1, last_at=at)
    )
    if updated.rowcount == 0:
        conn.execute(
            insert(table).values(
                witness=witness, size=size, url=url, reason=reason[:2000], attempts=1, first_at=at, last_at=at
            )
        )


def list_witness_failures(conn: Connection, *, limit: int = 20) -> list[WitnessFailure]:
    """The most recent witness failures, newest first."""
    rows = conn.execute(
        select(log_witness_failures).order_by(log_witness_failures.c.last_at.desc()).limit(limit)
    )
    return [
        WitnessFailure(r.witness, int(r.size), r.url, r.reason, int(r.attempts), r.first_at, r.last_at)
        for r in rows
    ]


def last_cosigned(conn: Connection) -> dict[str, tuple[int, dt.datetime]]:
    """For each witness that ever cosigned: the largest size it cosigned and when that arrived."""
    table = log_cosignatures
    rows = conn.execute(
        select(table.c.witness, func.max(table.c.size), func.max(table.c.received_at)).group_by(
            table.c.witness
        )
    )
    return {str(w): (int(size), at) for w, size, at in rows}
