"""``pollwatch pack export`` and ``pollwatch pack verify`` end to end, with the log key of the CLI's home."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pollwatch.cli.main import app
from pollwatch.ledger.note import parse_vkey
from pollwatch.storage import Database
from pollwatch.synth import SynthConfig, generate, store
from pollwatch.tally.projector import Projector
from tests.packs.conftest import Night

runner = CliRunner()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("POLLWATCH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("POLLWATCH_LOG_ORIGIN", "cli.example/log")
    monkeypatch.delenv("POLLWATCH_LOG_KEY", raising=False)
    monkeypatch.delenv("POLLWATCH_WITNESSES", raising=False)
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    return tmp_path / "home"


def test_export_then_verify_from_the_command_line(home: Path, tmp_path: Path, sqlite_db: Database) -> None:
    store(sqlite_db, generate(SynthConfig(seed=3, n_stations=40, n_constituencies=2)), slug="cli-night")
    Projector(sqlite_db).catch_up()
    out = tmp_path / "pack"
    args = ["pack", "export", "SYN-1", str(out), "--election", "cli-night", "--db", sqlite_db.url]
    result = runner.invoke(app, [*args, "--lang", "ur", "--gazette-date", "2030-01-20"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"pack {out} (and pack.zip): ")
    manifest = json.loads((out / "manifest.json").read_text())
    assert (manifest["lang"], manifest["constituency"]) == ("ur", "SYN-1")
    vkey = (home / "keys" / "log.vkey").read_text().strip()
    result = runner.invoke(app, ["pack", "verify", str(out), "--log-key", vkey])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"trusted: log key given: cli.example/log {parse_vkey(vkey).fingerprint}")
    result = runner.invoke(app, ["pack", "verify", str(out)])
    assert result.exit_code == 1
    late = [*args[:3], str(tmp_path / "p2"), *args[4:], "--gazette-date", "soon"]
    bad = runner.invoke(app, late)
    assert bad.exit_code == 1
    assert "--gazette-date is not a date" in bad.output


def test_verify_names_the_failed_check_and_exits_1(night: Night, pack_copy: Path) -> None:
    (pack_copy / "custody.json").write_text(
        (pack_copy / "custody.json").read_text().replace('"entered_log_at": "', '"entered_log_at": "1', 1)
    )
    vkey = night.anchor.log_key.vkey if night.anchor.log_key else ""
    witness = night.anchor.witnesses[0].vkey
    args = ["pack", "verify", str(pack_copy), "--log-key", vkey, "--witness-key", witness]
    result = runner.invoke(app, [*args, "--format", "csv"])
    assert result.exit_code == 1
    assert "custody record,FAILED" in result.output
    assert "file hashes,FAILED" in result.output
    assert "inclusion proofs,passed" in result.output
