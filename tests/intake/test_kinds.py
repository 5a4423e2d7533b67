"""A record kind registered only here (tests/intake/toykind.py) goes through every channel of the core:
write_batch, the writer, the HTTP endpoints; idempotency, signatures, replay, roles and the privacy walk
apply to it with no toy-specific code in the core."""

from __future__ import annotations

import datetime as dt
import json
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from pollwatch.auth import Assignment, AuthRole, Principal, register_device
from pollwatch.auth.devices import device_key_id, public_key_of, sign
from pollwatch.auth.tokens import principal_for
from pollwatch.errors import ConflictError, Error, ForbiddenError, InputError, StorageError, VerificationError
from pollwatch.intake.format import iso
from pollwatch.intake.service import Accepted, Job, write_batch, write_one
from pollwatch.intake.testing import SLUG, bearer, create_tiny_election
from pollwatch.intake.writer import Writer, _Item
from pollwatch.ledger.records import parse_leaf, signed_bytes
from pollwatch.model import Channel
from pollwatch.storage import Database
from pollwatch.storage import log as logstore
from pollwatch.storage import submissions as submission_store
from pollwatch.storage import submitters as submitter_store
from tests.intake.toykind import POISON, ToyKind, ToyNote, create_toy_table, list_toy_notes, toy_kind

__all__ = ["toy_kind"]

KEY_ID = "sub-toy-test"


_SIGNED_AT = dt.datetime(2026, 2, 8, 17, 30, tzinfo=dt.UTC)


@pytest.fixture
def toy_db(db: Database, toy_kind: ToyKind) -> Database:
    create_tiny_election(db)
    create_toy_table(db)
    with db.begin() as conn:
        submitter_store.create_submitter(conn, key_id=KEY_ID, role=AuthRole.OBSERVER.value, organisation="W")
    return db


def _principal(db: Database) -> Principal:
    with db.connect() as conn:
        row = submitter_store.get_submitter(conn, key_id=KEY_ID)
        assert row is not None
        return principal_for(conn, row)


def _note(submission_id: str, **kw: Any) -> ToyNote:
    fields = {"election": SLUG, "submission_id": submission_id, "role": "observer", "constituency": "NA-1",
              "text": "queue at the gate", **kw}  # fmt: skip
    return ToyNote.model_validate(fields)


def _entries(db: Database) -> list[dict[str, Any]]:
    with db.connect() as conn:
        raw = logstore.read_entries(conn, 0, logstore.count_entries(conn))
    return [{"type": r.type, **r.body} for r in map(parse_leaf, raw)]


def test_toy_kind_is_written_logged_and_idempotent_through_write_batch(toy_db: Database) -> None:
    principal = _principal(toy_db)
    jobs = [Job(record=_note(f"toy-{n:04d}", text=f"note {n}"), principal=principal) for n in range(3)]
    with toy_db.begin() as conn:
        outcomes = write_batch(conn, jobs)
    assert [o.kind for o in outcomes if isinstance(o, Accepted)] == ["toy"] * 3
    assert list_toy_notes(toy_db) == ["note 0", "note 1", "note 2"]
    leaves = _entries(toy_db)
    assert [(e["type"], e["text"], e["submitter_key"]) for e in leaves] == [
        ("toy", f"note {n}", KEY_ID) for n in range(3)
    ]
    with toy_db.connect() as conn:
        row = submission_store.get_submission(conn, KEY_ID, "toy-0001")
    assert row is not None
    assert (row.kind, row.sheet_id, row.leaf_index) == ("toy", None, 1)
    assert row.record_id == outcomes[1].sheet_id  # type: ignore[union-attr]
    # A resend without captured_at, later: the same content, answered with the original leaf.
    with toy_db.begin() as conn:
        again = write_one(conn, Job(record=_note("toy-0001", text="note 1"), principal=principal))
    assert (again.duplicate, again.leaf_index, again.kind) == (True, 1, "toy")
    with toy_db.begin() as conn, pytest.raises(ConflictError, match="different"):
        write_one(conn, Job(record=_note("toy-0001", text="changed"), principal=principal))
    assert len(_entries(toy_db)) == 3


def test_toy_kind_refuses_an_unknown_place_and_personal_data_alone(toy_db: Database) -> None:
    principal = _principal(toy_db)
    jobs = [
        Job(record=_note("toy-good-01"), principal=principal),
        Job(record=_note("toy-where-1", constituency="NA-99"), principal=principal),
        Job(record=_note("toy-phone-1", tags={"Phone": "+92 300 0000000"}), principal=principal),
    ]
    with toy_db.begin() as conn:
        good, where, phone = write_batch(conn, jobs)
    assert isinstance(good, Accepted)
    assert isinstance(where, InputError)
    assert where.problems[0].where == "constituency"
    assert isinstance(phone, InputError)
    assert "personal data" in phone.message
    assert phone.problems[0].where == "body.tags.Phone"
    assert len(_entries(toy_db)) == 1
    assert list_toy_notes(toy_db) == ["queue at the gate"]


