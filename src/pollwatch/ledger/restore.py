"""Restore a database from the published log: append a mirror's missing entries, rows and checkpoint.

Step (3) of the runbook's "Restore from the log" (docs/deployment.md): a database restored from a
backup holds a prefix of the log (size n); a mirror (``pollwatch log mirror``) holds every entry up to
its cosigned checkpoint (size N). :func:`restore_log`

1. opens the mirror's checkpoint with the log key the operator holds (never a key the mirror ships) and
   requires ``quorum`` valid cosignatures of the witness keys given;
2. checks that the mirror's tiles hash to that checkpoint's root and proves the database's tree of
   size n consistent with it (RFC 9162 §2.1.4): a split view is refused; a database ahead of the
   mirror (n > N) is left alone if its tree at N has the checkpoint's root, refused otherwise;
3. in ONE transaction holding the log's append lock, for each entry bundle from n on: checks the bundle
   against the tree's level-0 tile, re-creates each leaf's rows through its record kind
   (:func:`pollwatch.intake.restore.store_logged`) and appends the exact bytes, in order;
4. checks that the root the database now computes at N is the checkpoint's root, and stores the
   mirror's checkpoint (with the cosignatures that verified) as the latest, so the publisher's
   compare-and-swap continues from it; only then commits. Any failure rolls everything back.

Run twice, the second run finds n = N and appends nothing.

>>> from pollwatch.ledger.mirror import dir_fetch
>>> from pollwatch.ledger.note import Signer
>>> from pollwatch.storage import Database
>>> from pathlib import Path
>>> db = Database("sqlite://"); db.upgrade()
>>> key = Signer.from_seed("example.org/log", bytes(32)).verifier()
>>> restore_log(db, dir_fetch(Path("no-such-mirror")), log_key=key)
Traceback (most recent call last):
...
pollwatch.errors.NotFoundError: the mirror has no such file...

References
----------
RFC 9162 §2.1.1 (MTH), §2.1.4 (consistency); C2SP tlog-tiles, tlog-checkpoint, tlog-cosignature
@5ba5ee8; FiloSottile/sunlight README (compare-and-swap of the latest checkpoint).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection

from pollwatch.errors import ConflictError, Error, NotFoundError, VerificationError
from pollwatch.intake.kinds.base import Cache
from pollwatch.intake.restore import Restored, store_logged
from pollwatch.ledger import service
from pollwatch.ledger.checkpoint import Checkpoint, open_checkpoint
from pollwatch.ledger.merkle import consistency_proof, tree_root, verify_consistency
from pollwatch.ledger.mirror import check_root, note_text
from pollwatch.ledger.note import Note, Verifier, parse_note
from pollwatch.ledger.records import LeafRecord, parse_leaf
from pollwatch.ledger.tiles import ENTRIES, TILE_WIDTH, Fetch, TileHashes, TileRef, check_tile, decode_entries
from pollwatch.ledger.trust import TrustAnchor, cosigners, describe
from pollwatch.storage import Database
from pollwatch.storage import log as store


@dataclass(frozen=True)
class RestoreSummary:
    """What a restore did: the sizes before and after, what was re-created, the checkpoint stored.

    ``ahead``: the database already held more than the mirror (and agreed with it); nothing was done.
    ``unknown_devices``: device keys of signed records that no account of this database owns.
    """

    before: int
    size: int
    appended: int
    records: int
    log_only: int
    checkpoint_stored: bool
    cosigned_by: tuple[str, ...]
    unknown_devices: tuple[str, ...] = ()
    ahead: bool = False


def restore_log(
    db: Database,
    fetch: Fetch,
    *,
    log_key: Verifier,
    witnesses: Sequence[Verifier] = (),
    quorum: int | None = None,
) -> RestoreSummary:
    """Bring ``db``'s log up to the mirror's checkpoint (steps 1-4 of the module docstring)."""
    anchor = TrustAnchor(log_key, tuple(witnesses), quorum)
    note = note_text(fetch("checkpoint"))
    checkpoint = open_checkpoint(note, log_key)
    cosigned = _require_quorum(note, anchor)
    tree = TileHashes(fetch, checkpoint.size)
    check_root(tree, checkpoint)
    with db.begin() as conn:
        state = store.get_state(conn, lock=True)  # the append lock until commit: no writer interleaves
        _check_stored_checkpoint(conn, state, log_key)
        if state.size > checkpoint.size:
            _check_prefix(checkpoint.size, service.get_root(conn, checkpoint.size), checkpoint, tree)
            return RestoreSummary(state.size, state.size, 0, 0, 0, False, cosigned, ahead=True)
        before = state.size
        _check_prefix(before, service.get_root(conn, before), checkpoint, tree)
        restored = _append_missing(conn, fetch, tree, first=before, size=checkpoint.size)
        _check_rebuilt(conn, checkpoint)
        stored = _store_checkpoint(conn, state, note, checkpoint, anchor)
    return RestoreSummary(
        before, checkpoint.size, checkpoint.size - before, restored.records, restored.log_only, stored,
        cosigned, tuple(sorted(restored.unknown_devices)),
    )  # fmt: skip


def _require_quorum(note: str, anchor: TrustAnchor) -> tuple[str, ...]:
    valid, invalid, absent = cosigners(note, anchor.witnesses)
    if invalid or len(valid) < anchor.need:
        raise VerificationError(
            "the mirror's checkpoint lacks the witness cosignatures required; nothing was restored",
            expected=f"at least {anchor.need} valid of " + ", ".join(describe(w) for w in anchor.witnesses),
            found=f"{len(valid)} valid; invalid: {'; '.join(invalid) or 'none'}; absent: {', '.join(absent)}",
            remedy="restore from a mirror whose checkpoint the witnesses cosigned, or lower --quorum",
        )
    return tuple(valid)


def _check_stored_checkpoint(conn: Connection, state: store.LogState, log_key: Verifier) -> None:
    """The database's own checkpoint must be of this log, and its tree must still have that root."""
    if not state.checkpoint:
        return
    try:
        own = open_checkpoint(state.checkpoint, log_key)
    except Error as exc:
        raise VerificationError(
            "the database's latest checkpoint is not one of this log; nothing was restored",
            expected=f"a checkpoint signed by {describe(log_key)}",
            found=exc.message,
            remedy="check --log-key and --db: restore each log into its own database",
        ) from exc
    if own.size and service.get_root(conn, own.size) != own.root:
        raise VerificationError(
            "the database's stored hashes do not give its own checkpoint's root; nothing was restored",
            expected=f"the root of size {own.size} signed in the database's checkpoint",
            remedy="the restored copy is damaged: restore an older backup, or an empty database",
        )


