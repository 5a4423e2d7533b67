"""The log as a service: append in the caller's transaction, sign checkpoints, receipts, the publisher.

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

import datetime as dt
import logging
import threading
import time
from collections.abc import Sequence

from sqlalchemy import Connection

from pollwatch.errors import ConflictError, NotFoundError, StorageError, VerificationError
from pollwatch.ledger import witness as _witness
from pollwatch.ledger.checkpoint import Checkpoint, add_signatures, parse_checkpoint, verify_cosignature
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
from pollwatch.ledger.settings import LogSettings, WitnessEndpoint, load_settings
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


def sign_checkpoint(
    db: Database, settings: LogSettings | None = None, *, allow_empty: bool = False
) -> str | None:
    """Sign a checkpoint of the current size if the log grew; return the note, or None if unchanged.

    Before signing, the new tree is proved consistent with the stored latest checkpoint from the stored
    hashes, and the latest checkpoint is replaced by compare-and-swap, so two inconsistent checkpoints
    are never signed.
    """
    with db.connect() as conn:  # a cheap read first: the publisher polls often
        peek = store.get_state(conn)
    if peek.size == peek.checkpoint_size and (peek.checkpoint or not allow_empty):
        return None
    settings = settings or load_settings()
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
        note = sign_note(Checkpoint(settings.origin, state.size, root).body(), [settings.signer])
        if not store.swap_checkpoint(conn, old_size=state.checkpoint_size, new_size=state.size, note=note):
            raise ConflictError("another process replaced the latest checkpoint; retry")
        store.insert_checkpoint(conn, size=state.size, root=root, note=note, at=dt.datetime.now(dt.UTC))
    with _signed:
        _signed.notify_all()
    return note


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


def latest_checkpoint(db: Database, settings: LogSettings | None = None) -> str:
    """Return the latest signed checkpoint note with its cosignatures (signing the first one if needed)."""
    with db.connect() as conn:
        state = store.get_state(conn)
    if state.checkpoint:
        return state.checkpoint
    sign_checkpoint(db, settings, allow_empty=True)
    with db.connect() as conn:
        return store.get_state(conn).checkpoint


def get_receipt(
    db: Database, index: int, *, wait_seconds: float = 2.0, settings: LogSettings | None = None
) -> str:
    """Return a tlog-proof receipt for leaf ``index`` against a checkpoint that covers it.

    The entry's bytes travel in the receipt's ``extra`` line, so the receipt alone can be verified.
    Waits up to ``wait_seconds`` for the publisher, then signs a checkpoint itself.
    """
    deadline = time.monotonic() + wait_seconds
    signed = False
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
        if signed:
            raise StorageError("no checkpoint covers the entry after signing one")
        if time.monotonic() >= deadline:
            sign_checkpoint(db, settings)
            signed = True
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


def collect_cosignatures(
    db: Database, settings: LogSettings, *, seen: dict[str, int] | None = None
) -> list[str]:
    """Push the latest checkpoint to every configured witness and attach the cosignatures they return.

    ``seen`` remembers the size each witness last cosigned (to build the consistency proof).
    Returns the names of the witnesses that cosigned.
    """
    seen = seen if seen is not None else {}
    with db.connect() as conn:
        state = store.get_state(conn)
    if not state.checkpoint or not settings.witnesses:
        return []
    body = parse_note(state.checkpoint).text
    lines: list[NoteSignature] = []
    for endpoint in settings.witnesses:
        line = _push_one(db, endpoint, state.checkpoint, state.checkpoint_size, seen, settings)
        if line is not None:
            lines.append(line)
    if not lines:
        return []
    now = dt.datetime.now(dt.UTC)
    with db.begin() as conn:
        for line in lines:
            store.insert_cosignature(
                conn, size=state.checkpoint_size, witness=line.name, line=line.line(), at=now
            )
        current = store.get_state(conn, lock=True)
        if current.checkpoint_size == state.checkpoint_size and parse_note(current.checkpoint).text == body:
            store.swap_checkpoint(
                conn,
                old_size=state.checkpoint_size,
                new_size=state.checkpoint_size,
                note=add_signatures(current.checkpoint, lines),
            )
    return [line.name for line in lines]


def _push_one(
    db: Database,
    endpoint: WitnessEndpoint,
    note: str,
    size: int,
    seen: dict[str, int],
    settings: LogSettings,
) -> NoteSignature | None:
    old = seen.get(endpoint.url, 0)
    for _attempt in range(2):
        proof = _proof_for_witness(db, old, size)
        try:
            result = _witness.push_checkpoint(
                endpoint.url, old_size=old, proof=proof, note=note, timeout=settings.witness_timeout
            )
        except _witness.WitnessConflict as conflict:
            old = conflict.size
            continue
        except Exception as exc:  # a witness being down must not stop the log
            _log.warning("witness %s did not cosign: %s", endpoint.url, exc)
            return None
        for line in result:
            if line.name == endpoint.key.name and line.key_id == endpoint.key.key_id:
                verify_cosignature(add_signatures(note, [line]), endpoint.key)
                seen[endpoint.url] = size
                return line
        _log.warning("witness %s answered without its cosignature", endpoint.url)
        return None
    return None


def _proof_for_witness(db: Database, old: int, size: int) -> list[bytes]:
    if old == 0 or old >= size:
        return []
    with db.connect() as conn:
        return consistency_proof(old, size, DbHashes(conn))


class Publisher:
    """Background thread: signs a checkpoint soon after the log grows and asks witnesses to cosign it.

    ``interval`` (default 0.25 s) bounds the delay between an accepted entry and a signed checkpoint.
    """

    def __init__(self, db: Database, settings: LogSettings | None = None, *, interval: float = 0.25) -> None:
        self.db = db
        self._settings = settings
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._seen: dict[str, int] = {}
        self._last_push = 0.0
        self.retry_seconds = 5.0

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="pollwatch-publisher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    @property
    def settings(self) -> LogSettings:
        """The log settings, loaded (and the log key created) only once there is something to sign."""
        if self._settings is None:
            self._settings = load_settings()
        return self._settings

    def publish_once(self) -> bool:
        """Sign and push one checkpoint if the log grew; return whether one was signed."""
        try:
            note = sign_checkpoint(self.db, self._settings)
        except ConflictError:  # another worker process published first: nothing to do this round
            return False
        if note is not None or self._retry_due():
            self._last_push = time.monotonic()
            collect_cosignatures(self.db, self.settings, seen=self._seen)
        return note is not None

    def _retry_due(self) -> bool:
        """Whether to ask again for missing cosignatures (a witness was down), at most every 5 s."""
        if self._settings is None or not self._settings.witnesses:
            return False
        if time.monotonic() - self._last_push < self.retry_seconds:
            return False
        latest = latest_checkpoint(self.db, self.settings)
        return len(parse_note(latest).signatures) < 1 + len(self.settings.witnesses)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.publish_once()
            except Exception:  # keep publishing; the next round retries
                _log.exception("checkpoint publication failed")
            self._stop.wait(self.interval)
