"""Verify an offline bundle with no server: a report of named checks, each passed or failed.

The first check says which keys were trusted (:mod:`pollwatch.ledger.trust`): the log key and witness
keys the verifier already holds, or, only when asked, the key the bundle ships. The report also names
everything the bundle does not carry (:attr:`BundleReport.absent`).

>>> report = BundleReport((Check("entries complete", True, "3", "3"),))
>>> report.ok
True

References
----------
RFC 9162 §2.1 (tree re-derivation, §2.1.4.2 consistency); C2SP signed-note, tlog-checkpoint,
tlog-cosignature, tlog-tiles @5ba5ee8; RFC 8785 (canonical entries).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pollwatch.errors import Error, NotFoundError, VerificationError
from pollwatch.ledger.bundle import FORMAT, iter_bundle_entries
from pollwatch.ledger.checkpoint import Checkpoint, open_checkpoint
from pollwatch.ledger.merkle import MemoryHashes, consistency_proof, tree_root, verify_consistency
from pollwatch.ledger.note import Verifier, parse_vkey
from pollwatch.ledger.records import LeafRecord, device_public_key, parse_leaf, signed_bytes
from pollwatch.ledger.report import BundleReport, Check
from pollwatch.ledger.tallies import compute_tallies
from pollwatch.ledger.tiles import ENTRIES, TileHashes, available_width, hash_tile, list_tiles
from pollwatch.ledger.trust import TrustAnchor, anchor_check, cosigners, quorum_check

__all__ = ["BundleReport", "Check", "TrustAnchor", "device_signature_valid", "verify_bundle"]


@dataclass
class _Bundle:
    root: Path
    manifest: dict[str, Any]
    anchor: TrustAnchor
    log_key: Verifier
    witnesses: list[Verifier]
    checkpoints: dict[int, tuple[str, Checkpoint | None]]
    entries: list[bytes]
    tree: MemoryHashes
    size: int
    parsed: tuple[list[tuple[int, LeafRecord]], list[str]] | None = None
    absent: list[str] = field(default_factory=list)


def verify_bundle(root: Path, anchor: TrustAnchor | None = None) -> BundleReport:
    """Run every check on the bundle at ``root`` against the keys of ``anchor`` (docs/ledger.md).

    Without a log key in ``anchor`` the first check, ``trust anchor``, fails unless
    ``anchor.trust_shipped_key``: the rest then only shows that the bundle agrees with itself.
    """
    anchor = anchor or TrustAnchor()
    shipped = _shipped_key(root)
    first = anchor_check(anchor, shipped=shipped)
    key = anchor.log_key or shipped
    try:
        if key is None:
            raise VerificationError("no log key", expected="keys/log.vkey or a log key given")
        bundle = _load(root, anchor, key)
    except (Error, OSError, ValueError) as exc:
        message = exc.message if isinstance(exc, Error) else str(exc)
        return BundleReport(
            (first, Check("bundle readable", False, "manifest.json, keys/log.vkey, checkpoint", message))
        )
    checks = [first, Check("bundle readable", True, FORMAT, FORMAT)]
    steps: list[Callable[[_Bundle], list[Check]]] = [
        _check_signatures,
        _check_checkpoint_files,
        _check_cosignatures,
        _check_quorum,
        _check_entries_complete,
        _check_tree,
        _check_consistency,
        _check_tiles,
        _check_checkpoint_tiles,
        _check_entries,
        _check_device_signatures,
        _check_photos,
        _check_tallies,
    ]
    for step in steps:
        checks.extend(step(bundle))
    return BundleReport(tuple(checks), tuple(bundle.absent))


def _shipped_key(root: Path) -> Verifier | None:
    try:
        return parse_vkey((root / "keys" / "log.vkey").read_text())
    except (Error, OSError, ValueError):
        return None


def _load(root: Path, anchor: TrustAnchor, log_key: Verifier) -> _Bundle:
    manifest = json.loads((root / "manifest.json").read_text())
    if manifest.get("format") != FORMAT:
        raise VerificationError("unknown bundle format", expected=FORMAT, found=str(manifest.get("format")))
    witness_file = root / "keys" / "witnesses.vkeys"
    lines = witness_file.read_text().split() if witness_file.exists() else []
    # Trusted witness keys replace the bundle's own list; the bundle's are used only when none are given.
    witnesses = list(anchor.witnesses) or [parse_vkey(v) for v in lines]
    notes = {int(p.name): p.read_text() for p in (root / "checkpoints").glob("*") if _decimal(p.name)}
    notes[-1] = (root / "checkpoint").read_text()
    checkpoints: dict[int, tuple[str, Checkpoint | None]] = {}
    for key, note in notes.items():
        try:
            checkpoints[key] = (note, open_checkpoint(note, log_key, origin=manifest.get("origin")))
        except Error:
            checkpoints[key] = (note, None)
    size = int(manifest.get("size", 0))
    entries = list(iter_bundle_entries(root, size))
    tree = MemoryHashes()
    tree.extend_entries(entries)
    return _Bundle(root, manifest, anchor, log_key, witnesses, checkpoints, entries, tree, size)


def _decimal(name: str) -> bool:
    return name.isdigit() and name.isascii() and (name == "0" or not name.startswith("0")) and len(name) < 20


def _check_signatures(b: _Bundle) -> list[Check]:
    bad = [
        ("checkpoint" if k < 0 else f"checkpoints/{k}") for k, (_, c) in b.checkpoints.items() if c is None
    ]
    wrong_size = [f"checkpoints/{k}" for k, (_, c) in b.checkpoints.items() if c and k >= 0 and c.size != k]
    latest = b.checkpoints[-1][1]
    problems = bad + wrong_size
    if latest is not None and latest.size != b.size:
        problems.append(f"checkpoint size {latest.size} != manifest size {b.size}")
    return [
        Check(
            "checkpoint signatures",
            not problems,
            f"{len(b.checkpoints)} checkpoints validly signed by {b.log_key.name} {b.log_key.fingerprint}",
            "all valid" if not problems else "invalid: " + ", ".join(sorted(problems)),
        )
    ]


def _check_cosignatures(b: _Bundle) -> list[Check]:
    """Every cosignature by a known witness verifies; the missing ones are named in ``absent``."""
    counted, problems = 0, []
    for key, (note, _) in sorted(b.checkpoints.items()):
        where = "checkpoint" if key < 0 else f"checkpoints/{key}"
        valid, invalid, absent = cosigners(note, b.witnesses)
        counted += len(valid)
        problems += [f"{where}: {reason}" for reason in invalid]
        b.absent += [f"{where}: cosignature of {name}" for name in absent]
    if not b.witnesses:
        b.absent.append("witnesses: no witness keys given or listed, so no cosignature can be checked")
    source = "given" if b.anchor.witnesses else "listed in the bundle (not trusted)"
    return [
        Check(
            "witness cosignatures",
            not problems,
            f"every cosignature by a witness {source} verifies",
            f"{counted} valid" + ("" if not problems else "; invalid: " + "; ".join(problems)),
        )
    ]


def _check_quorum(b: _Bundle) -> list[Check]:
    return [quorum_check(b.checkpoints[-1][0], b.anchor)]


def _check_checkpoint_files(b: _Bundle) -> list[Check]:
    """Every checkpoint the manifest lists is carried (a deleted file is caught, by name)."""
    listed = [int(n) for n in b.manifest.get("checkpoints", [])]
    carried = sorted(k for k in b.checkpoints if k >= 0)
    missing = [f"checkpoints/{n}" for n in listed if n not in b.checkpoints]
    b.absent += missing
    return [
        Check(
            "checkpoint files",
            not missing,
            "every checkpoint listed in manifest.json",
            f"{len(carried)} carried (sizes {', '.join(map(str, carried)) or 'none'})"
            + ("" if not missing else "; missing: " + ", ".join(missing)),
        )
    ]


def _check_checkpoint_tiles(b: _Bundle) -> list[Check]:
    """Each carried checkpoint's root re-derived from the tiles alone (full tiles plus its partial ones)."""

    def fetch(path: str) -> bytes:
        try:
            return (b.root / path).read_bytes()
        except OSError as exc:
            raise NotFoundError("the bundle has no such tile", found=path) from exc

    bad = []
    for checkpoint in {c.size: c for _, c in b.checkpoints.values() if c is not None}.values():
        try:
            if tree_root(checkpoint.size, TileHashes(fetch, checkpoint.size)) != checkpoint.root:
                bad.append(f"{checkpoint.size}: root differs")
        except Error as exc:
            found = exc.problems[0].found if exc.problems else ""
            bad.append(f"{checkpoint.size}: {exc.message} {found}".strip())
    return [
        Check(
            "checkpoints from tiles",
            not bad,
            "every carried checkpoint's root from the hash tiles of its size",
            "all equal" if not bad else "; ".join(sorted(bad)[:5]),
        )
    ]