def _check_prefix(size: int, root: bytes, checkpoint: Checkpoint, tree: TileHashes) -> None:
    """Prove the database's tree of ``size`` <= N leaves (root ``root``) a prefix of the mirror's."""
    if size == 0:
        return
    try:
        proof = consistency_proof(size, checkpoint.size, tree) if size < checkpoint.size else []
        verify_consistency(size, checkpoint.size, proof, root, checkpoint.root)
    except VerificationError as exc:
        raise VerificationError(
            "the database's log and the mirror's disagree (a split view); nothing was restored",
            expected=f"the database's tree of size {size} consistent with the checkpoint of size "
            f"{checkpoint.size}",
            found=exc.message,
            remedy="keep the database and the mirror as evidence and tell the log's witnesses",
        ) from exc


def _append_missing(conn: Connection, fetch: Fetch, tree: TileHashes, *, first: int, size: int) -> Restored:
    """Append entries first..size-1, bundle by bundle, each after its leaves' rows."""
    done, cache = Restored(), Cache()
    if first >= size:
        return done
    for tile in range(first // TILE_WIDTH, -(-size // TILE_WIDTH)):
        ref = TileRef(ENTRIES, tile, min(TILE_WIDTH, size - tile * TILE_WIDTH))
        data = _bundle(fetch, ref)
        check_tile(ref, data, tree)
        start = max(first, tile * TILE_WIDTH)
        entries = decode_entries(data)[start - tile * TILE_WIDTH :]
        leaves = [_leaf(index, entry) for index, entry in enumerate(entries, start=start)]
        done.add(store_logged(conn, list(enumerate(leaves, start=start)), cache))
        indices = service.append(conn, leaves, encoded=entries)
        if indices[:1] != [start]:
            raise ConflictError("another writer appended to the log during the restore; nothing was restored")
    return done


def _bundle(fetch: Fetch, ref: TileRef) -> bytes:
    """An entry bundle; a partial one may be gone once the full one exists (tlog-tiles)."""
    try:
        return fetch(ref.path)
    except NotFoundError:
        if ref.width == TILE_WIDTH:
            raise
        full = decode_entries(fetch(TileRef(ENTRIES, ref.index).path))[: ref.width]
        return b"".join(len(e).to_bytes(2, "big") + e for e in full)


def _leaf(index: int, entry: bytes) -> LeafRecord:
    try:
        return parse_leaf(entry)
    except VerificationError as exc:
        raise VerificationError(
            f"log entry {index} is not a valid record: {exc.message}", problems=exc.problems
        ) from exc


def _check_rebuilt(conn: Connection, checkpoint: Checkpoint) -> None:
    root = tree_root(checkpoint.size, service.DbHashes(conn))
    if root != checkpoint.root:
        raise VerificationError(
            "the rebuilt tree does not have the mirror's checkpoint root; nothing was restored",
            expected=checkpoint.root.hex(),
            found=root.hex(),
            remedy="the mirror's entry bundles are damaged: verify it (pollwatch log verify-mirror)",
        )


def _store_checkpoint(
    conn: Connection, state: store.LogState, note: str, checkpoint: Checkpoint, anchor: TrustAnchor
) -> bool:
    """Make the mirror's checkpoint the latest (by compare-and-swap), with the cosignatures that
    verified; False when the database already had it."""
    if state.checkpoint_size == checkpoint.size and state.checkpoint:
        return False
    parsed = parse_note(note)
    log_key = anchor.log_key
    assert log_key is not None
    signed = tuple(s for s in parsed.signatures if (s.name, s.key_id) == (log_key.name, log_key.key_id))
    valid = set(cosigners(note, anchor.witnesses)[0])
    lines = [
        s for s in parsed.signatures
        if any((s.name, s.key_id) == (w.name, w.key_id) and w.name in valid for w in anchor.witnesses)
    ]  # fmt: skip
    bare = Note(parsed.text, signed).encode()
    latest = Note(parsed.text, (*signed, *lines)).encode()
    if not store.swap_checkpoint(conn, old_size=state.checkpoint_size, new_size=checkpoint.size, note=latest):
        raise ConflictError("another process replaced the latest checkpoint during the restore; retry")
    now = dt.datetime.now(dt.UTC)
    if store.get_checkpoint(conn, checkpoint.size) is None:
        store.insert_checkpoint(conn, size=checkpoint.size, root=checkpoint.root, note=bare, at=now)
    for line in lines:
        store.insert_cosignature(conn, size=checkpoint.size, witness=line.name, line=line.line(), at=now)
    return True


__all__ = ["RestoreSummary", "restore_log"]
