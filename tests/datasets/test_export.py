"""Export writes every table, reads back equal in CSV, JSON and Parquet, and carries no personal data."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pollwatch.cli.common import OutputFormat, emit
from pollwatch.datasets import import_dataset
from pollwatch.datasets.export import ExportFormat, _write_csv, export_election
from pollwatch.errors import InputError, NotFoundError
from pollwatch.storage import Database
from tests.datasets.conftest import KENYA, write_bundle


def _read_back(path: Path) -> list[dict[str, object]]:
    if path.suffix == ".csv":
        with path.open(newline="", encoding="utf-8") as handle:
            return list(csv.DictReader(handle))
    if path.suffix == ".json":
        return list(json.loads(path.read_text()))
    return list(pq.read_table(path).to_pylist())


@pytest.mark.parametrize("fmt", list(ExportFormat))
def test_export_reads_back(db: Database, kenya_bundle: Path, tmp_path: Path, fmt: ExportFormat) -> None:
    import_dataset(db, f"generic:{kenya_bundle}", Path("."))
    with db.connect() as conn:
        written = export_election(conn, "ke-2022-demo", fmt=fmt, out=tmp_path / "out")
    assert sorted(written) == sorted(
        ["constituencies", "stations", "candidates", "parties", "sheets", "votes"]
    )
    tables = {name: _read_back(path) for name, path in written.items()}
    assert len(tables["stations"]) == 2
    assert len(tables["candidates"]) == 3
    assert len(tables["sheets"]) == 3
    assert len(tables["votes"]) == 9
    assert sum(int(str(v["votes"])) for v in tables["votes"]) == 1600
    by_sheet = {str(s["sheet"]): s for s in tables["sheets"]}
    forms = sorted(str(s["form"]) for s in by_sheet.values())
    assert forms == ["34A", "34A", "34B"]
    assert {str(v["sheet"]) for v in tables["votes"]} == set(by_sheet)
    assert [str(c["code"]) for c in tables["constituencies"]] == ["290"]


def test_export_drops_personal_fields_from_extra(sqlite_db: Database, tmp_path: Path) -> None:
    sheets = [dict(s) for s in KENYA["sheets"]]
    sheets[0]["extra"] = '{"stream": "1", "agent_phone": "+254700000000", "submitter_name": "Jane"}'
    folder = write_bundle(tmp_path / "k", {**KENYA, "sheets": sheets})
    import_dataset(sqlite_db, f"generic:{folder}", Path("."))
    with sqlite_db.connect() as conn:
        written = export_election(conn, "ke-2022-demo", fmt=ExportFormat.CSV, out=tmp_path / "out")
    text = "".join(p.read_text() for p in written.values())
    assert "+254700000000" not in text
    assert "Jane" not in text
    assert '""stream"": ""1""' in text


def test_export_unknown_election_writes_nothing(sqlite_db: Database, tmp_path: Path) -> None:
    with sqlite_db.connect() as conn, pytest.raises(NotFoundError, match="no election 'pk-1970'"):
        export_election(conn, "pk-1970", fmt=ExportFormat.CSV, out=tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_export_out_must_be_a_folder(sqlite_db: Database, kenya_bundle: Path, tmp_path: Path) -> None:
    import_dataset(sqlite_db, f"generic:{kenya_bundle}", Path("."))
    target = tmp_path / "file.txt"
    target.write_text("x")
    with sqlite_db.connect() as conn, pytest.raises(InputError, match="--out must be a folder"):
        export_election(conn, "ke-2022-demo", fmt=ExportFormat.JSON, out=target)


FORMULAS = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"]


def test_csv_export_neutralises_spreadsheet_formulas(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    _write_csv(path, ["name", "votes"], [(text, -5) for text in FORMULAS] + [("NA-1", 3)])
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["name"] for r in rows] == ["'" + text for text in FORMULAS] + ["NA-1"]
    assert {r["votes"] for r in rows} == {"-5", "3"}  # numbers are not text cells


def test_cli_csv_output_neutralises_formulas(capsys: pytest.CaptureFixture[str]) -> None:
    emit([{"party": "=cmd|'/c calc'!A1", "seats": -1}], OutputFormat.CSV)
    assert capsys.readouterr().out.splitlines()[1] == "'=cmd|'/c calc'!A1,-1"
