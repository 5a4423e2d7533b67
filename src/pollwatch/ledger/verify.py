"""Verify an offline bundle with no server: a report of named checks, each passed or failed.

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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pollwatch.errors import Error, VerificationError
from pollwatch.ledger.bundle import FORMAT, iter_bundle_entries
from pollwatch.ledger.checkpoint import Checkpoint, open_checkpoint, verify_cosignature
from pollwatch.ledger.merkle import MemoryHashes, consistency_proof, tree_root, verify_consistency
from pollwatch.ledger.note import Verifier, parse_note, parse_vkey
from pollwatch.ledger.records import LeafRecord, device_public_key, parse_leaf, signed_bytes
from pollwatch.ledger.tallies import compute_tallies
from pollwatch.ledger.tiles import ENTRIES, available_width, hash_tile, list_tiles


@dataclass(frozen=True)
class Check:
    """One named check: whether it passed, what was expected, what was found, and details."""

    name: str
    passed: bool
    expected: str = ""
    found: str = ""
    detail: str = ""


@dataclass(frozen=True)
class BundleReport:
    """Every check of a bundle; ``ok`` only if all passed."""

    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(c.passed for c in self.checks)

    def failed(self) -> list[Check]:
        return [c for c in self.checks if not c.passed]


@dataclass
class _Bundle:
    root: Path
    manifest: dict[str, Any]
    log_key: Verifier
    witnesses: list[Verifier]
    checkpoints: dict[int, tuple[str, Checkpoint | None]]
    entries: list[bytes]
    tree: MemoryHashes
    size: int
    parsed: tuple[list[tuple[int, LeafRecord]], list[str]] | None = None


def verify_bundle(root: Path) -> BundleReport:
    """Run every check on the bundle at ``root`` (see docs/ledger.md for the list)."""
    try:
        bundle = _load(root)
    except (Error, OSError, ValueError) as exc:
        message = exc.message if isinstance(exc, Error) else str(exc)
        return BundleReport(
            (Check("bundle readable", False, "manifest.json, keys/log.vkey, checkpoint", message),)
        )
    checks = [Check("bundle readable", True, FORMAT, FORMAT)]
    steps: list[Callable[[_Bundle], list[Check]]] = [
        _check_signatures,
        _check_cosignatures,
        _check_entries_complete,
        _check_tree,
        _check_consistency,
        _check_tiles,
        _check_entries,
        _check_device_signatures,
        _check_photos,
        _check_tallies,
    ]
    for step in steps:
        checks.extend(step(bundle))
    return BundleReport(tuple(checks))


def _load(root: Path) -> _Bundle:
    manifest = json.loads((root / "manifest.json").read_text())
    if manifest.get("format") != FORMAT:
        raise VerificationError("unknown bundle format", expected=FORMAT, found=str(manifest.get("format")))
    log_key = parse_vkey((root / "keys" / "log.vkey").read_text())
    witness_file = root / "keys" / "witnesses.vkeys"
    lines = witness_file.read_text().split() if witness_file.exists() else []
    witnesses = [parse_vkey(v) for v in lines]
    notes = {int(p.name): p.read_text() for p in (root / "checkpoints").glob("*") if p.name.isdigit()}
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
    return _Bundle(root, manifest, log_key, witnesses, checkpoints, entries, tree, size)


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
            f"{len(b.checkpoints)} checkpoints validly signed by {b.log_key.name}",
            "all valid" if not problems else "invalid: " + ", ".join(sorted(problems)),
        )
    ]


def _check_cosignatures(b: _Bundle) -> list[Check]:
    counted, problems = 0, []
    for key, (note, _) in sorted(b.checkpoints.items()):
        try:
            names = {s.name for s in parse_note(note).signatures}
        except Error:
            continue
        for witness in b.witnesses:
            if witness.name not in names:
                continue
            try:
                verify_cosignature(note, witness)
                counted += 1
            except Error as exc:
                problems.append(f"{'checkpoint' if key < 0 else key}: {witness.name}: {exc.message}")
    return [
        Check(
            "witness cosignatures",
            not problems,
            "every cosignature by a listed witness verifies",
            f"{counted} valid" + ("" if not problems else "; invalid: " + "; ".join(problems)),
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


def _check_device_signatures(b: _Bundle) -> list[Check]:
    records, _ = _records(b)
    checked, bad = 0, []
    for index, record in records:
        signature = record.body.get("signature")
        if record.type != "sheet" or not signature:
            continue
        checked += 1
        try:
            key = Verifier("device", 1, device_public_key(str(record.body.get("submitter_key"))))
            raw = base64.b64decode(str(signature), validate=True)
        except (Error, binascii.Error, ValueError):
            bad.append(str(index))
            continue
        if not key.verify(signed_bytes(record.body), raw):
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
    records, _ = _records(b)
    referenced = {str(r.body["photo_sha256"]) for _, r in records if r.body.get("photo_sha256")}
    folder = b.root / "photos"
    files = sorted(folder.iterdir()) if folder.exists() else []
    bad = [p.name for p in files if hashlib.sha256(p.read_bytes()).hexdigest() != p.name]
    stray = [p.name for p in files if p.name not in referenced]
    names = {p.name for p in files}
    missing = [str(sha) for sha in b.manifest.get("photos", []) if sha not in names]
    problems = [f"content differs: {n}" for n in bad] + [f"not referenced: {n}" for n in stray]
    problems += [f"listed in the manifest but missing: {n}" for n in missing]
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