def _check_entries_complete(b: _Bundle) -> list[Check]:
    return [Check("entries complete", len(b.entries) == b.size, str(b.size), str(len(b.entries)))]


def _check_tree(b: _Bundle) -> list[Check]:
    mismatched = []
    for _, checkpoint in b.checkpoints.values():
        if checkpoint is None:
            continue
        if checkpoint.size > b.tree.size or tree_root(checkpoint.size, b.tree) != checkpoint.root:
            mismatched.append(str(checkpoint.size))
    return [
        Check(
            "tree matches checkpoints",
            not mismatched,
            "the root re-derived from the entries equals every checkpoint's root",
            "all equal" if not mismatched else "differs at sizes " + ", ".join(sorted(set(mismatched))),
        )
    ]


def _check_consistency(b: _Bundle) -> list[Check]:
    ordered = sorted(
        {c.size: c for _, c in b.checkpoints.values() if c is not None}.values(), key=lambda c: c.size
    )
    problems = []
    for old, new in zip(ordered, ordered[1:], strict=False):
        if old.size == 0 or new.size > b.tree.size:
            continue
        try:
            proof = consistency_proof(old.size, new.size, b.tree)
            verify_consistency(old.size, new.size, proof, old.root, new.root)
        except VerificationError as exc:
            problems.append(f"{old.size}->{new.size}: {exc.message}")
    return [
        Check(
            "checkpoint consistency",
            not problems,
            "each checkpoint extends the previous one",
            f"{max(len(ordered) - 1, 0)} steps" + ("" if not problems else "; failed " + "; ".join(problems)),
        )
    ]


