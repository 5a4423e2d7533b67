"""The server, the CLI and the offline verifier reconcile the same leaves by the same rule."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from pollwatch.api.app import create_app
from pollwatch.cli.main import app as cli
from pollwatch.intake.testing import create_tiny_election
from pollwatch.ledger import records
from pollwatch.ledger import service as ledger
from pollwatch.ledger.bundle import export_bundle
from pollwatch.ledger.settings import load_settings
from pollwatch.ledger.verify import verify_bundle
from pollwatch.storage import Database
from pollwatch.tally.projector import Projector

SLUG = "one-rule"


def _sheet(
    n: int, station: int, who: str, votes: tuple[int, int, int], supersedes: int | None = None
) -> records.LeafRecord:
    return records.sheet_record(
        election=SLUG, submission_id=f"one-rule-{n:04d}", kind="station_count", form="Form-45",
        constituency="NA-1" if station <= 3 else "NA-2", station=str(1 + (station - 1) % 3),
        votes={str(i + 1): v for i, v in enumerate(votes)}, totals={}, submitter_key=f"key-{who}",
        role="official" if who == "ecp" else "agent", organisation=who, captured_at="2026-02-08T18:00:00Z",
        received_at=f"2026-02-08T18:{n:02d}:00Z", photo_sha256=None, signature=None, supersedes=supersedes,
        checks=(),
    )  # fmt: skip


@pytest.fixture
def night(sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Database:
    monkeypatch.setenv("POLLWATCH_HOME", str(tmp_path / "home"))
    create_tiny_election(sqlite_db, slug=SLUG)
    with sqlite_db.begin() as conn:
        # station 1: two agreeing parties; station 2: a typo corrected by its own agent, plus a
        # conflicting copy; station 3: one party, and an official copy that differs; NA-2 station 1:
        # a correction sent by somebody else (withdraws nothing).
        first = ledger.append(
            conn,
            [
                _sheet(1, 1, "PartyA", (300, 200, 100)),
                _sheet(2, 1, "PartyB", (300, 200, 100)),
                _sheet(3, 2, "PartyA", (900, 10, 10)),
                _sheet(4, 2, "PartyB", (90, 10, 10)),
                _sheet(5, 3, "PartyA", (50, 60, 70)),
                _sheet(6, 3, "ecp", (50, 160, 70)),
                _sheet(7, 4, "PartyA", (11, 22, 33)),
            ],
        )
        ledger.append(
            conn,
            [
                _sheet(8, 2, "PartyA", (90, 10, 10), supersedes=first[2]),
                _sheet(9, 4, "PartyB", (11, 22, 30), supersedes=first[6]),
            ],
        )
    return sqlite_db


def _server(db: Database) -> dict[str, dict[str, int]]:
    Projector(db).catch_up()
    with TestClient(create_app(db)) as client:
        doc = client.get(f"/api/v1/elections/{SLUG}/tally").json()
    return {
        c["constituency"]: {str(k["position"]): k["votes"] for k in c["candidates"]}
        for c in doc["constituencies"]
    }


def _cli(db: Database) -> dict[str, dict[str, int]]:
    result = CliRunner().invoke(cli, ["tally", "--election", SLUG, "--db", db.url, "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    return {
        c["constituency"]: {str(k["position"]): k["votes"] for k in c["candidates"]}
        for c in doc["constituencies"]
    }


def _verifier(db: Database, tmp_path: Path) -> dict[str, dict[str, int]]:
    settings = load_settings()  # the log key under POLLWATCH_HOME, as the server's publisher uses it
    ledger.sign_checkpoint(db, settings)  # None when the server's publisher signed this size already
    export_bundle(db, tmp_path / "bundle", settings=settings)
    report = verify_bundle(tmp_path / "bundle")
    assert {c.name: c.passed for c in report.checks}["tallies recomputed"]
    tallies = json.loads((tmp_path / "bundle" / "tallies.json").read_text())["constituencies"]
    return {code: dict(t["votes"]) for code, t in tallies.items()}


def test_server_cli_and_verifier_agree_on_every_constituency(night: Database, tmp_path: Path) -> None:
    server, cli_tally, verifier = _server(night), _cli(night), _verifier(night, tmp_path)
    expected = {
        # station 1 agreed (300, 200, 100); station 2 corrected by PartyA to agree with PartyB
        # (90, 10, 10); station 3 PartyA's copy beats the official one (50, 60, 70).
        "NA-1": {"1": 440, "2": 270, "3": 180},
        # PartyB's "correction" of PartyA's copy is another copy: a tie, the earliest received wins.
        "NA-2": {"1": 11, "2": 22, "3": 33},
    }
    assert server == expected
    assert cli_tally == expected
    assert verifier == expected
