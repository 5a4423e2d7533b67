"""The ledger CLI end to end: keys, checkpoints, receipts, bundles, verification, a witness."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pollwatch.cli.main import app
from pollwatch.ledger import service
from pollwatch.ledger.checkpoint import verify_cosignature
from pollwatch.ledger.note import parse_vkey
from pollwatch.ledger.records import canonical_bytes
from pollwatch.ledger.witness import push_checkpoint
from pollwatch.storage import Database
from tests.ledger.conftest import make_sheet

runner = CliRunner()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("POLLWATCH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("POLLWATCH_LOG_ORIGIN", "cli.example/log")
    monkeypatch.delenv("POLLWATCH_LOG_KEY", raising=False)
    monkeypatch.delenv("POLLWATCH_WITNESSES", raising=False)
    return tmp_path / "home"


def _invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_keygen_prints_a_vkey_and_refuses_to_overwrite(home: Path) -> None:
    code, out = _invoke("keygen", "cli.example/log")
    assert code == 0
    assert parse_vkey(out.splitlines()[0]).name == "cli.example/log"
    assert (home / "keys" / "log.key").stat().st_mode & 0o077 == 0
    code, out = _invoke("keygen", "cli.example/log")
    assert code == 1
    assert "already exists" in out


def test_checkpoint_receipt_bundle_and_verify(home: Path, tmp_path: Path, sqlite_db: Database) -> None:
    url = sqlite_db.url
    sheets = [make_sheet(str(i), {"1": i, "2": 2 * i}) for i in range(20)]
    with sqlite_db.begin() as conn:
        service.append(conn, sheets)
    code, out = _invoke("log", "checkpoint", "--db", url)
    assert code == 0
    assert out.startswith("cli.example/log\n20\n")
    vkey = (home / "keys" / "log.vkey").read_text().strip()

    code, receipt = _invoke("log", "receipt", "7", "--db", url)
    assert code == 0
    (tmp_path / "r.txt").write_text(receipt)
    (tmp_path / "e.json").write_bytes(canonical_bytes(sheets[7]))
    (tmp_path / "wrong.json").write_bytes(canonical_bytes(sheets[8]))
    args = ["verify-receipt", str(tmp_path / "r.txt"), "--log-key", vkey]
    code, out = _invoke(*args, "--entry", str(tmp_path / "e.json"))
    assert (code, out.startswith("receipt: passed")) == (0, True)
    code, out = _invoke(*args)  # the entry carried in the receipt
    assert (code, out.startswith("receipt: passed: entry 7")) == (0, True)
    code, out = _invoke(*args, "--entry", str(tmp_path / "wrong.json"))
    assert code == 1
    assert "differs from the entry carried in the receipt" in out

    bundle = tmp_path / "bundle"
    code, out = _invoke("bundle", "export", str(bundle), "--db", url)
    assert code == 0, out
    code, out = _invoke("verify", str(bundle), "--log-key", vkey, "--format", "json")
    assert code == 0, out
    assert '"ok": true' in out
    code, out = _invoke("verify", str(bundle))  # no key: only self-consistency, refused
    assert code == 1
    assert out.startswith("trusted: no log key given: this report only shows that the copy agrees")
    code, out = _invoke("verify", str(bundle), "--trust-bundle-key")
    assert code == 0, out
    assert out.startswith("trusted: no log key given")
    code, out = _invoke("verify", str(bundle), "--log-key", vkey)
    assert code == 0, out
    assert out.startswith(f"trusted: log key given: cli.example/log {parse_vkey(vkey).fingerprint}")
    tampered = tmp_path / "tampered"
    shutil.copytree(bundle, tampered)
    (tampered / "tallies.json").write_text('{"constituencies": {}}')
    code, out = _invoke("verify", str(tampered), "--log-key", vkey, "--format", "csv")
    assert code == 1
    assert "tallies recomputed,FAILED" in out


def test_witness_command_cosigns_over_http(home: Path, tmp_path: Path, sqlite_db: Database) -> None:
    _invoke("keygen", "cli.example/log")
    code, witness_vkey = _invoke("keygen", "w.example/w1", "--witness", "--out", str(tmp_path / "w.key"))
    assert code == 0
    log_vkey = (home / "keys" / "log.vkey").read_text().strip()
    with sqlite_db.begin() as conn:
        service.append(conn, [make_sheet("1", {"1": 1})])
    _invoke("log", "checkpoint", "--db", sqlite_db.url)
    note = service.latest_checkpoint(sqlite_db)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "pollwatch.cli.main", "witness", "--log-key", log_vkey]
    command += ["--key-file", str(tmp_path / "w.key"), "--port", "0"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        url = banner.split(" on ")[1].strip().removesuffix("/add-checkpoint")
        lines = push_checkpoint(url, old_size=0, proof=[], note=note, timeout=5)
    finally:
        process.terminate()
        process.wait(timeout=10)
    signed = note + lines[0].line()
    verify_cosignature(signed, parse_vkey(witness_vkey.splitlines()[0]))
    assert (tmp_path / "w.state.json").exists()