def _check_tiles(b: _Bundle) -> list[Check]:
    bad = []
    for ref in list_tiles(b.size):
        if ref.level == ENTRIES:
            continue
        path = b.root / ref.path
        computable = available_width(ref, b.tree.size) >= ref.width
        if not computable or not path.exists() or path.read_bytes() != hash_tile(ref, b.tree):
            bad.append(ref.path)
    return [
        Check(
            "tiles match entries",
            not bad,
            "every hash tile equals the one re-derived from the entries",
            "all equal" if not bad else "differ: " + ", ".join(bad[:5]),
        )
    ]


def _records(b: _Bundle) -> tuple[list[tuple[int, LeafRecord]], list[str]]:
    """Parse every entry once (memoised on the bundle): (index, record) pairs and the failures."""
    if b.parsed is None:
        out, bad = [], []
        for index, entry in enumerate(b.entries):
            try:
                out.append((index, parse_leaf(entry)))
            except Error as exc:
                bad.append(f"{index}: {exc.message}")
        b.parsed = (out, bad)
    return b.parsed


def _check_entries(b: _Bundle) -> list[Check]:
    _, bad = _records(b)
    return [
        Check(
            "entries canonical",
            not bad,
            "RFC 8785 records with no personal data",
            "all" if not bad else "; ".join(bad[:5]),
        )
    ]


def device_signature_valid(record: LeafRecord) -> bool | None:
    """Whether the submitting device's Ed25519 signature on a record verifies (None: it carries none).

    The key is the record's own ``submitter_key`` (``ed25519:<base64>``): the signature shows which device
    sent the record unchanged, not that the device belongs to anyone in particular.
    """
    signature = record.body.get("signature")
    if not signature:
        return None
    try:
        key = Verifier("device", 1, device_public_key(str(record.body.get("submitter_key"))))
        raw = base64.b64decode(str(signature), validate=True)
    except (Error, binascii.Error, ValueError):
        return False
    return key.verify(signed_bytes(record.body, record.type), raw)


def _check_device_signatures(b: _Bundle) -> list[Check]:
    records, _ = _records(b)
    checked, bad = 0, []
    for index, record in records:
        if record.type != "sheet" or not record.body.get("signature"):
            continue
        checked += 1
        if not device_signature_valid(record):
            bad.append(str(index))
    return [
        Check(
            "device signatures",
            not bad,
            "every signed sheet's Ed25519 signature verifies",
            f"{checked} checked" + ("" if not bad else "; invalid at leaves " + ", ".join(bad[:10])),
        )
    ]


def _check_photos(b: _Bundle) -> list[Check]:
    """Photo files hash to their names; which photos to expect comes from the log's leaves.

    The manifest's list is not signed, so the leaves decide: every referenced photo the bundle lacks is
    named in ``absent``, and one the manifest lists but lacks fails the check.
    """
    records, _ = _records(b)
    election = b.manifest.get("election")
    referenced = {
        str(r.body["photo_sha256"])
        for _, r in records
        if r.body.get("photo_sha256") and election in (None, r.body.get("election"))
    }
    folder = b.root / "photos"
    files = sorted(folder.iterdir()) if folder.exists() else []
    names = {p.name for p in files}
    bad = [p.name for p in files if hashlib.sha256(p.read_bytes()).hexdigest() != p.name]
    stray = [p.name for p in files if not any(p.name.startswith(sha) for sha in referenced)]
    missing = [str(sha) for sha in b.manifest.get("photos", []) if sha not in names]
    problems = [f"content differs: {n}" for n in bad] + [f"not referenced: {n}" for n in stray]
    problems += [f"listed in the manifest but missing: {n}" for n in missing]
    b.absent += [f"photos/{sha}" for sha in sorted(referenced) if not any(n.startswith(sha) for n in names)]
    return [
        Check(
            "photos match hashes",
            not problems,
            "every photo file hashes to its name and is referenced by an entry",
            f"{len(files)} files, {len(referenced)} referenced hashes"
            + ("" if not problems else "; " + "; ".join(problems[:5])),
        )
    ]


def _check_tallies(b: _Bundle) -> list[Check]:
    records, _ = _records(b)
    path = b.root / "tallies.json"
    published = json.loads(path.read_text()) if path.exists() else None
    recomputed = compute_tallies(records, election=b.manifest.get("election"))
    differing = []
    if published is not None:
        mine, theirs = recomputed["constituencies"], published.get("constituencies", {})
        differing = sorted(k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k))
    return [
        Check(
            "tallies recomputed",
            published is not None and not differing,
            "tallies.json equals the sum recomputed from the entries",
            "missing"
            if published is None
            else ("equal" if not differing else "differs for " + ", ".join(differing[:10])),
        )
    ]
