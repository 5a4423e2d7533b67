"""`pollwatch log restore`: a database restored at an earlier size is brought up to the published mirror,
every record's rows re-created from its leaf, and refuses a tampered mirror, another key and a split view."""

from __future__ import annotations

import json
import shutil
import sqlite3
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from pollwatch.auth import AuthRole, Principal, register_device
from pollwatch.auth.devices import device_key_id, public_key_of
from pollwatch.auth.tokens import principal_for
from pollwatch.cli.main import app
from pollwatch.errors import VerificationError
from pollwatch.intake.format import SheetSubmission
from pollwatch.intake.kinds.case import CaseSubmission
from pollwatch.intake.kinds.case_update import CaseUpdateSubmission
from pollwatch.intake.kinds.checklist import ChecklistSubmission
from pollwatch.intake.kinds.incident import IncidentSubmission
from pollwatch.intake.kinds.incident_status import IncidentStatusSubmission
from pollwatch.intake.kinds.official import OfficialSubmission
from pollwatch.intake.kinds.photo import PhotoSubmission
from pollwatch.intake.kinds.shutdown import ShutdownSubmission
from pollwatch.intake.service import Accepted, Job, write_batch
from pollwatch.intake.testing import SLUG, create_tiny_election, sheet_payload, sign_payload
from pollwatch.ledger import service
from pollwatch.ledger.bundle import export_bundle
from pollwatch.ledger.checkpoint import cosign
from pollwatch.ledger.mirror import db_fetch, dir_fetch, mirror_log
from pollwatch.ledger.note import Signer, parse_note
from pollwatch.ledger.restore import restore_log
from pollwatch.ledger.settings import LogSettings
from pollwatch.ledger.tiles import decode_entries, encode_entries, entries_path
from pollwatch.storage import Database
from pollwatch.storage import intake_schema as ti
from pollwatch.storage import log as logstore
from pollwatch.storage import observe_schema as to
from pollwatch.storage import schema as ts
from pollwatch.storage import submitters as submitter_store
from pollwatch.tally.projector import Projector
from tests.conftest import POSTGRES_URL
from tests.intake.toykind import ToyNote, create_toy_table, list_toy_notes, toy_kind
from tests.ledger.conftest import ORIGIN

__all__ = ["toy_kind"]

OBSERVER = "obs-restore-1"
COUNT = {"CA": 120, "CB": 80, "CC": 200, "CD": 4, "CE": True, "CF": True, "CG": True, "CH": False,
         "CJ": True, "CK": True, "CL": False, "CM": True}  # fmt: skip
SOURCE = {"kind": "lawyer", "grade": "B"}
SECRET = "Secret Person-Name"
OLD_DEVICE = Ed25519PrivateKey.from_private_bytes(b"\x01" * 32)
NEW_DEVICE = Ed25519PrivateKey.from_private_bytes(b"\x02" * 32)
ADMIN = Principal(0, "admin-restore", AuthRole.ADMIN, "Desk")


@dataclass
class Night:
    """The original database, its log's keys, and the mirror it is published to."""

    db: Database
    settings: LogSettings
    witness: Signer
    mirror: Path

    def publish(self) -> None:
        """Sign a checkpoint cosigned by the witness, and bring the mirror up to it."""

        def cosigner(note: str, size: int, settings: LogSettings, reader: Any) -> list[Any]:
            return [cosign(parse_note(note).text, self.witness, timestamp=int(time.time()))]

        service.sign_checkpoint(self.db, self.settings, cosign=cosigner)
        mirror_log(db_fetch(self.db, self.settings), self.mirror, log_key=self.settings.signer.verifier())


def _observer(db: Database) -> Principal:
    with db.connect() as conn:
        row = submitter_store.get_submitter(conn, key_id=OBSERVER)
        assert row is not None
        return principal_for(conn, row)


def _register(db: Database, device: Ed25519PrivateKey) -> None:
    with db.begin() as conn:
        row = submitter_store.get_submitter(conn, key_id=OBSERVER)
        assert row is not None
        register_device(conn, submitter_id=row.id, public_key=device_key_id(public_key_of(device)))


