"""A static, mirrorable C2SP tlog-tiles tree: copy it to a directory, read it back, verify it.

A mirror is a directory any static web server can serve as the log's ``/log/``::

    checkpoint                  latest checkpoint with its cosignatures (always written last)
    checkpoints/<size>          every checkpoint this mirror has published, and ``checkpoints/index``
    tile/<L>/<N>[.p/<W>]        hash tiles
    tile/entries/<N>[.p/<W>]    entry bundles

:func:`mirror_log` brings a mirror up to date from a source (the database, the log's URL, another
mirror): it fetches only the tiles the mirror lacks, checks them and the new checkpoint against the log
key, the witnesses' cosignatures against the witness keys and quorum given, and the checkpoint the mirror
already holds, and only then publishes them, checkpoint last. Partial tiles are never deleted, so every
checkpoint the mirror ever published can still be rebuilt from its tiles.
:func:`pollwatch.ledger.mirror_verify.verify_mirror` checks a whole mirror;
:class:`pollwatch.ledger.tiles.TileHashes` over
:func:`dir_fetch` or :func:`url_fetch` gives the proof code of :mod:`pollwatch.ledger.merkle` any
mirror's hashes.

References
----------
C2SP tlog-tiles and tlog-checkpoint (https://c2sp.org/tlog-tiles) @5ba5ee8; RFC 9162 §2.1.1 (MTH),
§2.1.4 (consistency); R. Cox, "Transparent Logs for Skeptical Clients" (2019), "Tiling a log".
"""

from __future__ import annotations

import base64
import fcntl
import os
import shutil
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pollwatch.errors import ConflictError, Error, InputError, NotFoundError, StorageError, VerificationError
from pollwatch.ledger import service
from pollwatch.ledger.checkpoint import Checkpoint, open_checkpoint
from pollwatch.ledger.merkle import (
    HASH_SIZE,
    consistency_proof,
    tree_root,
    verify_consistency,
)
from pollwatch.ledger.note import Note, Verifier, parse_note
from pollwatch.ledger.settings import LogSettings
from pollwatch.ledger.tiles import (
    ENTRIES,
    TILE_WIDTH,
    Fetch,
    TileHashes,
    TileRef,
    TileStore,
    check_tile,
    fsync_dir,
    get_tile,
    list_tiles,
    parse_tile_path,
    write_atomic,
)
from pollwatch.ledger.trust import TrustAnchor, cosigners, describe
from pollwatch.storage import Database

STAGING = ".pollwatch-staging"
"""Where a mirror run keeps the tiles it fetched until they are verified (inside the mirror)."""

LOCK = ".pollwatch-lock"
"""Lock file held by a mirror run (inside the mirror)."""

_MAX_FILE = TILE_WIDTH * (2 + 0xFFFF)  # the largest entry bundle


def dir_fetch(root: Path) -> Fetch:
    """Read the tree from a directory (a mirror)."""

    def fetch(path: str) -> bytes:
        try:
            return (root / path).read_bytes()
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise NotFoundError("the mirror has no such file", found=str(root / path)) from exc

    return fetch


def url_fetch(base: str, *, timeout: float = 30.0) -> Fetch:
    """Read the tree over HTTP(S) from ``base`` (the log's ``.../log`` or any static mirror)."""
    if not base.startswith(("http://", "https://")):
        raise InputError("not an http(s) URL", expected="https://host/log", found=base[:100])
    prefix = base.rstrip("/")

    def fetch(path: str) -> bytes:
        url = f"{prefix}/{path}"
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                data: bytes = response.read(_MAX_FILE + 1)
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                raise NotFoundError("the log has no such file", found=url) from exc
            raise StorageError(
                "the log answered with an error", expected="200", found=f"{exc.code} {url}"
            ) from exc
        except OSError as exc:
            raise StorageError(
                "could not reach the log", found=f"{url}: {exc}", remedy="check the URL and try again"
            ) from exc
        if len(data) > _MAX_FILE:
            raise VerificationError(
                "a file of the log is too large", expected=f"<= {_MAX_FILE} bytes", found=url
            )
        return data

    return fetch


def db_fetch(db: Database, settings: LogSettings, *, cache: TileStore | None = None) -> Fetch:
    """Read the tree from the log's own database (what ``/log/`` serves)."""

    def fetch(path: str) -> bytes:
        if path == "checkpoint":
            return service.latest_checkpoint(db, settings).encode()
        with db.connect() as conn:
            return get_tile(conn, parse_tile_path(path), cache=cache)

    return fetch


def check_root(tree: TileHashes, checkpoint: Checkpoint) -> None:
    """Raise VerificationError unless the tiles' tree hashes to the checkpoint's root."""
    root = tree_root(checkpoint.size, tree)
    if root != checkpoint.root:
        raise VerificationError(
            "the tiles do not hash to the checkpoint's root",
            expected=base64.b64encode(checkpoint.root).decode(),
            found=base64.b64encode(root).decode(),
        )


