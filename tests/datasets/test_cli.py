"""``pollwatch import/findings/export/winners`` through typer's CliRunner, good input and bad."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pollwatch.cli.main import app
from pollwatch.storage import Database
from tests.conftest import require_shared_data
from tests.datasets.conftest import replace_in

runner = CliRunner()


def _url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.sqlite3'}"


def _elections(url: str) -> list[str]:
    with Database(url).connect() as conn:
        from pollwatch.storage.structure import list_elections

        return [e.slug for _, e in list_elections(conn)]


def test_cli_import_then_again_reports_already_imported(tmp_path: Path, kenya_bundle: Path) -> None:
    url = _url(tmp_path)
    first = runner.invoke(app, ["import", f"generic:{kenya_bundle}", "--db", url])
    assert first.exit_code == 0, first.output
    assert "generic:kenya -> ke-2022-demo: imported" in first.output
    assert "polled_not_valid_plus_rejected" in first.output
    second = runner.invoke(app, ["import", f"generic:{kenya_bundle}", "--db", url])
    assert second.exit_code == 0
    assert "already imported" in second.output


def test_cli_findings_by_kind_as_json(tmp_path: Path, kenya_bundle: Path) -> None:
    url = _url(tmp_path)
    runner.invoke(app, ["import", f"generic:{kenya_bundle}", "--db", url])
    result = runner.invoke(
        app,
        ["findings", "ke-2022-demo", "--kind", "polled_exceeds_registered", "--db", url, "--format", "json"],
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [(r["kind"], r["location"]) for r in rows] == [
        ("polled_exceeds_registered", "290 station 002 sheet 34A-002")
    ]


def test_cli_export_writes_files(tmp_path: Path, kenya_bundle: Path) -> None:
    url = _url(tmp_path)
    runner.invoke(app, ["import", f"generic:{kenya_bundle}", "--db", url])
    out = tmp_path / "open-data"
    result = runner.invoke(
        app, ["export", "ke-2022-demo", "--format", "parquet", "--out", str(out), "--db", url]
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "candidates.parquet",
        "constituencies.parquet",
        "parties.parquet",
        "sheets.parquet",
        "stations.parquet",
        "votes.parquet",
    ]


def test_cli_import_unknown_dataset_fails_and_creates_nothing(tmp_path: Path) -> None:
    result = runner.invoke(app, ["import", "pakistan-1990", "--db", _url(tmp_path)])
    assert result.exit_code == 1
    assert "unknown dataset 'pakistan-1990'" in result.output
    assert not (tmp_path / "cli.sqlite3").exists()


def test_cli_import_bad_file_fails_and_writes_nothing(tmp_path: Path, kenya_bundle: Path) -> None:
    replace_in(kenya_bundle / "candidates.csv", "290,2,Candidate B", "290,two,Candidate B")
    url = _url(tmp_path)
    result = runner.invoke(app, ["import", f"generic:{kenya_bundle}", "--db", url])
    assert result.exit_code == 1
    assert "candidates.csv: row 3, column 'ballot_order'" in result.output
    assert "found: 'two'" in result.output
    assert _elections(url) == []


def test_cli_import_missing_data_dir(tmp_path: Path) -> None:
    url = _url(tmp_path)
    result = runner.invoke(
        app, ["import", "pakistan-2018", "--data-dir", str(tmp_path / "none"), "--db", url]
    )
    assert result.exit_code == 1
    assert "the folder of pakistan-2018-constituency is missing" in result.output
    assert _elections(url) == []


def test_cli_findings_unknown_election(tmp_path: Path) -> None:
    url = _url(tmp_path)
    runner.invoke(app, ["init", "--db", url])
    result = runner.invoke(app, ["findings", "pk-1970", "--db", url])
    assert result.exit_code == 1
    assert "no election 'pk-1970'" in result.output


def test_cli_export_bad_format(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["export", "pk-2018", "--format", "xlsx", "--out", str(tmp_path), "--db", _url(tmp_path)]
    )
    assert result.exit_code != 0
    assert "xlsx" in result.output


def test_cli_winners_needs_final_sheets(tmp_path: Path, kenya_bundle: Path) -> None:
    url = _url(tmp_path)
    runner.invoke(app, ["import", f"generic:{kenya_bundle}", "--db", url])
    result = runner.invoke(app, ["winners", "ke-2022-demo", "--assembly", "PRES", "--db", url])
    assert result.exit_code == 1
    assert "has no final result sheets" in result.output


@pytest.fixture(scope="module")
def pk2018(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database with pakistan-2018-constituency imported through the CLI (once for this module)."""
    data = require_shared_data("pakistan-2018-constituency").parent
    url = _url(tmp_path_factory.mktemp("pk2018"))
    imported = runner.invoke(
        app, ["import", "pakistan-2018-constituency", "--data-dir", str(data), "--db", url]
    )
    assert imported.exit_code == 0, imported.output
    assert "final_polled_not_updated" in imported.output
    return url


def test_cli_winners_2018_na_as_csv(pk2018: str) -> None:
    url = pk2018
    result = runner.invoke(app, ["winners", "pk-2018", "--assembly", "NA", "--db", url, "--format", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["contests"] == 270
    assert sum(document["seats_by_party"].values()) == 270
    csv_out = runner.invoke(app, ["winners", "pk-2018", "--assembly", "NA", "--db", url, "--format", "csv"])
    assert csv_out.stdout.splitlines()[0] == "constituency,name,winner,party,votes,margin,tied"
    assert len(csv_out.stdout.splitlines()) == 271


def test_cli_export_unknown_election_writes_nothing(tmp_path: Path) -> None:
    url = _url(tmp_path)
    runner.invoke(app, ["init", "--db", url])
    out = tmp_path / "never"
    result = runner.invoke(app, ["export", "pk-1970", "--out", str(out), "--db", url])
    assert result.exit_code == 1
    assert "no election 'pk-1970'" in result.output
    assert not out.exists()


def test_cli_winners_unknown_label(pk2018: str) -> None:
    url = pk2018
    result = runner.invoke(app, ["winners", "pk-2018", "--assembly", "NA", "--label", "final", "--db", url])
    assert result.exit_code == 1
    assert "no final sheets labelled 'final'" in result.output
    assert "2018-09-04 final" in result.output


def test_cli_commands_on_a_missing_database(tmp_path: Path) -> None:
    url = _url(tmp_path)
    for command in (["findings", "pk-2018"], ["winners", "pk-2018", "--assembly", "NA"]):
        result = runner.invoke(app, [*command, "--db", url])
        assert result.exit_code == 1, command
        assert "not initialised" in result.output