def _sheet(sid: str, station: str, votes: tuple[int, ...], device: Ed25519PrivateKey | None = None,
           **extra: Any) -> SheetSubmission:  # fmt: skip
    payload = sheet_payload(sid, station=station, votes=votes, role="observer", **extra)
    if device is not None:
        payload = sign_payload(payload, device, organisation="FAFEN")
    return SheetSubmission.model_validate(payload)


def _write(db: Database, jobs: list[Job]) -> list[int]:
    with db.begin() as conn:
        outcomes = write_batch(conn, jobs)
    assert all(isinstance(o, Accepted) for o in outcomes), outcomes
    return [o.leaf_index for o in outcomes if isinstance(o, Accepted)]


def _checklist(sid: str, station: int, answers: dict[str, Any]) -> ChecklistSubmission:
    return ChecklistSubmission.model_validate({
        "election": SLUG, "role": "observer", "submission_id": sid, "form": "pk-count", "version": 1,
        "constituency": "NA-1", "station": station, "answers": answers, "captured_at": "2026-02-08T18:40:00Z",
    })  # fmt: skip


def _first_night(db: Database) -> dict[str, int]:
    """Records of most kinds, one signed by a device the copy will know."""
    p = _observer(db)
    common = {"election": SLUG, "role": "observer"}
    incident = {**common, "submission_id": "inc-0001", "category": "box_unsealed", "severity": "high",
                "constituency": "NA-1", "station": 3, "occurred_at": "2026-02-08T16:05:00+05:00"}  # fmt: skip
    case = {**common, "submission_id": "case-0001", "event": "arrest", "started_on": "2026-01-20",
            "constituency": "NA-1",
            "people": [{"ref": "P1", "roles": ["victim"], "descriptor": "polling_agent"}],
            "acts": [{"act": "arrest", "on": "2026-01-20", "victims": ["P1"]}], "sources": [SOURCE],
            "private": {"P1": {"name": SECRET}}}  # fmt: skip
    leaves = _write(db, [
        Job(_sheet("sheet-0001", "1", (300, 200, 100)), p),
        Job(_sheet("sheet-0002", "2", (250, 250, 50), OLD_DEVICE), p),
        Job(record=_checklist("chk-0001", 2, COUNT), principal=p),
        Job(record=_checklist("chk-0002", 3, {**COUNT, "CC": 250}), principal=p),  # quarantined by QC
        Job(record=IncidentSubmission.model_validate(incident), principal=p),
        Job(record=CaseSubmission.model_validate(case), principal=p),
    ])  # fmt: skip
    return {"sheet": leaves[0], "incident": leaves[4], "case": leaves[5]}


def _second_night(db: Database, first: dict[str, int]) -> None:
    """More records, several naming leaves of the first night, one signed by a device the copy lacks."""
    _register(db, NEW_DEVICE)
    p = _observer(db)
    common = {"election": SLUG, "role": "observer"}
    official = {"election": SLUG, "submission_id": "off-0001", "role": "official", "kind": "station_count",
                "constituency": "NA-1", "station": "2", "votes": {"1": 250, "2": 250, "3": 50},
                "source": {"url": "https://ecp.example/r", "sha256": "a" * 64}}  # fmt: skip
    verdict = {"election": SLUG, "submission_id": "ist-0001", "role": "coordinator",
               "incident": first["incident"], "status": "verified"}  # fmt: skip
    update = {**common, "submission_id": "cup-0001", "case": first["case"], "status": "released",
              "on": "2026-01-31", "sources": [SOURCE]}  # fmt: skip
    shutdown = {**common, "submission_id": "shd-0001", "started_at": "2026-02-08T08:00:00Z",
                "scope": "national", "networks": ["mobile_data"], "shutdown_type": "full",
                "sources": [SOURCE]}  # fmt: skip
    photo = {**common, "submission_id": "pho-0001", "photo_sha256": "b" * 64, "sheets": [first["sheet"]]}
    _write(db, [
        Job(_sheet("sheet-0003", "1", (310, 190, 100), supersedes=first["sheet"]), p),
        Job(_sheet("sheet-0004", "3", (100, 100, 400), NEW_DEVICE), p),
        Job(_sheet("sheet-0005", "1", (90, 80, 70), constituency="NA-2", captured_at=None), p),
        Job(record=OfficialSubmission.model_validate(official), principal=ADMIN),
        Job(record=IncidentStatusSubmission.model_validate(verdict), principal=ADMIN),
        Job(record=CaseUpdateSubmission.model_validate(update), principal=p),
        Job(record=ShutdownSubmission.model_validate(shutdown), principal=p),
        Job(record=PhotoSubmission.model_validate(photo), principal=p),
    ])  # fmt: skip