def check_extends(old: Checkpoint, new: Checkpoint, tree: TileHashes) -> None:
    """Raise VerificationError unless ``new`` extends ``old`` (RFC 9162 §2.1.4, proof from the tiles)."""
    if old.size == 0:
        return
    try:
        proof = consistency_proof(old.size, new.size, tree)
        verify_consistency(old.size, new.size, proof, old.root, new.root)
    except VerificationError as exc:
        raise VerificationError(
            "the log's checkpoint does not extend the one this mirror holds (a split view)",
            expected=f"size {new.size} consistent with size {old.size}",
            found=exc.message,
            remedy="keep both checkpoints as evidence and tell the log's witnesses",
        ) from exc


@dataclass(frozen=True)
class MirrorSummary:
    """What a mirror run did: the size reached, the tiles written, the tiles kept."""

    path: Path
    size: int
    written: tuple[str, ...]
    kept: int
    checkpoint_written: bool
    cosigned_by: tuple[str, ...] = ()


def mirror_log(
    fetch: Fetch,
    out: Path,
    *,
    log_key: Verifier,
    witnesses: Sequence[Verifier] = (),
    quorum: int | None = None,
) -> MirrorSummary:
    """Bring the mirror at ``out`` up to the source's latest checkpoint.

    1. open the source's checkpoint with ``log_key``; 2. refuse a mirror of another log or of a larger
    tree; 3. stage (in ``out/.pollwatch-staging``) every tile the mirror lacks; 4. check that the tiles
    hash to the checkpoint's root and that every new tile fits the tree; 5. check that the checkpoint
    extends the mirror's previous one; 6. move the staged tiles into place and fsync; 7. write the
    checkpoint, so a reader never sees a checkpoint whose tiles are missing. Nothing is published when
    a check fails. With ``witnesses``, step 1 also requires ``quorum`` (default all) valid cosignatures
    and keeps only the cosignature lines that verify.
    """
    note = note_text(fetch("checkpoint"))
    checkpoint = open_checkpoint(note, log_key)
    note, cosigned = _checked_cosignatures(note, log_key, TrustAnchor(log_key, tuple(witnesses), quorum))
    with _locked(out):
        previous = _previous_checkpoint(out, log_key, checkpoint)
        tiles = _StagedTiles(fetch, out)
        try:
            new, kept = _stage_and_verify(tiles, checkpoint, previous)
            tiles.publish(new)
            written = _write_checkpoint(out, note, checkpoint.size)
        finally:
            tiles.clear()
    return MirrorSummary(out, checkpoint.size, tuple(r.path for r in new), kept, written, cosigned)


def _checked_cosignatures(note: str, log_key: Verifier, anchor: TrustAnchor) -> tuple[str, tuple[str, ...]]:
    """Refuse a checkpoint with an invalid or too few cosignatures; drop lines of unknown signers.

    Without witness keys the lines are copied unchecked (there is nothing to check them against).
    """
    if not anchor.witnesses:
        return note, ()
    valid, invalid, absent = cosigners(note, anchor.witnesses)
    if invalid or len(valid) < anchor.need:
        raise VerificationError(
            "the log's checkpoint lacks the witness cosignatures required",
            expected=f"at least {anchor.need} valid of " + ", ".join(describe(w) for w in anchor.witnesses),
            found=f"{len(valid)} valid; invalid: {'; '.join(invalid) or 'none'}; absent: {', '.join(absent)}",
            remedy="mirror again once the witnesses have cosigned, or lower --quorum",
        )
    keep = {(log_key.name, log_key.key_id)} | {
        (w.name, w.key_id) for w in anchor.witnesses if w.name in valid
    }
    parsed = parse_note(note)
    lines = tuple(s for s in parsed.signatures if (s.name, s.key_id) in keep)
    return Note(parsed.text, lines).encode(), tuple(valid)


def _stage_and_verify(
    tiles: _StagedTiles, checkpoint: Checkpoint, previous: Checkpoint | None
) -> tuple[list[TileRef], int]:
    """Stage the tiles the mirror lacks and check them (steps 3-5); return them and the count kept."""
    tree = TileHashes(tiles.get, checkpoint.size)
    try:
        check_root(tree, checkpoint)
    except VerificationError:
        _explain_mismatch(tiles.fetch, checkpoint, previous)
        raise
    refs = list(list_tiles(checkpoint.size))
    new = [ref for ref in refs if not tiles.present(ref)]
    for ref in new:
        check_tile(ref, tiles.get(ref.path), tree)
    if previous is not None:
        check_extends(previous, checkpoint, tree)
    return new, len(refs) - len(new)


