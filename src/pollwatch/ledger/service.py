"""The log as a service: append in the caller's transaction, sign checkpoints, receipts, proofs.

The publisher (signing in the background and asking witnesses) is :mod:`pollwatch.ledger.publisher`.

>>> from pollwatch.storage import Database
>>> from pollwatch.ledger.records import LeafRecord
>>> from pollwatch.ledger.note import Signer
>>> db = Database("sqlite://"); db.upgrade()
>>> with db.begin() as conn:
...     append(conn, [LeafRecord("incident", {"station": "12", "what": "queue"})])
[0]
>>> settings = LogSettings(Signer.from_seed("example.org/log", bytes(32)))
>>> print(get_receipt(db, 0, wait_seconds=0, settings=settings).splitlines()[2])
index 0

References
----------
RFC 9162 §2.1; C2SP tlog-checkpoint ("a log MUST NOT sign two inconsistent checkpoints"), tlog-proof;
FiloSottile/sunlight README (compare-and-swap of the latest checkpoint).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence

from sqlalchemy import Connection

from pollwatch.errors import ConflictError, NotFoundError, StorageError, VerificationError
from pollwatch.ledger.checkpoint import Checkpoint, add_signatures, parse_checkpoint
from pollwatch.ledger.merkle import (
    HASH_SIZE,
    append_entries,
    consistency_proof,
    edge_indexes,
    inclusion_proof,
    stored_hash_index,
    tree_root,
    verify_consistency,
)
from pollwatch.ledger.note import NoteSignature, parse_note, sign_note
from pollwatch.ledger.proof import format_receipt
from pollwatch.ledger.records import LeafRecord, canonical_bytes
from pollwatch.ledger.settings import LogSettings, load_settings
from pollwatch.storage import Database
from pollwatch.storage import log as store

_log = logging.getLogger(__name__)
_signed = threading.Condition()
"""Notified whenever this process signs a checkpoint, so waiting receipts wake at once."""


class DbHashes:
    """HashReader over the stored hashes of one connection, with a write-through cache for appends."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.cache: dict[int, bytes] = {}

    def read_hashes(self, indexes: Sequence[int]) -> list[bytes]:
        missing = [i for i in indexes if i not in self.cache]
        if missing:
            self.cache.update(store.read_hashes(self.conn, missing))
        try:
            return [self.cache[i] for i in indexes]
        except KeyError as exc:
            raise StorageError("a stored log hash is missing", found=f"storage index {exc.args[0]}") from exc


def append(
    conn: Connection, records: Sequence[LeafRecord], *, encoded: Sequence[bytes] | None = None
) -> list[int]:
    """Append records to the log inside the caller's transaction; return their leaf indices.

    The records and their hashes commit (durably) or roll back with the caller's other writes.
    Concurrent appenders are serialised by the log state row. ``encoded``: the records'
    :func:`canonical_bytes`, when the caller already made them (the intake core does, to refuse a
    record alone).
    """
    if not records:
        return []
    datas = list(encoded) if encoded is not None else [canonical_bytes(r) for r in records]
    if len(datas) != len(records):
        raise ValueError("encoded must hold one entry per record")
    first = store.reserve(conn, len(datas))
    # The right edge of the tree (<= log2(n) stored hashes) is all an append needs to read.
    edge = DbHashes(conn).read_hashes(edge_indexes(first))
    hashes = append_entries(edge, first, datas)
    now = dt.datetime.now(dt.UTC)
    entries = [(r.type, str(r.body.get("election") or ""), d) for r, d in zip(records, datas, strict=True)]
    store.insert_appended(conn, first, entries, stored_hash_index(0, first), hashes, at=now)
    return list(range(first, first + len(datas)))


Cosigner = Callable[[str, int, LogSettings, "DbHashes"], list[NoteSignature]]
"""Asked with a freshly signed note, its size, the settings and a reader of the stored hashes (on the
signing transaction's connection); returns the cosignature lines to attach."""