@pytest.fixture
def night(db: Database, tmp_path: Path, log_signer: Signer, witness_signer: Signer) -> Night:
    create_tiny_election(db)
    with db.begin() as conn:
        submitter_store.create_submitter(
            conn, key_id=OBSERVER, role=AuthRole.OBSERVER.value, organisation="FAFEN", name="Secret Observer"
        )
    _register(db, OLD_DEVICE)
    return Night(db, LogSettings(log_signer), witness_signer, tmp_path / "mirror")


@pytest.fixture
def copies(db: Database, tmp_path: Path) -> Iterator[Any]:
    """Make copies of ``db`` as it is now: a SQLite file by the backup API, a PostgreSQL TEMPLATE."""
    made: list[tuple[Database, str | None]] = []

    def copy() -> tuple[Database, str]:
        if db.url.startswith("sqlite"):
            path = tmp_path / f"copy-{len(made)}.sqlite3"
            source = sqlite3.connect(db.url.removeprefix("sqlite:///"))
            target = sqlite3.connect(path)
            source.backup(target)
            source.close()
            target.close()
            url = f"sqlite:///{path}"
            made.append((Database(url), None))
        else:
            name = f"pollwatch_copy_{uuid.uuid4().hex[:12]}"
            db.dispose()  # TEMPLATE needs the source without sessions
            admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{sa.make_url(db.url).database}"'))
            admin.dispose()
            url = sa.make_url(db.url).set(database=name).render_as_string(hide_password=False)
            made.append((Database(url), name))
        return made[-1][0], url

    yield copy
    for database, name in made:
        database.dispose()
        if name is not None:
            admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


