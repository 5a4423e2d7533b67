"""Verify an evidence pack with no server: a report of named checks, each naming what failed.

The checks re-use the ledger's verification code (tlog-proof receipts, checkpoint signatures, witness
quorum, RFC 9162 consistency, device signatures) and the pack's own figure code, so the numbers a reader
sees are recomputed from the proven records, never taken from the pack's word.

What a pack proves: every record it carries is in the log under the anchor checkpoint (cosigned by the
witnesses), unchanged since it was received; every figure it states follows from those records; every
file is the one the pack lists. What a pack cannot prove alone: that it carries *every* record of the
constituency (a record left out is absent, not false); check that against the log or an offline bundle
(``pollwatch verify``).

References
----------
C2SP tlog-proof, signed-note, tlog-cosignature @5ba5ee8; RFC 9162 §2.1.3.2, §2.1.4.2.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pollwatch.errors import Error, VerificationError
from pollwatch.ledger.checkpoint import Checkpoint, open_checkpoint
from pollwatch.ledger.merkle import verify_consistency
from pollwatch.ledger.note import Verifier, parse_vkey
from pollwatch.ledger.proof import verify_receipt
from pollwatch.ledger.records import LeafRecord, parse_leaf
from pollwatch.ledger.report import BundleReport, Check
from pollwatch.ledger.trust import TrustAnchor, anchor_check, cosigners, quorum_check
from pollwatch.ledger.verify import device_signature_valid
from pollwatch.packs.export import FORMAT, SUMS
from pollwatch.packs.figures import StationRef, compute_figures


@dataclass
class _Pack:
    root: Path
    anchor: TrustAnchor
    key: Verifier
    witnesses: list[Verifier]
    summary: dict[str, Any]
    custody: dict[str, Any]
    sums: dict[str, str]
    checkpoints: dict[int, tuple[str, Checkpoint | None]]
    records: dict[int, LeafRecord]


def verify_pack(root: Path, anchor: TrustAnchor | None = None) -> BundleReport:
    """Run every check on the pack at ``root`` against the keys of ``anchor`` (docs/packs.md)."""
    anchor = anchor or TrustAnchor()
    shipped = _shipped_key(root)
    first = anchor_check(anchor, shipped=shipped)
    key = anchor.log_key or shipped
    try:
        if key is None:
            raise VerificationError("no log key", expected="keys/log.vkey or --log-key")
        pack = _load(root, anchor, key)
    except (Error, OSError, ValueError, KeyError) as exc:
        message = exc.message if isinstance(exc, Error) else f"{type(exc).__name__}: {exc}"
        return BundleReport(
            (first, Check("pack readable", False, "manifest, summary, custody, SHA256SUMS", message))
        )
    checks = [first, Check("pack readable", True, FORMAT, FORMAT)]
    for step in (
        _check_files,
        _check_checkpoints,
        _check_quorum,
        _check_consistency,
        _check_inclusion,
        _check_device_signatures,
        _check_photos,
        _check_stations,
        _check_figures,
        _check_custody,
    ):
        checks.extend(step(pack))
    return BundleReport(tuple(checks))


def _shipped_key(root: Path) -> Verifier | None:
    try:
        return parse_vkey((root / "keys" / "log.vkey").read_text())
    except (Error, OSError, ValueError):
        return None


def _load(root: Path, anchor: TrustAnchor, key: Verifier) -> _Pack:
    manifest = json.loads((root / "manifest.json").read_text())
    if manifest.get("format") != FORMAT:
        raise VerificationError("unknown pack format", expected=FORMAT, found=str(manifest.get("format")))
    summary = json.loads((root / "summary.json").read_text())
    custody = json.loads((root / "custody.json").read_text())
    sums = {}
    for line in (root / SUMS).read_text().splitlines():
        digest, _, name = line.partition("  ")
        sums[name] = digest
    listed = (
        (root / "keys" / "witnesses.vkeys").read_text().split()
        if (root / "keys" / "witnesses.vkeys").exists()
        else []
    )
    witnesses = list(anchor.witnesses) or [parse_vkey(v) for v in listed]
    origin = summary["anchor"]["origin"]
    checkpoints: dict[int, tuple[str, Checkpoint | None]] = {}
    for path in sorted((root / "checkpoints").glob("*")):
        if not path.name.isdigit():
            continue
        note = path.read_text()
        try:
            checkpoints[int(path.name)] = (note, open_checkpoint(note, key, origin=origin))
        except Error:
            checkpoints[int(path.name)] = (note, None)
    records: dict[int, LeafRecord] = {}
    for item in custody["records"]:
        try:
            records[int(item["leaf"])] = parse_leaf((root / item["file"]).read_bytes())
        except (Error, OSError):
            continue
    return _Pack(root, anchor, key, witnesses, summary, custody, sums, checkpoints, records)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def _check_files(p: _Pack) -> list[Check]:
    present = _files(p.root) - {SUMS}
    missing = sorted(n for n in p.sums if n not in present)
    differ = sorted(n for n in p.sums if n in present and _sha(p.root / n) != p.sums[n])
    extra = sorted(present - set(p.sums))
    problems = [f"content differs: {n}" for n in differ] + [f"missing: {n}" for n in missing]
    problems += [f"not listed: {n}" for n in extra]
    return [
        Check(
            "file hashes",
            not problems,
            f"every file listed in {SUMS} present with its SHA-256, and no other",
            f"{len(p.sums)} listed" + ("" if not problems else "; " + "; ".join(problems[:20])),
        )
    ]


def _check_checkpoints(p: _Pack) -> list[Check]:
    anchor = p.summary["anchor"]
    bad = [f"checkpoints/{k}" for k, (_, c) in p.checkpoints.items() if c is None or c.size != k]
    held = p.checkpoints.get(int(anchor["size"]), ("", None))[1]
    if held is None:
        bad.append(f"anchor checkpoints/{anchor['size']} absent or invalid")
    elif base64.b64encode(held.root).decode() != anchor["root"]:
        bad.append(f"anchor root {anchor['root']} != checkpoints/{anchor['size']}")
    return [
        Check(
            "checkpoint signatures",
            not bad,
            f"{len(p.checkpoints)} checkpoints validly signed by {p.key.name} {p.key.fingerprint}",
            "all valid" if not bad else "invalid: " + ", ".join(sorted(bad)),
        )
    ]


def _check_quorum(p: _Pack) -> list[Check]:
    note = p.checkpoints.get(int(p.summary["anchor"]["size"]), ("", None))[0]
    problems = []
    for size, (text, _) in sorted(p.checkpoints.items()):
        _, invalid, _ = cosigners(text, p.witnesses)
        problems += [f"checkpoints/{size}: {reason}" for reason in invalid]
    checks = [quorum_check(note, p.anchor, what="anchor checkpoint")]
    checks.append(
        Check(
            "witness cosignatures",
            not problems,
            "every cosignature by a known witness on every carried checkpoint verifies",
            "all valid" if not problems else "; ".join(problems[:10]),
        )
    )
    return checks


def _check_consistency(p: _Pack) -> list[Check]:
    sizes = sorted(k for k, (_, c) in p.checkpoints.items() if c is not None)
    problems = []
    for a, b in zip(sizes, sizes[1:], strict=False):
        path = p.root / "consistency" / f"{a}-{b}"
        try:
            proof = [base64.b64decode(x, validate=True) for x in path.read_text().split()]
            old, new = p.checkpoints[a][1], p.checkpoints[b][1]
            if old is not None and new is not None:
                verify_consistency(a, b, proof, old.root, new.root)
        except (OSError, binascii.Error, ValueError) as exc:
            problems.append(f"consistency/{a}-{b}: {exc}")
        except Error as exc:
            problems.append(f"consistency/{a}-{b}: {exc.message}")
    return [
        Check(
            "checkpoint consistency",
            not problems,
            "each carried checkpoint extends the previous one (RFC 9162 consistency proofs)",
            f"{max(len(sizes) - 1, 0)} steps"
            + ("" if not problems else "; failed " + "; ".join(problems[:10])),
        )
    ]


def _check_inclusion(p: _Pack) -> list[Check]:
    anchor = p.summary["anchor"]
    bad = []
    for item in p.custody["records"]:
        where = f"{item['proof']} (station {item['station'] or '-'}, leaf {item['leaf']})"
        try:
            entry = (p.root / item["file"]).read_bytes()
            report = verify_receipt((p.root / item["proof"]).read_text(), entry=entry, log_key=p.key)
        except OSError as exc:
            bad.append(f"{where}: {exc.strerror}")
            continue
        except Error as exc:
            found = exc.problems[0].found if exc.problems else ""
            bad.append(f"{where}: {exc.message} {found}".strip())
            continue
        cp = report.checkpoint
        if report.index != int(item["leaf"]) or cp.size != int(anchor["size"]):
            bad.append(f"{where}: proves leaf {report.index} at size {cp.size}")
        elif base64.b64encode(cp.root).decode() != anchor["root"]:
            bad.append(f"{where}: against another root")
    return [
        Check(
            "inclusion proofs",
            not bad,
            f"every record proved in the anchor checkpoint of size {anchor['size']}",
            f"{len(p.custody['records'])} records" + ("" if not bad else "; failed: " + "; ".join(bad[:10])),
        )
    ]


def _check_device_signatures(p: _Pack) -> list[Check]:
    checked, bad = 0, []
    for leaf, record in sorted(p.records.items()):
        valid = device_signature_valid(record)
        if valid is None:
            continue
        checked += 1
        if not valid:
            bad.append(str(leaf))
    return [
        Check(
            "device signatures",
            not bad,
            "every signed record's Ed25519 device signature verifies",
            f"{checked} checked" + ("" if not bad else "; invalid at leaves " + ", ".join(bad[:10])),
        )
    ]


def _check_photos(p: _Pack) -> list[Check]:
    referenced = {str(r.body["photo_sha256"]) for r in p.records.values() if r.body.get("photo_sha256")}
    problems = []
    files = [
        n
        for n in _files(p.root)
        if n.startswith(("stations/", "constituency/")) and not n.endswith((".json", ".tlog-proof"))
    ]
    for name in sorted(files):
        stem = name.rsplit("/", 1)[-1].split(".")[0]
        if _sha(p.root / name) != stem:
            problems.append(f"content differs: {name}")
        elif stem not in referenced:
            problems.append(f"not referenced by a record: {name}")
    for item in p.custody["records"]:
        photo = item.get("photo") or {}
        if photo.get("file") and not (p.root / photo["file"]).exists():
            problems.append(f"missing: {photo['file']}")
    return [
        Check(
            "photos match records",
            not problems,
            "every photo hashes to its name and to the photo_sha256 of a proven record",
            f"{len(files)} photos" + ("" if not problems else "; " + "; ".join(problems[:10])),
        )
    ]


def _check_stations(p: _Pack) -> list[Check]:
    rows = p.summary["figures"]["stations"]
    scheme = p.summary["constituency"].get("stations")
    problems = []
    if isinstance(scheme, int) and len(rows) < scheme:
        problems.append(f"{len(rows)} station rows for a polling scheme of {scheme}")
    for row in rows:
        if not row["records"]:
            continue
        folder = p.root / row["folder"]
        if not folder.is_dir():
            problems.append(f"station {row['number']}: {row['folder']}/ missing")
            continue
        lost = [str(leaf) for leaf in row["records"] if not (folder / f"{leaf}.json").exists()]
        if lost or not (folder / "station.json").exists():
            problems.append(f"station {row['number']}: records {', '.join(lost) or 'station.json'} missing")
    listed = {int(i["leaf"]) for i in p.custody["records"]}
    carried = {int(n.rsplit("/", 1)[-1][:-5]) for n in _files(p.root) if _is_record(n)}
    if carried - listed:
        problems.append(
            "records outside the custody record: " + ", ".join(map(str, sorted(carried - listed)))
        )
    return [
        Check(
            "stations complete",
            not problems,
            "every station of the polling scheme listed, each with its folder and every record",
            f"{len(rows)} stations" + ("" if not problems else "; " + "; ".join(problems[:10])),
        )
    ]


def _is_record(name: str) -> bool:
    return (
        name.startswith(("stations/", "constituency/"))
        and name.endswith(".json")
        and name.rsplit("/", 1)[-1][:-5].isdigit()
    )


def _check_figures(p: _Pack) -> list[Check]:
    stated = p.summary["figures"]
    refs = [StationRef(r["serial"], r["number"]) for r in stated["stations"]]
    again = compute_figures(stated["constituency"], sorted(p.records.items()), refs)
    differ = []
    # Keyed by folder (the serial): printed station numbers repeat in real polling schemes.
    mine = {r["folder"]: r for r in again["stations"]}
    for row in stated["stations"]:
        ours = mine.get(row["folder"])
        if ours != row:
            fields = sorted(k for k in row if (ours or {}).get(k) != row[k])
            differ.append(f"station {row['number']} ({', '.join(fields)})")
        path = p.root / row["folder"] / "station.json"
        if path.exists() and json.loads(path.read_text()).get("figures") != ours:
            differ.append(f"{row['folder']}/station.json")
    differ += [k for k in stated if k != "stations" and stated[k] != again.get(k)]
    return [
        Check(
            "summary figures",
            not differ,
            "summary.json's figures equal those recomputed from the proven records",
            "equal" if not differ else "differ: " + "; ".join(differ[:10]),
        )
    ]


def _check_custody(p: _Pack) -> list[Check]:
    bad = []
    for item in p.custody["records"]:
        path = p.root / item["file"]
        record = p.records.get(int(item["leaf"]))
        if not path.exists() or record is None:
            bad.append(f"{item['file']}: unreadable")
        elif _sha(path) != item["sha256"] or record.body.get("received_at") != item["entered_log_at"]:
            bad.append(f"{item['file']}: custody entry does not match the record")
    return [
        Check(
            "custody record",
            not bad,
            "every custody entry names its record's SHA-256 and the time it entered the log",
            f"{len(p.custody['records'])} entries" + ("" if not bad else "; " + "; ".join(bad[:10])),
        )
    ]
