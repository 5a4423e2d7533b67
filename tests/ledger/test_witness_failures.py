"""Each witness succeeds or fails on its own; failures are recorded and shown; receipts carry cosignatures."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from pollwatch.api.app import create_app
from pollwatch.cli.main import app as cli
from pollwatch.intake.testing import bearer, create_tiny_election, sheet_payload
from pollwatch.ledger import service
from pollwatch.ledger.checkpoint import cosign, verify_cosignature
from pollwatch.ledger.note import ALG_COSIGNATURE, NoteSignature, Signer, parse_note
from pollwatch.ledger.proof import verify_receipt
from pollwatch.ledger.publisher import Publisher
from pollwatch.ledger.records import LeafRecord
from pollwatch.ledger.settings import LogSettings, WitnessEndpoint, load_settings
from pollwatch.ledger.witness import Answer, Witness, serve
from pollwatch.storage import Database
from pollwatch.storage import log as store
from tests.ledger.test_end_to_end import _token

IMPOSTOR = Signer.from_seed("impostor", bytes(range(32)), alg=ALG_COSIGNATURE)


def _faulty_server(witness_signer: Signer) -> ThreadingHTTPServer:
    """Witnesses that misbehave, one per path: slow, garbage, wrong key, refusing."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server naming)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            mode = self.path.strip("/").split("/")[0]
            if mode == "slow":
                time.sleep(4.0)
                return self._send(200, "too late\n")
            if mode == "garbage":
                return self._send(200, "\x00 this is not a cosignature \x01\n")
            if mode == "refuse":
                return self._send(403, "I will not cosign that\n")
            note = body.partition("\n\n")[2]
            forged = cosign(parse_note(note).text, IMPOSTOR, timestamp=1_790_000_000)
            line = NoteSignature(witness_signer.name, witness_signer.verifier().key_id, forged.signature)
            return self._send(200, line.line())

        def _send(self, status: int, text: str) -> None:
            data = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def servers(tmp_path: Path, log_signer: Signer, witness_signer: Signer) -> Iterator[tuple[str, str]]:
    """(URL of a good witness, URL prefix of the faulty ones)."""
    good_signer = Signer.from_seed("witness.test/good", bytes(32), alg=ALG_COSIGNATURE)
    good = serve(
        Witness(good_signer, {log_signer.name: log_signer.verifier()}, state_file=tmp_path / "w.json")
    )
    threading.Thread(target=good.serve_forever, daemon=True).start()
    faulty = _faulty_server(witness_signer)
    yield f"http://127.0.0.1:{good.server_address[1]}", f"http://127.0.0.1:{faulty.server_address[1]}"
    for server in (good, faulty):
        server.shutdown()
        server.server_close()


def _settings(log_signer: Signer, witness_signer: Signer, good: str, faulty: str) -> LogSettings:
    good_key = Signer.from_seed("witness.test/good", bytes(32), alg=ALG_COSIGNATURE).verifier()
    bad = [
        WitnessEndpoint(f"{faulty}/{mode}", witness_signer.verifier())
        for mode in ("slow", "garbage", "wrongkey", "refuse")
    ]
    # The faulty ones share one key name; give each its own so each failure is kept apart.
    named = [
        WitnessEndpoint(
            e.url,
            Signer.from_seed(f"w.test/{e.url.rsplit('/', 1)[1]}", bytes(32), alg=ALG_COSIGNATURE).verifier(),
        )
        if "wrongkey" not in e.url
        else e
        for e in bad
    ]
    return LogSettings(log_signer, (*named, WitnessEndpoint(good, good_key)), witness_timeout=2.0)