@contextmanager
def _locked(out: Path) -> Iterator[None]:
    """Hold the mirror's lock file: two runs never stage into, or publish to, one mirror at once."""
    out.mkdir(parents=True, exist_ok=True)
    with open(out / LOCK, "a") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise ConflictError(
                f"another mirror run is writing {out}", remedy="let it finish; the next run catches up"
            ) from exc
        yield  # closing the file releases the lock


def _explain_mismatch(fetch: Fetch, checkpoint: Checkpoint, previous: Checkpoint | None) -> None:
    """The mirror's tiles plus the new ones miss the root: a bad source, a split view, or local damage."""
    source = TileHashes(fetch, checkpoint.size)
    check_root(source, checkpoint)  # the source's own tiles are wrong
    if previous is not None:
        check_extends(previous, checkpoint, source)  # the log forked away from what the mirror holds
    raise VerificationError(
        "this mirror's own tiles are damaged: they and the source's tiles differ",
        remedy="run `pollwatch log verify-mirror` on it, delete the files it names, and mirror again",
    )


def _previous_checkpoint(out: Path, log_key: Verifier, checkpoint: Checkpoint) -> Checkpoint | None:
    path = out / "checkpoint"
    if not path.exists():
        if out.exists() and not {p.name for p in out.iterdir()} <= {"tile", "checkpoints", STAGING, LOCK}:
            raise InputError(
                f"{out} is not empty and holds no mirror", remedy="mirror into a new or empty directory"
            )
        return None
    try:
        old = open_checkpoint(path.read_text(), log_key)
    except (Error, UnicodeDecodeError) as exc:
        raise InputError(
            f"{path} is not a checkpoint of this log",
            expected=f"a checkpoint signed by {log_key.name}",
            found=exc.message if isinstance(exc, Error) else str(exc),
            remedy="mirror each log into its own directory",
        ) from exc
    if old.size > checkpoint.size:
        raise ConflictError(
            "the source is behind this mirror",
            expected=f"size >= {old.size}",
            found=str(checkpoint.size),
            remedy="the source may be a stale cache: try again later (a log never shrinks)",
        )
    return old


def note_text(data: bytes) -> str:
    try:
        return data.decode()
    except UnicodeDecodeError as exc:
        raise VerificationError("the checkpoint is not UTF-8 text", found=repr(data[:60])) from exc


def _write_checkpoint(out: Path, note: str, size: int) -> bool:
    """Keep the checkpoint in the history (``checkpoints/<size>`` and the index), then publish it."""
    path = out / "checkpoint"
    if path.exists() and path.read_bytes() == note.encode():
        return False
    history = out / "checkpoints"
    write_atomic(history / str(size), note.encode())
    sizes = sorted({*history_sizes(dir_fetch(out)), size})
    write_atomic(history / "index", "".join(f"{n}\n" for n in sizes).encode())
    fsync_dir(history)
    write_atomic(path, note.encode())
    fsync_dir(out)
    return True


def history_sizes(fetch: Fetch) -> list[int]:
    """The sizes in ``checkpoints/index`` (none for a mirror written before it existed)."""
    try:
        text = note_text(fetch("checkpoints/index"))
    except NotFoundError:
        return []
    return [int(line) for line in text.split() if line.isdigit() and len(line) < 20]


class _StagedTiles:
    """The mirror's tiles plus the ones fetched by this run, staged until they are verified."""

    def __init__(self, fetch: Fetch, out: Path) -> None:
        self.fetch = fetch
        self.out = out
        self.staging = out / STAGING
        shutil.rmtree(self.staging, ignore_errors=True)  # left by an interrupted run: unverified

    def present(self, ref: TileRef) -> bool:
        """Whether the mirror holds the tile (a hash tile only at its exact length)."""
        path = self.out / ref.path
        if ref.level == ENTRIES:
            return path.is_file()
        try:
            return path.stat().st_size == HASH_SIZE * ref.width
        except OSError:
            return False

    def get(self, path: str) -> bytes:
        ref = parse_tile_path(path)
        if self.present(ref):
            return (self.out / path).read_bytes()
        staged = self.staging / path
        if staged.exists():
            return staged.read_bytes()
        data = self.fetch(path)
        write_atomic(staged, data)
        return data

    def publish(self, refs: Iterable[TileRef]) -> None:
        """Move staged tiles into place (each rename atomic) and make them durable."""
        dirs: set[Path] = set()
        for ref in refs:
            target = self.out / ref.path
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self.staging / ref.path, target)
            dirs.update(p for p in [target.parent, *target.parent.parents] if self.out in [p, *p.parents])
        for directory in sorted(dirs, key=lambda p: len(p.parts), reverse=True):
            fsync_dir(directory)

    def clear(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)
