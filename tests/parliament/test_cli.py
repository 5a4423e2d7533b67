"""The commands of the done-means: `pollwatch parliament` and `pollwatch audit` on the 2018 files,
`pollwatch repoll` and `pollwatch tally` on a stored synthetic election."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pollwatch.cli.main import app
from pollwatch.storage import Database
from pollwatch.synth import Manipulation, ManipulationKind, SynthConfig, generate, store
from pollwatch.tally.inputs import ResultsInput
from tests.conftest import require_shared_data
from tests.parliament.conftest import read_once

runner = CliRunner()


def test_parliament_and_audit_on_2018_files(pk2018: ResultsInput, monkeypatch: pytest.MonkeyPatch) -> None:
    data = str(Path(require_shared_data("pakistan-2018-constituency")).parent)
    monkeypatch.setattr("pollwatch.datasets.read", read_once)  # parsed once by the pk2018 fixture
    result = runner.invoke(
        app, ["parliament", "--dataset", "pakistan-2018", "--data-dir", data, "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["assembly"] == "NA"
    assert doc["general_by_party"]["PTI"] == 116  # ECP 2018: PTI won 116 NA general seats
    pti = [w for w in doc["winners"] if w["sits_with"] == "PTI"]
    assert len(pti) == 116
    assert all(w["candidate"] and w["position"] >= 1 for w in pti)
    assert doc["party_names"]["PTI"] != ""
    result = runner.invoke(
        app,
        [
            "audit",
            "--dataset",
            "pakistan-2018",
            "--data-dir",
            data,
            "--format",
            "json",
            "--assembly",
            "NA",
            "--kind",
            "winner_changed_after_provisional",
        ],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["counts"] == {"winner_changed_after_provisional": len(doc["findings"])}
    assert doc["where"]["winner_changed_after_provisional"] == [f["where"] for f in doc["findings"]]
    assert doc["findings"]


def test_repoll_and_tally_on_a_stored_election(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLLWATCH_HOME", str(tmp_path / "home"))
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    db = Database(url)
    db.upgrade()
    altered = (Manipulation(ManipulationKind.ALTERED_TOTALS, share=1.0, strength=0.5),)
    e = generate(
        SynthConfig(seed=8, n_stations=90, n_constituencies=2, n_candidates=3, manipulations=altered)
    )
    store(db, e, slug="synth-8")
    code = e.constituency_codes[0]
    result = runner.invoke(
        app,
        [
            "repoll",
            "--election",
            "synth-8",
            "--db",
            url,
            "--constituency",
            code,
            "--stations",
            "1,2,3,4",
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["registered_at_stake"] == int(e.registered[:4].sum())
    result = runner.invoke(
        app, ["tally", "--election", "synth-8", "--db", url, "--level", "nation", "--format", "csv"]
    )
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == "region,party,party_name,votes,leading,decided"
    result = runner.invoke(app, ["audit", "--election", "synth-8", "--db", url, "--save", "--format", "csv"])
    assert result.exit_code == 0, result.output
    with db.connect() as conn:
        from pollwatch.storage.findings import list_findings
        from pollwatch.storage.structure import get_election

        stored = list_findings(conn, get_election(conn, "synth-8")[0], source="audit")
    assert stored
    assert f"stored {len(stored)} findings for synth-8" in result.output
    assert {f.location for f in stored if f.kind == "official_total_differs"} == set(e.constituency_codes)
    result = runner.invoke(app, ["tally", "--db", url])
    assert result.exit_code == 1
    assert "exactly one of --dataset NAME or --election SLUG" in result.output
