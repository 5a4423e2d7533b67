"""End to end: build a log of sheets, export a bundle, verify it offline; each tampering is caught by name."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from pathlib import Path

import pytest

from pollwatch.errors import InputError
from pollwatch.ledger import service
from pollwatch.ledger.bundle import export_bundle
from pollwatch.ledger.checkpoint import cosign
from pollwatch.ledger.note import ALG_COSIGNATURE, Signer, parse_note
from pollwatch.ledger.proof import verify_receipt
from pollwatch.ledger.records import canonical_bytes
from pollwatch.ledger.settings import LogSettings, WitnessEndpoint
from pollwatch.ledger.tiles import decode_entries, encode_entries
from pollwatch.ledger.verify import TrustAnchor, verify_bundle
from pollwatch.storage import Database
from pollwatch.storage import log as store
from tests.ledger.conftest import ORIGIN, make_sheet

PHOTOS = {f"p{i}": f"photo-bytes-{i}".encode() for i in range(4)}


class _Photos:
    def __init__(self) -> None:
        self.blobs = {hashlib.sha256(v).hexdigest(): v for v in PHOTOS.values()}

    def has(self, sha256: str) -> bool:
        return sha256 in self.blobs

    def get(self, sha256: str) -> bytes:
        return self.blobs[sha256]


@pytest.fixture
def bundle(tmp_path: Path, sqlite_db: Database, log_signer: Signer, witness_signer: Signer) -> Path:
    settings = LogSettings(log_signer, (WitnessEndpoint("http://unused.invalid", witness_signer.verifier()),))
    sheets = [
        make_sheet("1", {"1": 100, "2": 50}, photo=PHOTOS["p0"]),
        make_sheet("2", {"1": 30, "2": 70}, photo=PHOTOS["p1"]),
        make_sheet("1", {"1": 10, "2": 5}, constituency="NA-2", signed=False),
    ]
    with sqlite_db.begin() as conn:
        service.append(conn, sheets)
    service.sign_checkpoint(sqlite_db, settings)
    # A correction of station 2 (leaf 1) and 300 more stations, so the bundle has a full tile.
    more = [make_sheet("2", {"1": 31, "2": 70}, supersedes=1, photo=PHOTOS["p2"])]
    more += [make_sheet(str(100 + i), {"1": 1, "2": 2}, constituency="NA-3") for i in range(300)]
    with sqlite_db.begin() as conn:
        service.append(conn, more)
    note = service.sign_checkpoint(sqlite_db, settings)
    assert note is not None
    body = parse_note(note).text
    with sqlite_db.begin() as conn:  # what the publisher does after a witness answers
        line = cosign(body, witness_signer, timestamp=1790000000).line()
        store.insert_cosignature(conn, size=304, witness=witness_signer.name, line=line, at=_now())
    out = tmp_path / "bundle"
    export_bundle(sqlite_db, out, election="test-2026", photos=_Photos(), settings=settings)
    return out


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


LOG_KEY = Signer.from_seed(ORIGIN, hashlib.sha256(b"test-log").digest()).verifier()
WITNESS_KEY = Signer.from_seed(
    "witness.test/w1", hashlib.sha256(b"test-witness").digest(), alg=ALG_COSIGNATURE
).verifier()
ANCHOR = TrustAnchor(log_key=LOG_KEY, witnesses=(WITNESS_KEY,))


def _failed(root: Path, anchor: TrustAnchor = ANCHOR) -> set[str]:
    return {c.name for c in verify_bundle(root, anchor).failed()}


def test_exported_bundle_verifies(bundle: Path) -> None:
    report = verify_bundle(bundle, ANCHOR)
    assert report.ok, report.failed()
    tallies = json.loads((bundle / "tallies.json").read_text())["constituencies"]
    # Independent arithmetic: NA-1 = station 1 (100, 50) + corrected station 2 (31, 70).
    assert tallies["NA-1"] == {"stations": 2, "votes": {"1": 131, "2": 120}}
    assert tallies["NA-3"]["votes"] == {"1": 300, "2": 600}
    assert (bundle / "tile/0/000").stat().st_size == 8192
    assert (bundle / "tile/0/001.p/48").stat().st_size == 48 * 32
    assert sorted(p.name for p in (bundle / "checkpoints").iterdir()) == ["3", "304"]
    cosigned = {c.name: c.found for c in report.checks}["witness cosignatures"]
    assert cosigned.startswith("2 valid")  # on checkpoints/304 and on the latest checkpoint file


def test_tampered_entry_is_caught(bundle: Path) -> None:
    path = bundle / "tile/entries/000"
    data = path.read_bytes()
    path.write_bytes(data.replace(b'"1":100', b'"1":900', 1))
    assert {"tree matches checkpoints", "device signatures", "tiles match entries"} <= _failed(bundle)


def test_dropped_entry_is_caught(bundle: Path) -> None:
    path = bundle / "tile/entries/000"
    entries = decode_entries(path.read_bytes())
    path.write_bytes(encode_entries(entries[:5] + entries[6:]))
    assert {"entries complete", "tree matches checkpoints"} <= _failed(bundle)


def test_tampered_photo_is_caught(bundle: Path) -> None:
    photo = next((bundle / "photos").iterdir())
    photo.write_bytes(b"a different picture")
    assert _failed(bundle) == {"photos match hashes"}


def test_deleted_photo_is_caught(bundle: Path) -> None:
    next((bundle / "photos").iterdir()).unlink()
    assert _failed(bundle) == {"photos match hashes"}


def test_tampered_checkpoint_is_caught(bundle: Path) -> None:
    path = bundle / "checkpoints/3"
    lines = path.read_text().split("\n")
    lines[1] = "4"
    path.write_text("\n".join(lines))
    assert "checkpoint signatures" in _failed(bundle)


def test_tampered_cosignature_is_caught(bundle: Path) -> None:
    path = bundle / "checkpoint"
    text = path.read_text()
    last = text.rstrip("\n").rsplit(" ", 1)
    path.write_text(last[0] + " " + last[1][:-6] + "AAAAA=" + "\n")
    assert "witness cosignatures" in _failed(bundle)


def test_edited_tallies_are_caught(bundle: Path) -> None:
    path = bundle / "tallies.json"
    data = json.loads(path.read_text())
    data["constituencies"]["NA-1"]["votes"]["1"] += 1
    path.write_text(json.dumps(data))
    assert _failed(bundle) == {"tallies recomputed"}


def test_export_refuses_a_non_empty_directory(
    bundle: Path, sqlite_db: Database, settings: LogSettings
) -> None:
    from pollwatch.errors import InputError

    with pytest.raises(InputError, match="not empty"):
        export_bundle(sqlite_db, bundle, settings=settings)


def test_receipt_verifies_and_a_tampered_receipt_fails(sqlite_db: Database, settings: LogSettings) -> None:
    from pollwatch.errors import VerificationError

    sheets = [make_sheet(str(i), {"1": i}) for i in range(9)]
    with sqlite_db.begin() as conn:
        service.append(conn, sheets)
    receipt = service.get_receipt(sqlite_db, 4, wait_seconds=0, settings=settings)
    key = settings.signer.verifier()
    assert verify_receipt(receipt, entry=canonical_bytes(sheets[4]), log_key=key).index == 4
    lines = receipt.split("\n")
    assert lines[1].startswith("extra ")
    assert lines[2] == "index 4"
    without_entry = "\n".join(lines[:1] + lines[2:])
    with pytest.raises(VerificationError, match="does not lead to the root"):
        verify_receipt(without_entry, entry=canonical_bytes(sheets[5]), log_key=key)
    lines[3] = "A" * 43 + "="  # the first proof hash
    with pytest.raises(VerificationError, match="does not lead to the root"):
        verify_receipt("\n".join(lines), entry=None, log_key=key)
    forged = receipt.replace("\n9\n", "\n8\n")
    with pytest.raises(VerificationError, match="signature is invalid"):
        verify_receipt(forged, entry=None, log_key=key)


def test_bundle_exported_with_hashes_only_has_no_photos_and_verifies(
    bundle: Path, tmp_path: Path, sqlite_db: Database, settings: LogSettings
) -> None:
    out = tmp_path / "hashes-only"
    summary = export_bundle(sqlite_db, out, election="test-2026", settings=settings)
    assert (summary.photos, summary.photo_hashes) == (0, 3)
    assert not (out / "photos").exists()
    assert verify_bundle(out, ANCHOR).ok


def test_receipt_carries_its_entry_and_verifies_alone(sqlite_db: Database, settings: LogSettings) -> None:
    from pollwatch.errors import VerificationError

    sheets = [make_sheet(str(i), {"1": i}) for i in range(3)]
    with sqlite_db.begin() as conn:
        service.append(conn, sheets)
    receipt = service.get_receipt(sqlite_db, 1, wait_seconds=0, settings=settings)
    key = settings.signer.verifier()
    assert verify_receipt(receipt, entry=None, log_key=key).index == 1
    with pytest.raises(VerificationError, match="differs from the entry carried"):
        verify_receipt(receipt, entry=canonical_bytes(sheets[2]), log_key=key)
    lines = receipt.split("\n")
    lines[1] = "extra " + base64.b64encode(canonical_bytes(sheets[2])).decode()
    with pytest.raises(VerificationError, match="does not lead to the root"):
        verify_receipt("\n".join(lines), entry=None, log_key=key)


def _forged(tmp_path: Path) -> Path:
    """A log rebuilt under another key with the same origin, re-signed, with no witnesses."""
    forger = Signer.from_seed(ORIGIN, hashlib.sha256(b"forger").digest())
    db = Database(f"sqlite:///{tmp_path / 'forged.db'}")
    db.upgrade()
    with db.begin() as conn:
        service.append(conn, [make_sheet("1", {"1": 1, "2": 900})])
    out = tmp_path / "forged"
    export_bundle(db, out, settings=LogSettings(forger))
    return out


def test_forged_bundle_is_refused_when_the_real_key_is_given(tmp_path: Path) -> None:
    forged = _forged(tmp_path)
    report = verify_bundle(forged, ANCHOR)
    assert report.checks[0].name == "trust anchor"
    assert "ships ANOTHER key" in report.checks[0].found
    assert {"trust anchor", "checkpoint signatures", "witness quorum"} <= _failed(forged)
    # The same bundle judged only by itself agrees with itself: that is all it can show.
    alone = verify_bundle(forged, TrustAnchor(trust_shipped_key=True))
    assert alone.ok
    assert "only shows that the copy agrees with itself" in alone.checks[0].found
    assert _failed(forged, TrustAnchor()) == {"trust anchor"}
    assert "witnesses: no witness keys given or listed" in alone.absent[0]


def test_report_names_the_trusted_keys_by_fingerprint(bundle: Path) -> None:
    found = verify_bundle(bundle, ANCHOR).checks[0].found
    assert found.startswith(f"log key given: {ORIGIN} SHA256:")
    assert LOG_KEY.fingerprint in found
    assert WITNESS_KEY.fingerprint in found
    assert LOG_KEY.fingerprint != WITNESS_KEY.fingerprint


def test_photo_deleted_with_its_manifest_line_is_reported_absent(bundle: Path) -> None:
    manifest = json.loads((bundle / "manifest.json").read_text())
    sha = manifest["photos"].pop(0)
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    (bundle / "photos" / sha).unlink()
    report = verify_bundle(bundle, ANCHOR)
    assert f"photos/{sha}" in report.absent
    assert not report.complete
    assert verify_bundle(bundle, ANCHOR).ok  # nothing false is claimed, but the gap is named


def test_deleted_checkpoint_file_is_caught_by_name(bundle: Path) -> None:
    (bundle / "checkpoints" / "3").unlink()
    report = verify_bundle(bundle, ANCHOR)
    assert _failed(bundle) == {"checkpoint files"}
    assert "checkpoints/3" in report.absent


def test_deleted_cosignatures_fail_the_quorum_and_are_named(bundle: Path) -> None:
    for path in [bundle / "checkpoint", bundle / "checkpoints" / "304"]:
        note = parse_note(path.read_text())
        path.write_text(note.text + "\n" + note.signatures[0].line())  # the log's signature only
    report = verify_bundle(bundle, ANCHOR)
    assert _failed(bundle) == {"witness quorum"}
    assert "checkpoint: cosignature of witness.test/w1" in report.absent
    quorum_zero = TrustAnchor(log_key=LOG_KEY, witnesses=(WITNESS_KEY,), quorum=0)
    assert verify_bundle(bundle, quorum_zero).ok
    with pytest.raises(InputError, match="quorum"):
        TrustAnchor(log_key=LOG_KEY, witnesses=(WITNESS_KEY,), quorum=2)


def test_every_carried_checkpoint_rebuilds_from_its_tiles(
    tmp_path: Path, sqlite_db: Database, settings: LogSettings
) -> None:
    for count in (3, 7):  # checkpoints at 3 and 10: both partial tiles of tile/0/000 are needed
        with sqlite_db.begin() as conn:
            service.append(conn, [make_sheet(f"{count}-{i}", {"1": i}) for i in range(count)])
        service.sign_checkpoint(sqlite_db, settings)
    out = tmp_path / "b"
    export_bundle(sqlite_db, out, settings=settings)
    assert (out / "tile/0/000.p/3").exists()
    anchor = TrustAnchor(log_key=settings.signer.verifier())
    checks = {c.name: c for c in verify_bundle(out, anchor).checks}
    assert checks["checkpoints from tiles"].passed
    (out / "tile/0/000.p/3").unlink()
    failed = {c.name: c for c in verify_bundle(out, anchor).failed()}
    assert set(failed) == {"checkpoints from tiles"}
    assert failed["checkpoints from tiles"].found.startswith("3: ")
