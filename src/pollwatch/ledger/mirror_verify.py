"""Verify a mirror (or the log itself) from its files alone: a report of named checks.

>>> from pathlib import Path
>>> from pollwatch.ledger.mirror import dir_fetch
>>> from pollwatch.ledger.note import Signer
>>> key = Signer.from_seed("example.org/log", bytes(32)).verifier()
>>> verify_mirror(dir_fetch(Path("no-such-mirror")), log_key=key).failed()[0].name
'checkpoint signature'

References
----------
C2SP tlog-tiles, tlog-checkpoint, tlog-cosignature @5ba5ee8; RFC 9162 §2.1.1, §2.1.4.
"""

from __future__ import annotations

from collections.abc import Sequence

from pollwatch.errors import Error, NotFoundError, VerificationError
from pollwatch.ledger.checkpoint import Checkpoint, open_checkpoint
from pollwatch.ledger.merkle import EMPTY_ROOT, append_entries, node_hash
from pollwatch.ledger.mirror import check_extends, check_root, history_sizes, note_text
from pollwatch.ledger.note import Verifier
from pollwatch.ledger.report import BundleReport, Check
from pollwatch.ledger.tiles import (
    ENTRIES,
    TILE_WIDTH,
    Fetch,
    TileHashes,
    check_tile,
    decode_entries,
    list_tiles,
)
from pollwatch.ledger.trust import TrustAnchor, anchor_check, cosigners, quorum_check


def verify_mirror(
    fetch: Fetch, *, log_key: Verifier, witnesses: Sequence[Verifier] = (), quorum: int | None = None
) -> BundleReport:
    """Check a whole mirror (or the log itself) from its files: a report of named checks.

    ``trust anchor``: the keys trusted, with fingerprints; ``checkpoint signature``; ``witness quorum``:
    ``quorum`` (default all) of ``witnesses`` validly cosigned the checkpoint; ``tiles present``: every
    tile of the checkpoint's tree can be read; ``tiles match the checkpoint``: the tiles hash to its root
    and each full tile to its hash above; ``entries match tiles``: each entry bundle's leaf hashes are its
    level-0 tile; ``tree matches checkpoint``: the root re-derived from the entries alone equals the
    checkpoint's root; ``earlier checkpoints``: every checkpoint in ``checkpoints/index`` is signed, is
    rebuilt from the tiles and is consistent with the latest.
    """
    anchor = TrustAnchor(log_key, tuple(witnesses), quorum)
    first = anchor_check(anchor, shipped=None)
    try:
        note = note_text(fetch("checkpoint"))
        checkpoint = open_checkpoint(note, log_key)
    except Error as exc:
        failed = Check("checkpoint signature", False, f"signed by {log_key.name}", exc.message)
        return BundleReport((first, failed))
    checks = [
        first,
        Check("checkpoint signature", True, f"signed by {log_key.name}", f"size {checkpoint.size}"),
    ]
    checks.append(quorum_check(note, anchor))
    tree = TileHashes(fetch, checkpoint.size)
    checks += _check_tree_files(fetch, tree, checkpoint)
    checks.append(_check_history(fetch, tree, checkpoint, log_key))
    _, _, absent = cosigners(note, anchor.witnesses)
    return BundleReport(tuple(checks), tuple(f"checkpoint: cosignature of {name}" for name in absent))


def _check_tree_files(fetch: Fetch, tree: TileHashes, checkpoint: Checkpoint) -> list[Check]:
    missing: list[str] = []
    bad_tiles: list[str] = []
    bad_entries: list[str] = []
    try:
        check_root(tree, checkpoint)
    except Error as exc:
        bad_tiles.append(f"root: {exc.message}")
    edge: list[bytes] = []
    count = 0
    for ref in list_tiles(checkpoint.size):
        try:
            data = fetch(ref.path)
        except NotFoundError:
            missing.append(ref.path)
            continue
        try:
            check_tile(ref, data, tree)
        except Error as exc:
            (bad_entries if ref.level == ENTRIES else bad_tiles).append(f"{ref.path}: {exc.message}")
        if ref.level == ENTRIES and ref.index * TILE_WIDTH == count:
            entries = _entries_or_none(data)
            append_entries(edge, count, entries)
            count += len(entries)
    root = _fold(edge)
    derived = [] if count == checkpoint.size and root == checkpoint.root else [f"{count} entries"]
    return [
        _check("tiles present", missing, "every tile of the tree", "all present", "missing"),
        _check("tiles match the checkpoint", bad_tiles, "hash to its root", "all match", "bad"),
        _check("entries match tiles", bad_entries, "leaf hashes = tile/0", "all match", "bad"),
        _check("tree matches checkpoint", derived, "root from the entries", "equal", "differs"),
    ]


def _check_history(fetch: Fetch, tree: TileHashes, latest: Checkpoint, log_key: Verifier) -> Check:
    """Every earlier checkpoint the mirror carries: signed, rebuilt from its own tiles, consistent."""
    sizes = [n for n in history_sizes(fetch) if n != latest.size]
    bad = []
    for size in sizes:
        try:
            old = open_checkpoint(note_text(fetch(f"checkpoints/{size}")), log_key)
            if old.size != size:
                raise VerificationError(
                    "the file's name is not its size", expected=str(size), found=str(old.size)
                )
            check_root(TileHashes(fetch, size), old)
            if old.size <= latest.size:
                check_extends(old, latest, tree)
        except Error as exc:
            bad.append(f"checkpoints/{size}: {exc.message}")
    found = f"{len(sizes)} checked" + ("" if not bad else "; bad: " + "; ".join(bad[:5]))
    return Check(
        "earlier checkpoints", not bad, "each rebuilt from the tiles and extended by the latest", found
    )


def _entries_or_none(data: bytes) -> list[bytes]:
    try:
        return decode_entries(data)
    except VerificationError:
        return []


def _fold(edge: list[bytes]) -> bytes:
    """MTH from the roots of the perfect subtrees, largest first."""
    if not edge:
        return EMPTY_ROOT
    root = edge[-1]
    for left in reversed(edge[:-1]):
        root = node_hash(left, root)
    return root


def _check(name: str, problems: list[str], expected: str, ok: str, label: str) -> Check:
    found = ok if not problems else f"{label}: " + "; ".join(problems[:5])
    return Check(name, not problems, expected, found)