def sign_checkpoint(
    db: Database,
    settings: LogSettings | None = None,
    *,
    allow_empty: bool = False,
    cosign: Cosigner | None = None,
) -> str | None:
    """Sign a checkpoint of the current size if the log grew; return the note, or None if unchanged.

    Before signing, the new tree is proved consistent with the stored latest checkpoint from the stored
    hashes, and the latest checkpoint is replaced by compare-and-swap, so two inconsistent checkpoints
    are never signed. ``cosign`` (the publisher's witnesses) is asked before the checkpoint becomes the
    latest one, so a receipt made from it already carries the witnesses' cosignatures. Without
    ``cosign``, the configured witnesses are asked (:class:`pollwatch.ledger.publisher.WitnessRound`).
    """
    with db.connect() as conn:  # a cheap read first: the publisher polls often
        peek = store.get_state(conn)
    if peek.size == peek.checkpoint_size and (peek.checkpoint or not allow_empty):
        return None
    settings = settings or load_settings()
    asked = None
    if cosign is None and settings.witnesses:
        from pollwatch.ledger.publisher import WitnessRound  # it imports this module

        cosign = asked = WitnessRound(db)
    with db.begin() as conn:
        # No append lock while the root is computed and signed: entries below a committed size never
        # change, and the compare-and-swap below refuses the note if another signer got there first.
        # (Taking the lock here stalled every intake transaction for the whole signing.)
        state = store.get_state(conn)
        if state.size == state.checkpoint_size and (state.checkpoint or not allow_empty):
            return None
        reader = DbHashes(conn)
        root = tree_root(state.size, reader)
        if state.checkpoint:
            _check_consistent(state.checkpoint, state.size, root, reader, settings.origin)
        bare = sign_note(Checkpoint(settings.origin, state.size, root).body(), [settings.signer])
        lines = cosign(bare, state.size, settings, reader) if cosign is not None else []
        note = add_signatures(bare, lines)
        if not store.swap_checkpoint(conn, old_size=state.checkpoint_size, new_size=state.size, note=note):
            raise ConflictError("another process replaced the latest checkpoint; retry")
        now = dt.datetime.now(dt.UTC)
        store.insert_checkpoint(conn, size=state.size, root=root, note=bare, at=now)
        for line in lines:
            store.insert_cosignature(conn, size=state.size, witness=line.name, line=line.line(), at=now)
    if asked is not None:
        asked.record()  # after the commit: a second writer inside it would conflict on SQLite
    notify_signed()
    return note


def notify_signed() -> None:
    """Wake the receipts waiting in this process: a checkpoint or a cosignature was stored."""
    with _signed:
        _signed.notify_all()


def _check_consistent(old_note: str, size: int, root: bytes, reader: DbHashes, origin: str) -> None:
    old = parse_checkpoint(parse_note(old_note).text)
    if old.origin != origin:
        raise StorageError(
            "refusing to sign: the stored checkpoint is from another origin",
            expected=origin,
            found=old.origin,
        )
    if size < old.size:
        raise StorageError(
            "refusing to sign a checkpoint smaller than the stored one",
            expected=f">= {old.size}",
            found=str(size),
        )
    if old.size == 0:
        return
    try:
        proof = consistency_proof(old.size, size, reader)
        verify_consistency(old.size, size, proof, old.root, root)
    except VerificationError as exc:
        raise StorageError(
            "refusing to sign a checkpoint inconsistent with the stored one",
            expected=f"the tree of size {size} extends the signed tree of size {old.size}",
            found=exc.message,
            remedy="the stored hashes were altered: restore the database from a consistent copy",
        ) from exc


def latest_checkpoint(
    db: Database, settings: LogSettings | None = None, *, may_sign: bool | None = None
) -> str:
    """Return the latest signed checkpoint note with its cosignatures, signing the first one if there is
    none yet and this process may sign (:func:`signing_allowed`)."""
    with db.connect() as conn:
        state = store.get_state(conn)
    if state.checkpoint:
        return state.checkpoint
    with signing_allowed(db, may_sign) as allowed, contextlib.suppress(ConflictError):
        if allowed:  # (a ConflictError: the publisher signed the first one at the same moment)
            sign_checkpoint(db, settings, allow_empty=True)
    with db.connect() as conn:
        note = store.get_state(conn).checkpoint
    if not note:
        raise NotFoundError(
            "no checkpoint is signed yet",
            remedy="the publisher signs the first one within a second of starting: is `pollwatch publish` "
            "(or a server with POLLWATCH_PUBLISHER=app) running?",
        )
    return note


def covered_size(db: Database) -> int:
    """The size of the latest signed checkpoint (0 before the first); never signs."""
    with db.connect() as conn:
        return store.get_state(conn).checkpoint_size


@contextlib.contextmanager
def signing_allowed(db: Database, may_sign: bool | None = None) -> Iterator[bool]:
    """Whether this process may sign a checkpoint now, outside the publisher's rounds.

    ``may_sign`` decides when given. Otherwise: never with ``POLLWATCH_PUBLISHER=off``; on SQLite yes
    (one file on one machine, the compare-and-swap fences every signer); on PostgreSQL only while this
    process holds the leader lock for the block, i.e. while no publisher leads.
    """
    if may_sign is not None:
        yield may_sign
        return
    from pollwatch.ledger.leader import leading, signs_on_request

    if signs_on_request(db):
        yield True
        return
    with leading(db) as leader:
        yield leader