def test_toy_kind_device_signature_and_replay_are_checked_by_the_core(toy_db: Database) -> None:
    principal = _principal(toy_db)
    key = Ed25519PrivateKey.generate()
    device = device_key_id(public_key_of(key))
    with toy_db.begin() as conn:
        register_device(conn, submitter_id=principal.submitter_id, public_key=device)
    note = _note("toy-signed-1", device_key=device, captured_at="2026-02-08T17:30:00Z")
    body = {"election": SLUG, "submission_id": "toy-signed-1", "constituency": "NA-1",
            "text": "queue at the gate", "tags": {}, "submitter_key": device, "role": "observer",
            "captured_at": iso(note.captured_at or _SIGNED_AT)}  # fmt: skip
    signature = sign(key, signed_bytes(body, "toy"))
    as_sheet = sign(key, signed_bytes(body))  # the sheet domain: must not verify as a toy
    with toy_db.begin() as conn:
        bad = write_batch(
            conn, [Job(record=note.model_copy(update={"signature": as_sheet}), principal=principal)]
        )
    assert isinstance(bad[0], VerificationError)
    with toy_db.begin() as conn:
        ok = write_one(
            conn, Job(record=note.model_copy(update={"signature": signature}), principal=principal)
        )
    assert _entries(toy_db)[ok.leaf_index]["submitter_key"] == device
    signed = note.model_copy(update={"signature": signature})
    with toy_db.begin() as conn:  # the same signed record again: the original leaf
        assert write_one(conn, Job(record=signed, principal=principal)).duplicate is True
    moved = signed.model_copy(update={"submission_id": "toy-signed-2"})
    with toy_db.begin() as conn, pytest.raises(VerificationError):  # moved onto another id
        write_one(conn, Job(record=moved, principal=principal))
    assert len(_entries(toy_db)) == 1


def test_toy_kind_roles_and_assignments_come_from_the_core(toy_db: Database) -> None:
    official = Principal(0, "off", AuthRole.OFFICIAL)
    with toy_db.begin() as conn, pytest.raises(ForbiddenError, match="may not submit toy records"):
        write_one(conn, Job(record=_note("toy-official", role="official"), principal=official))
    agent = Principal(0, "agent", AuthRole.AGENT, assignments=(Assignment(SLUG, "NA-2"),))
    with toy_db.begin() as conn, pytest.raises(ForbiddenError, match="not assigned"):
        write_one(conn, Job(record=_note("toy-agent-01", role="agent"), principal=agent))
    with toy_db.begin() as conn:
        assert write_one(
            conn, Job(record=_note("toy-agent-02", role="agent", constituency="NA-2"), principal=agent)
        )
    with toy_db.begin() as conn, pytest.raises(ForbiddenError, match="role"):
        write_one(conn, Job(record=_note("toy-role-01", role="agent"), principal=_principal(toy_db)))


def test_a_poison_record_in_a_writer_batch_is_refused_alone(toy_db: Database) -> None:
    """Its own insert breaks the transaction; the writer retries one by one, so its neighbours commit."""
    principal = _principal(toy_db)
    writer = Writer(toy_db)
    try:
        items = [
            _Item(Job(record=_note(f"toy-batch-{n}", text=text), principal=principal), future=Future())
            for n, text in enumerate(("before", POISON, "after"))
        ]
        writer._commit(items)
        results: list[Any] = []
        for item in items:
            assert item.future is not None
            try:
                results.append(item.future.result(timeout=10))
            except Error as exc:
                results.append(exc)
    finally:
        writer.close()
    assert isinstance(results[0], Accepted)
    assert isinstance(results[1], StorageError)
    assert isinstance(results[2], Accepted)
    assert list_toy_notes(toy_db) == ["before", "after"]
    assert [e["text"] for e in _entries(toy_db)] == ["before", "after"]


@pytest.fixture
def toy_client(client: TestClient, tiny_db: Database, toy_kind: ToyKind) -> TestClient:
    create_toy_table(tiny_db)
    return client