def test_faulty_witnesses_cannot_silence_a_good_one(
    sqlite_db: Database, log_signer: Signer, witness_signer: Signer, servers: tuple[str, str]
) -> None:
    settings = _settings(log_signer, witness_signer, *servers)
    with sqlite_db.begin() as conn:
        service.append(conn, [LeafRecord("incident", {"n": i}) for i in range(3)])
    assert Publisher(sqlite_db, settings).publish_once()
    note = service.latest_checkpoint(sqlite_db, settings)
    verify_cosignature(note, settings.witnesses[-1].key)  # the good witness's cosignature is attached
    with sqlite_db.connect() as conn:
        failures = {f.url.rsplit("/", 1)[1]: f for f in store.list_witness_failures(conn)}
    assert set(failures) == {"slow", "garbage", "wrongkey", "refuse"}
    assert {f.size for f in failures.values()} == {3}
    assert failures["slow"].reason == "timed out after 2 s"
    assert "invalid cosignature" in failures["wrongkey"].reason
    assert "refused" in failures["refuse"].reason
    assert "403" in failures["refuse"].reason
    assert failures["garbage"].reason


def test_failures_are_shown_by_log_status_and_the_api(
    sqlite_db: Database,
    log_signer: Signer,
    witness_signer: Signer,
    servers: tuple[str, str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    settings = _settings(log_signer, witness_signer, *servers)
    with sqlite_db.begin() as conn:
        service.append(conn, [LeafRecord("incident", {"n": 1})])
    Publisher(sqlite_db, settings).publish_once()
    app = create_app(sqlite_db)
    app.state.ledger_settings = settings
    body = TestClient(app).get("/api/v1/log/witnesses").json()
    by_name = {w["name"]: w for w in body["witnesses"]}
    assert by_name["witness.test/good"]["cosigned_latest"] is True
    assert by_name["witness.test/good"]["failures"] == []
    assert by_name["w.test/refuse"]["cosigned_latest"] is False
    assert by_name["w.test/refuse"]["failures"][0]["size"] == 1
    assert "403" in by_name["w.test/refuse"]["failures"][0]["reason"]
    assert len(body["recent_failures"]) == 4

    monkeypatch.setenv("POLLWATCH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("POLLWATCH_LOG_ORIGIN", log_signer.name)
    key_file = tmp_path / "log.key"
    key_file.write_text(log_signer.skey())
    monkeypatch.setenv("POLLWATCH_LOG_KEY", str(key_file))
    monkeypatch.setenv("POLLWATCH_WITNESSES", ";".join(f"{w.url} {w.key.vkey}" for w in settings.witnesses))
    result = CliRunner().invoke(cli, ["log", "status", "--db", sqlite_db.url, "--format", "json"])
    assert result.exit_code == 0, result.output
    status = json.loads(result.output)
    assert {w["witness"]: w["cosigned latest"] for w in status["witnesses"]}["witness.test/good"] == "yes"
    assert {f["url"].rsplit("/", 1)[1] for f in status["recent_failures"]} == {
        "slow",
        "garbage",
        "wrongkey",
        "refuse",
    }
    table = CliRunner().invoke(cli, ["log", "status", "--db", sqlite_db.url]).output
    assert "timed out after 2 s" in table


def test_receipt_answered_at_submission_carries_the_cosignature(
    sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, witness_signer: Signer
) -> None:
    monkeypatch.setenv("POLLWATCH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("POLLWATCH_LOG_ORIGIN", "receipt.example/log")
    monkeypatch.delenv("POLLWATCH_LOG_KEY", raising=False)
    log_key = load_settings().signer.verifier()
    witness = serve(Witness(witness_signer, {log_key.name: log_key}, state_file=tmp_path / "w.json"))
    threading.Thread(target=witness.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{witness.server_address[1]}"
    monkeypatch.setenv("POLLWATCH_WITNESSES", f"{url} {witness_signer.verifier().vkey}")
    create_tiny_election(sqlite_db)
    try:
        with TestClient(create_app(sqlite_db)) as client:
            token = _token(sqlite_db)
            payload = sheet_payload("cosigned-sheet-0001", station="1")
            response = client.post("/api/v1/sheets", json=payload, headers=bearer(token))
    finally:
        witness.shutdown()
        witness.server_close()
    assert response.status_code == 201, response.text
    receipt = response.json()["receipt"]
    report = verify_receipt(
        receipt, entry=None, log_key=log_key, witnesses=[witness_signer.verifier()], quorum=1
    )
    assert list(report.witnesses) == [witness_signer.name]


def test_a_receipt_made_while_a_witness_was_down_is_upgraded(
    sqlite_db: Database,
    log_signer: Signer,
    witness_signer: Signer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pollwatch.cli import ledger as cli_ledger
    from pollwatch.errors import VerificationError
    from pollwatch.ledger.proof import upgrade_receipt

    server = serve(
        Witness(witness_signer, {log_signer.name: log_signer.verifier()}, state_file=tmp_path / "w.json")
    )
    url = f"http://127.0.0.1:{server.server_address[1]}"
    settings = LogSettings(
        log_signer, (WitnessEndpoint(url, witness_signer.verifier()),), witness_timeout=0.5
    )
    publisher = Publisher(sqlite_db, settings)
    publisher.retry_seconds = 0.0
    with sqlite_db.begin() as conn:
        service.append(conn, [LeafRecord("incident", {"n": i}) for i in range(3)])
    publisher.publish_once()  # the witness is not answering yet
    held = tmp_path / "r.txt"
    held.write_text(service.get_receipt(sqlite_db, 1, wait_seconds=0, settings=settings))
    args = ["verify-receipt", str(held), "--log-key", log_signer.verifier().vkey]
    args += ["--witness-key", witness_signer.verifier().vkey, "--quorum", "1"]
    assert CliRunner().invoke(cli, args).exit_code == 1  # no cosignature yet

    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        publisher.publish_once()  # the retry gets the cosignature
    finally:
        server.shutdown()
        server.server_close()
    app = create_app(sqlite_db)
    app.state.ledger_settings = settings
    log = TestClient(app)
    monkeypatch.setattr(
        cli_ledger, "fetch_receipt", lambda base, index: log.get(f"/api/v1/receipts/{index}").text
    )
    result = CliRunner().invoke(cli, [*args, "--upgrade-from", "https://log.test"])
    assert result.exit_code == 0, result.output
    assert "cosigned by witness.test/w1" in result.output
    upgraded = (tmp_path / "r.txt.upgraded").read_text()
    report = verify_receipt(
        upgraded, entry=None, log_key=log_signer.verifier(), witnesses=[witness_signer.verifier()], quorum=1
    )
    assert report.index == 1
    with pytest.raises(VerificationError, match="another entry"):
        upgrade_receipt(held.read_text(), log.get("/api/v1/receipts/2").text)


class _MeetingWitness(Witness):
    """A witness that answers only once every witness of the round has been asked: it meets the others at
    a barrier first, so a publisher that asked one witness after another never gets past it."""

    def __init__(self, barrier: threading.Barrier, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.barrier = barrier

    def add_checkpoint(self, request: str, *, now: int | None = None) -> Answer:
        self.barrier.wait()
        return super().add_checkpoint(request, now=now)


def test_the_witnesses_are_asked_at_once(sqlite_db: Database, log_signer: Signer, tmp_path: Path) -> None:
    """A signing waits for the slowest witness, not the sum of them all (the publisher asks in parallel)."""
    barrier = threading.Barrier(3, timeout=10)
    signers = [
        Signer.from_seed(f"witness.test/meet{i}", bytes([i]) * 32, alg=ALG_COSIGNATURE) for i in range(3)
    ]
    trusted = {log_signer.name: log_signer.verifier()}
    servers = [
        serve(_MeetingWitness(barrier, s, trusted, state_file=tmp_path / f"meet{i}.json"))
        for i, s in enumerate(signers)
    ]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        endpoints = tuple(
            WitnessEndpoint(f"http://127.0.0.1:{server.server_address[1]}", s.verifier())
            for server, s in zip(servers, signers, strict=True)
        )
        settings = LogSettings(log_signer, endpoints, witness_timeout=8.0)
        with sqlite_db.begin() as conn:
            service.append(conn, [LeafRecord("incident", {"n": i}) for i in range(2)])
        assert Publisher(sqlite_db, settings).publish_once()
        note = service.latest_checkpoint(sqlite_db, settings)
        for endpoint in endpoints:
            verify_cosignature(note, endpoint.key)  # all three met at the barrier, so all three cosigned
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