def get_receipt(
    db: Database,
    index: int,
    *,
    wait_seconds: float = 2.0,
    settings: LogSettings | None = None,
    may_sign: bool | None = None,
) -> str:
    """Return a tlog-proof receipt for leaf ``index`` against a checkpoint that covers it.

    The entry's bytes travel in the receipt's ``extra`` line, so the receipt alone can be verified.
    Waits up to ``wait_seconds`` for the publisher, then signs a checkpoint itself if it may
    (:func:`signing_allowed`); refuses when still no checkpoint covers the entry.
    """
    deadline = time.monotonic() + wait_seconds
    tried = False
    while True:
        with db.connect() as conn:
            state = store.get_state(conn)
        if index < 0 or index >= state.size:
            raise NotFoundError(
                "no log entry with that index", expected=f"0 <= index < {state.size}", found=str(index)
            )
        receipt = get_receipts(db, [index]).get(index)
        if receipt is not None:
            return receipt
        if tried:
            raise StorageError(
                "no checkpoint covers the entry yet",
                found=f"leaf {index}, latest checkpoint of {state.checkpoint_size} entries",
                remedy="the publisher signs within a second: fetch the receipt again shortly",
            )
        if time.monotonic() >= deadline:
            # (a ConflictError: the publisher signed at the same moment, and its checkpoint covers it)
            with signing_allowed(db, may_sign) as allowed, contextlib.suppress(ConflictError):
                if allowed:
                    sign_checkpoint(db, settings)
            tried = True
        else:
            # Woken by a checkpoint signed in this process; the timeout covers other processes.
            with _signed:
                _signed.wait(timeout=min(0.05, max(deadline - time.monotonic(), 0.001)))


def get_receipts(db: Database, indices: Sequence[int]) -> dict[int, str]:
    """Receipts for every index a signed checkpoint covers (others are left out), in one read.

    What :func:`get_receipt` gives one by one, for the many submissions a new checkpoint covers at
    once: one connection, one read of every needed stored hash, one read of the entries.
    """
    with db.connect() as conn:
        state = store.get_state(conn)
        covered = sorted({i for i in indices if 0 <= i < state.checkpoint_size}) if state.checkpoint else []
        if not covered:
            return {}
        # The best checkpoint for an index is the largest cosigned one above it, else the latest:
        # the same for every index below that cosigned size.
        best = _best_checkpoint(conn, covered[0], state)
        latest = (state.checkpoint_size, state.checkpoint)
        chosen = {i: best if i < best[0] else latest for i in covered}
        reader = _prefetched(conn, [(i, size) for i, (size, _) in chosen.items()])
        entries = store.read_entries_at(conn, covered)
        return {
            i: format_receipt(i, inclusion_proof(i, size, reader), checkpoint=note, extra=entries[i])
            for i, (size, note) in chosen.items()
        }


def _prefetched(conn: Connection, proofs: Sequence[tuple[int, int]]) -> DbHashes:
    """A reader holding every stored hash the inclusion proofs of (index, size) pairs need.

    Which hashes a proof reads depends only on the index and the size, so a first pass with a
    recording reader finds them all; one query then fetches them.
    """
    recorder = _Recorder()
    for index, size in proofs:
        inclusion_proof(index, size, recorder)
    reader = DbHashes(conn)
    reader.read_hashes(sorted(recorder.wanted))
    return reader


class _Recorder:
    """A HashReader that returns placeholder hashes and remembers what was asked for."""

    def __init__(self) -> None:
        self.wanted: set[int] = set()

    def read_hashes(self, indexes: Sequence[int]) -> list[bytes]:
        self.wanted.update(indexes)
        return [bytes(HASH_SIZE)] * len(indexes)


def _best_checkpoint(conn: Connection, index: int, state: store.LogState) -> tuple[int, str]:
    """The latest checkpoint covering ``index``, or, if that has no cosignature yet, the largest
    cosigned one covering it (a receipt with witnesses is worth more than a slightly newer one)."""
    if len(parse_note(state.checkpoint).signatures) > 1:
        return state.checkpoint_size, state.checkpoint
    size = store.largest_cosigned_size(conn, above=index)
    stored = store.get_checkpoint(conn, size) if size is not None else None
    if stored is None:
        return state.checkpoint_size, state.checkpoint
    return stored.size, _with_lines(stored.note, stored.cosignatures)


def _with_lines(note: str, lines: Sequence[str]) -> str:
    extra = parse_note(note.rstrip("\n") + "\n" + "".join(lines)).signatures
    return add_signatures(note, list(extra))


def get_inclusion_proof(conn: Connection, index: int, size: int) -> list[bytes]:
    """Return the inclusion proof of leaf ``index`` in the tree of ``size`` (<= the log size)."""
    _check_size(conn, size)
    return inclusion_proof(index, size, DbHashes(conn))


def get_consistency_proof(conn: Connection, first: int, second: int) -> list[bytes]:
    """Return the consistency proof between two tree sizes (<= the log size)."""
    _check_size(conn, second)
    return consistency_proof(first, second, DbHashes(conn))


def get_root(conn: Connection, size: int) -> bytes:
    _check_size(conn, size)
    return tree_root(size, DbHashes(conn))


def _check_size(conn: Connection, size: int) -> None:
    current = store.get_state(conn).size
    if not 0 <= size <= current:
        raise NotFoundError("the log is not that large", expected=f"size <= {current}", found=str(size))