def _rows(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every record row a restore re-creates, without ids and with times to the millisecond."""
    tables = {
        "sheets": (ts.sheets, ("kind", "form", "label", "valid", "rejected", "polled", "source", "role",
                               "organisation", "submitter_key", "evidence_sha256", "extra", "station_id")),
        "votes": (ts.sheet_votes, ("candidate_id", "votes")),
        "submissions": (ti.submissions, ("submitter_key", "submission_id", "content_sha256", "signature",
                                         "kind", "leaf_index", "photo_sha256")),
        "checklists": (to.checklists, ("form", "answers", "qc_failures", "quarantined", "station_id")),
        "incidents": (to.incidents, ("category", "severity", "station_id", "photos")),
        "incident_statuses": (to.incident_statuses, ("status", "submitter_key")),
        "cases": (to.cases, ("event", "record", "submitter_key")),
        "case_updates": (to.case_updates, ("status", "record")),
        "shutdowns": (to.shutdowns, ("record",)),
    }  # fmt: skip
    out = {}
    with db.connect() as conn:
        for name, (table, columns) in tables.items():
            rows = conn.execute(sa.select(*(table.c[c] for c in columns))).all()
            out[name] = sorted(tuple(json.dumps(v, sort_keys=True, default=str) for v in r) for r in rows)
    return out


def _but_submitter(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return sorted(r[1:] for r in rows)


def _log(db: Database) -> tuple[int, bytes, str]:
    with db.connect() as conn:
        state = logstore.get_state(conn)
        return state.size, service.get_root(conn, state.size), state.checkpoint


def _tallies(db: Database) -> list[tuple[Any, ...]]:
    from pollwatch.storage import projections

    Projector(db).rebuild()
    with db.connect() as conn:
        rows = projections.list_constituency_rows(conn, 1)
    keep = ("constituency_id", "stations_reporting", "votes", "reported", "best")
    return sorted(tuple(repr(r.get(k)) for k in keep) for r in rows)


def _cli_restore(url: str, mirror: Path, key: str, *witnesses: str) -> Any:
    args = ["log", "restore", str(mirror), "--log-key", key, "--db", url]
    for witness in witnesses:
        args += ["--witness-key", witness]
    return CliRunner().invoke(app, args)


def test_restore_brings_an_earlier_copy_up_to_the_mirror(night: Night, copies: Any, tmp_path: Path) -> None:
    first = _first_night(night.db)
    night.publish()
    copy, url = copies()  # the base backup, taken at the first checkpoint
    earlier = _log(copy)
    _second_night(night.db, first)
    night.publish()
    log_key, witness_key = night.settings.signer.verifier().vkey, night.witness.verifier().vkey

    # A mirror signed by another key than the one the operator holds is refused, and changes nothing.
    other = Signer.from_seed(ORIGIN, b"\x07" * 32).verifier().vkey
    refused = _cli_restore(url, night.mirror, other, witness_key)
    assert refused.exit_code != 0
    assert "not signed by a required key" in refused.output
    assert _log(copy) == earlier

    restored = _cli_restore(url, night.mirror, log_key, witness_key)
    assert restored.exit_code == 0, restored.output
    assert "appended 8 entries" in restored.output
    assert "1 signing device(s) not registered here" in restored.output

    size, root, note = _log(copy)
    assert (size, root) == _log(night.db)[:2]
    assert note == (night.mirror / "checkpoint").read_text()  # the cosigned checkpoint is the latest
    assert len(parse_note(note).signatures) == 2
    original_rows, copy_rows = _rows(night.db), _rows(copy)
    device_submitter = device_key_id(public_key_of(NEW_DEVICE))
    # The one difference: the record of the device the copy does not know keeps the device as submitter.
    assert [r for r in copy_rows["submissions"] if device_submitter in r[0]] != []
    assert _but_submitter(copy_rows["submissions"]) == _but_submitter(original_rows["submissions"])
    assert {k: v for k, v in copy_rows.items() if k != "submissions"} == {
        k: v for k, v in original_rows.items() if k != "submissions"
    }
    assert _tallies(copy) == _tallies(night.db)
    # A resend after the restore is answered with its original leaf (one sent without captured_at, too).
    with copy.begin() as conn:
        [resent] = write_batch(conn, [Job(_sheet("sheet-0005", "1", (90, 80, 70), constituency="NA-2",
                                                 captured_at=None), _observer(copy))])  # fmt: skip
    assert isinstance(resent, Accepted), resent
    assert resent.duplicate
    assert resent.leaf_index == size - 6

    export_bundle(copy, tmp_path / "bundle", settings=night.settings)
    verified = CliRunner().invoke(
        app, ["verify", str(tmp_path / "bundle"), "--log-key", log_key, "--witness-key", witness_key]
    )
    assert verified.exit_code == 0, verified.output
    assert "FAILED" not in verified.output

    again = restore_log(copy, dir_fetch(night.mirror), log_key=night.settings.signer.verifier(),
                        witnesses=[night.witness.verifier()])  # fmt: skip
    assert (again.appended, again.checkpoint_stored) == (0, False)
    assert _log(copy) == (size, root, note)
    assert _rows(copy) == copy_rows


def test_a_tampered_entry_bundle_is_refused_and_changes_nothing(
    night: Night, copies: Any, tmp_path: Path
) -> None:
    first = _first_night(night.db)
    night.publish()
    copy, url = copies()
    _second_night(night.db, first)
    night.publish()
    tampered = tmp_path / "tampered"
    shutil.copytree(night.mirror, tampered)
    size = _log(night.db)[0]
    bundle = tampered / entries_path(0, size)
    entries = decode_entries(bundle.read_bytes())
    [n] = [i for i, e in enumerate(entries) if b'"1":310' in e]  # the correction's votes, same length
    entries[n] = entries[n].replace(b'"1":310', b'"1":910')
    bundle.write_bytes(encode_entries(entries))
    before, rows = _log(copy), _rows(copy)

    result = _cli_restore(url, tampered, night.settings.signer.verifier().vkey)
    assert result.exit_code != 0
    assert "does not match tile/0" in result.output
    assert _log(copy) == before
    assert _rows(copy) == rows


def test_a_database_that_forked_from_the_mirror_is_refused(night: Night, copies: Any) -> None:
    first = _first_night(night.db)
    night.publish()
    copy, _ = copies()
    _second_night(night.db, first)
    night.publish()
    p = _observer(copy)
    _write(copy, [Job(_sheet("sheet-fork", "3", (1, 2, 3)), p)])  # a leaf the published log never had
    before = _log(copy)
    with pytest.raises(VerificationError, match="split view"):
        restore_log(copy, dir_fetch(night.mirror), log_key=night.settings.signer.verifier())
    assert _log(copy) == before


def test_a_database_ahead_of_the_mirror_is_left_alone(night: Night) -> None:
    _first_night(night.db)
    night.publish()
    p = _observer(night.db)
    _write(night.db, [Job(_sheet("sheet-late", "3", (1, 2, 3)), p)])  # appended after the mirror ran
    summary = restore_log(night.db, dir_fetch(night.mirror), log_key=night.settings.signer.verifier())
    assert summary.ahead
    assert summary.appended == 0


def test_too_few_witnesses_is_refused(night: Night, copies: Any, witness_signer: Signer) -> None:
    _first_night(night.db)
    night.publish()
    copy, _ = copies()
    stranger = Signer.from_seed("witness.test/w2", b"\x09" * 32, alg=witness_signer.alg).verifier()
    with pytest.raises(VerificationError, match="witness cosignatures"):
        restore_log(copy, dir_fetch(night.mirror), log_key=night.settings.signer.verifier(),
                    witnesses=[stranger])  # fmt: skip


def test_a_plugin_kind_comes_back_through_its_own_rows_from_leaves(
    db: Database, copies: Any, toy_kind: Any, log_signer: Signer, tmp_path: Path
) -> None:
    create_tiny_election(db)
    create_toy_table(db)
    copy, _ = copies()  # structure and the kind's table, no records
    common = {"election": SLUG, "role": "observer", "constituency": "NA-1"}
    notes = [
        ToyNote.model_validate({**common, "submission_id": f"toy-{n:05d}", "text": f"note {n}"})
        for n in range(3)
    ]
    _write(db, [Job(record=note, principal=ADMIN) for note in notes])
    settings = LogSettings(log_signer)
    service.sign_checkpoint(db, settings)
    mirror_log(db_fetch(db, settings), tmp_path / "mirror", log_key=log_signer.verifier())
    summary = restore_log(copy, dir_fetch(tmp_path / "mirror"), log_key=log_signer.verifier())
    assert (summary.appended, summary.records) == (3, 3)
    assert list_toy_notes(copy) == list_toy_notes(db) == ["note 0", "note 1", "note 2"]


def test_a_restore_across_entry_bundles_starts_mid_bundle(night: Night, copies: Any) -> None:
    p = _observer(night.db)

    def sheets(first: int, count: int) -> list[Job]:
        return [
            Job(_sheet(f"sheet-{n:05d}", str(1 + n % 3), (n, 1, 2)), p) for n in range(first, first + count)
        ]

    _write(night.db, sheets(0, 300))  # the backup ends 44 entries into the second bundle
    night.publish()
    copy, _ = copies()
    _write(night.db, sheets(300, 300))
    night.publish()
    summary = restore_log(copy, dir_fetch(night.mirror), log_key=night.settings.signer.verifier())
    assert (summary.before, summary.appended) == (300, 300)
    assert _log(copy)[:2] == _log(night.db)[:2]
    assert _rows(copy)["sheets"] == _rows(night.db)["sheets"]