def test_toy_kind_over_http_one_and_batch(
    toy_client: TestClient, tokens: dict[str, str], tiny_db: Database
) -> None:
    note = {"election": SLUG, "submission_id": "toy-http-01", "role": "observer", "constituency": "NA-2",
            "text": "lights out at 18:00"}  # fmt: skip
    first = toy_client.post("/api/v1/records/toy", json=note, headers=bearer(tokens["observer"]))
    assert first.status_code == 201, first.json()
    assert (first.json()["kind"], first.json()["duplicate"]) == ("toy", False)
    again = toy_client.post(
        "/api/v1/records/toy?receipt=false", json=note, headers=bearer(tokens["observer"])
    )
    assert (again.json()["duplicate"], again.json()["leaf_index"]) == (True, first.json()["leaf_index"])
    batch = [{**note, "submission_id": f"toy-http-b{n}", "text": f"b{n}"} for n in range(2)]
    batch.append({**note, "submission_id": "toy-http-b9", "constituency": "NA-42"})
    answer = toy_client.post(
        "/api/v1/records/toy/batch", json=batch, headers=bearer(tokens["observer"])
    ).json()
    assert (answer["accepted"], answer["refused"]) == (2, 1)
    assert answer["results"][2]["error"]["problems"][0]["where"] == "constituency"
    assert list_toy_notes(tiny_db) == ["lights out at 18:00", "b0", "b1"]
    kinds = toy_client.get("/api/v1/records").json()
    assert {k["name"] for k in kinds} >= {"sheet", "official", "toy"}


@pytest.mark.parametrize(
    ("kind", "body", "where"),
    [
        ("toy", {"submission_id": "toy-bad-0001", "role": "observer", "constituency": "NA-1", "text": "x"},
         "election"),
        ("toy", {"election": SLUG, "submission_id": "toy-bad-0002", "role": "observer",
                 "constituency": "NA-1", "text": "x", "colour": "red"}, "colour"),
        ("sheet", {"election": SLUG, "submission_id": "sheet-bad-01", "role": "observer",
                   "constituency": "NA-1", "station": "1", "votes": {"1": -5}}, "votes.1"),
        ("official", {"election": SLUG, "submission_id": "off-bad-001", "constituency": "NA-1",
                      "votes": {"1": 5}, "source": {"sha256": "0" * 64}}, "source"),
        ("official", {"election": SLUG, "submission_id": "off-bad-002", "constituency": "NA-1",
                      "votes": {"1": 5}, "source": {"url": "https://ecp.gov.pk/f49.pdf", "sha256": "xyz"}},
         "source.sha256"),
    ],
)  # fmt: skip
def test_malformed_records_of_each_kind_are_refused_naming_the_field(
    toy_client: TestClient,
    tokens: dict[str, str],
    tiny_db: Database,
    kind: str,
    body: dict[str, Any],
    where: str,
) -> None:
    response = toy_client.post(
        f"/api/v1/records/{kind}", content=json.dumps(body), headers=bearer(tokens["admin"])
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert where in [p["where"] for p in error["problems"]]
    with tiny_db.connect() as conn:
        assert logstore.count_entries(conn) == 0
        assert submission_store.count_submissions(conn) == 0


def test_an_unknown_kind_is_not_found(toy_client: TestClient, tokens: dict[str, str]) -> None:
    response = toy_client.post("/api/v1/records/ghost", json={}, headers=bearer(tokens["admin"]))
    assert response.status_code == 404
    assert response.json()["error"]["problems"][0]["where"] == "kind"


def test_toy_kind_through_the_cli_all_or_nothing(toy_db: Database, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from pollwatch.cli.main import app

    url = str(toy_db.engine.url.render_as_string(hide_password=False))
    good = [{"election": SLUG, "submission_id": f"toy-cli-{n:03d}", "role": "admin", "constituency": "NA-1",
             "text": f"cli {n}"} for n in range(2)]  # fmt: skip
    lines = tmp_path / "notes.jsonl"
    lines.write_text("\n".join(json.dumps(r) for r in good))
    done = CliRunner().invoke(app, ["submit-records", "toy", str(lines), "--db", url, "--format", "json"])
    assert done.exit_code == 0, done.output
    assert [r["kind"] for r in json.loads(done.output)] == ["toy", "toy"]
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps([{**good[0], "submission_id": "toy-cli-new"}, {**good[1], "constituency": "NA-77"}])
    )
    refused = CliRunner().invoke(app, ["submit-records", "toy", str(bad), "--db", url])
    assert refused.exit_code == 1
    assert "row 2 constituency" in refused.output
    assert list_toy_notes(toy_db) == ["cli 0", "cli 1"]


def test_job_keeps_the_sheet_constructor_and_takes_any_record(toy_db: Database) -> None:
    from pollwatch.intake.format import SheetSubmission
    from pollwatch.intake.testing import sheet_payload

    principal = _principal(toy_db)
    sheet = SheetSubmission.model_validate(sheet_payload("job-sheet-01", role="observer"))
    by_keyword = Job(sub=sheet, principal=principal, channel=Channel.SMS, received_at=None)
    assert (by_keyword.sub, by_keyword.record, by_keyword.channel) == (sheet, sheet, Channel.SMS)
    assert Job(sheet, principal, Channel.API).sub is sheet
    toy = Job(record=_note("job-toy-0001"), principal=principal)
    with pytest.raises(TypeError, match="not a sheet"):
        _ = toy.sub
    with pytest.raises(TypeError, match="one record"):
        Job(sheet, principal, record=_note("job-toy-0002"))
