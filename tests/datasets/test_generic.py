"""The generic format: CSV bundle and JSON document give the same election; bad values are named."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from pollwatch.datasets import Dataset, generic, read
from pollwatch.errors import DataError
from pollwatch.model import CandidateKey, ResultSheet, Role, SheetKind
from tests.datasets.conftest import KENYA, replace_in, write_bundle


def test_generic_bundle_reads_every_table(kenya_bundle: Path) -> None:
    d = read(f"generic:{kenya_bundle}", Path("."))
    assert d.election.slug == "ke-2022-demo"
    assert d.name == "generic:kenya"
    assert [c.code for c in d.constituencies] == ["290"]
    assert [s.number for s in d.stations] == ["001", "002"]
    assert [c.party for c in d.candidates] == ["ODM", "UDA", None]
    first = d.sheets[0]
    assert first.kind is SheetKind.STATION_COUNT
    assert first.form == "34A"
    assert first.votes == {CandidateKey(1): 300, CandidateKey(2): 190, CandidateKey(3): 10}
    assert first.provenance.role is Role.AGENT
    assert first.extra == {"sheet": "34A-001", "stream": "1"}
    assert d.sheets[2].kind is SheetKind.CONSOLIDATED


def test_generic_json_equals_bundle(kenya_bundle: Path, kenya_json: Path) -> None:
    from_csv = read(f"generic:{kenya_bundle}", Path("."))
    from_json = read(f"generic:{kenya_json}", Path("."))

    def strip(d: Dataset) -> list[ResultSheet]:  # the source names the file, so it differs
        return [replace(s, provenance=replace(s.provenance, source="")) for s in d.sheets]

    assert strip(from_json) == strip(from_csv)
    assert from_json.name == "generic:kenya.json"
    assert from_json.stations == from_csv.stations
    assert from_json.candidates == from_csv.candidates
    assert from_json.election == from_csv.election


def test_generic_arithmetic_is_reported_not_refused(kenya_bundle: Path) -> None:
    d = read(f"generic:{kenya_bundle}", Path("."))
    # 34A-002 in the fixture: polled 450, but valid 300 + rejected 1, and only 400 registered.
    assert [(f.kind, f.location) for f in d.findings] == [
        ("polled_not_valid_plus_rejected", "290 station 002 sheet 34A-002"),
        ("polled_exceeds_registered", "290 station 002 sheet 34A-002"),
    ]


def test_generic_bad_kind_names_file_row_column_value(kenya_bundle: Path) -> None:
    replace_in(kenya_bundle / "sheets.csv", "consolidated", "tally")
    with pytest.raises(DataError, match=r"sheets.csv: row 4, column 'kind'") as caught:
        read(f"generic:{kenya_bundle}", Path("."))
    assert caught.value.problems[0].found == "'tally'"


def test_generic_bad_number_in_votes(kenya_bundle: Path) -> None:
    replace_in(kenya_bundle / "votes.csv", ",190", ",19O")
    with pytest.raises(DataError, match=r"votes.csv: row 3, column 'votes'"):
        read(f"generic:{kenya_bundle}", Path("."))


def test_generic_votes_for_unknown_sheet(kenya_bundle: Path) -> None:
    replace_in(kenya_bundle / "votes.csv", "34B-290", "34B-999")
    with pytest.raises(DataError, match="votes for sheets not in sheets.csv"):
        read(f"generic:{kenya_bundle}", Path("."))


def test_generic_unknown_column_is_refused(tmp_path: Path) -> None:
    tables = {**KENYA, "parties": [{"code": "UDA", "name": "U", "leader_phone": "0700"}]}
    folder = write_bundle(tmp_path / "k", tables)
    with pytest.raises(DataError, match=r"parties.csv: row 2, column 'leader_phone'"):
        read(f"generic:{folder}", Path("."))


def test_generic_missing_required_file(kenya_bundle: Path) -> None:
    (kenya_bundle / "constituencies.csv").unlink()
    with pytest.raises(DataError, match="constituencies.csv is missing"):
        read(f"generic:{kenya_bundle}", Path("."))


def test_generic_json_not_json(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"election": {"slug": ')
    with pytest.raises(DataError, match=r"broken.json: row 1, column \d+: not valid JSON"):
        read(f"generic:{path}", Path("."))


def test_generic_json_bad_sheet_names_item(kenya_json: Path) -> None:
    doc = json.loads(kenya_json.read_text())
    doc["sheets"][1]["valid"] = -3
    kenya_json.write_text(json.dumps(doc))
    with pytest.raises(DataError, match=r"row sheets\[1\], column 'valid'"):
        read(f"generic:{kenya_json}", Path("."))


def test_generic_source_name_fits_the_column() -> None:
    assert len(generic.source_name(Path("x" * 200))) == 64


def test_generic_unknown_party_and_constituency_are_named(kenya_bundle: Path) -> None:
    replace_in(kenya_bundle / "candidates.csv", "Candidate B,UDA", "Candidate B,KANU")
    replace_in(kenya_bundle / "stations.csv", "290,2,002", "299,2,002")
    with pytest.raises(DataError, match="refers to things it does not define") as caught:
        read(f"generic:{kenya_bundle}", Path("."))
    found = {(p.where, p.found) for p in caught.value.problems}
    assert found == {
        ("stations item 2, column 'constituency'", "'299'"),
        ("candidates item 2, column 'party'", "'KANU'"),
    }
