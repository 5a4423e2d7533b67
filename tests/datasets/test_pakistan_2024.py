"""The 2024 importers: Wikipedia-transcribed NA results, Form-33 rosters and the form45.com tallies."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import pytest

from pollwatch.datasets import Dataset, read
from pollwatch.errors import DataError
from pollwatch.model import Role, SheetKind
from tests.conftest import require_shared_data
from tests.datasets.conftest import copy_dataset, replace_in

CONSTITUENCY = "pakistan-2024-constituency"
STATIONS = "pakistan-2024-pollingstation"


@pytest.fixture(scope="module")
def data_dir() -> Path:
    require_shared_data(CONSTITUENCY)
    return require_shared_data(STATIONS).parent


@pytest.fixture(scope="module")
def results(data_dir: Path) -> Dataset:
    return read(CONSTITUENCY, data_dir)


@pytest.fixture(scope="module")
def tallies(data_dir: Path) -> Dataset:
    return read(STATIONS, data_dir)


def _wiki_rows(data_dir: Path) -> list[dict[str, str]]:
    with (data_dir / CONSTITUENCY / "na_2024_candidates_wikipedia.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_2024_one_final_sheet_per_na_seat(results: Dataset) -> None:
    finals = [s for s in results.sheets if s.kind is SheetKind.FINAL]
    assert len(finals) == 266
    assert {s.label for s in finals} == {"wikipedia-transcribed final"}
    assert all(s.constituency.startswith("NA-") for s in finals)


def test_2024_others_rows_are_not_candidates(results: Dataset, data_dir: Path) -> None:
    rows = _wiki_rows(data_dir)
    others: Counter[str] = Counter()
    named: Counter[str] = Counter()
    for r in rows:
        if r["candidate"].startswith("Others ("):
            others[r["constituency_code"]] += int(r["votes"])
        else:
            named[r["constituency_code"]] += int(r["votes"])
    assert len(others) == 262  # README: an Others row in 262/266 seats
    for s in results.sheets:
        assert s.extra.get("others_votes", 0) == others.get(s.constituency, 0), s.constituency
        assert s.candidate_sum == named[s.constituency], s.constituency
    assert not [c for c in results.candidates if c.name.startswith("Others (")]


def test_2024_ballot_order_follows_form33_serials(results: Dataset, data_dir: Path) -> None:
    roster = json.loads((data_dir / CONSTITUENCY / "candidate_lists_form33/NA/punjab.json").read_text())
    serials = {c["SerialNo"]: c["Name in English"] for c in roster["NA-46"]["Candidates"]}
    ballot = {c.ballot_order: c.name for c in results.candidates if c.constituency == "NA-46"}
    unchanged = [k for k in serials if ballot.get(k) == serials[k]]
    assert len(unchanged) >= len(serials) - 5  # results rows may rename a few (reported as loose matches)


def test_2024_candidates_carry_their_form33_urdu_name(results: Dataset, data_dir: Path) -> None:
    roster = json.loads((data_dir / CONSTITUENCY / "candidate_lists_form33/NA/punjab.json").read_text())
    urdu = {c["SerialNo"]: c["Name in Urdu"] for c in roster["NA-46"]["Candidates"] if c.get("Name in Urdu")}
    ballot = {c.ballot_order: c.name_ur for c in results.candidates if c.constituency == "NA-46"}
    assert urdu
    assert all(ballot.get(k) == name for k, name in urdu.items())
    assert sum(1 for c in results.candidates if c.name_ur) > 1000  # every roster digitised in Urdu


def test_2024_no_roster_address_is_loaded(results: Dataset, data_dir: Path) -> None:
    roster = json.loads((data_dir / CONSTITUENCY / "candidate_lists_form33/NA/kpk.json").read_text())
    addresses = {c["Address"] for seat in roster.values() for c in seat["Candidates"] if c.get("Address")}
    text = repr(results)
    assert not [a for a in addresses if len(a) > 12 and a in text]


def test_2024_form45_rows_are_agent_sheets(tallies: Dataset, data_dir: Path) -> None:
    files = sorted((data_dir / STATIONS / "form45").glob("*.csv"))
    rows = 0
    numbered = 0
    for path in files:
        with path.open(newline="", encoding="utf-8") as handle:
            for r in csv.DictReader(handle):
                rows += 1
                numbered += r["No"].strip().isdigit()
    assert len(files) == 58
    assert rows == 15_849
    assert len(tallies.sheets) == numbered
    invalid = [f for f in tallies.findings if f.kind == "form45_station_number_invalid"]
    assert len(invalid) == rows - numbered
    sheet = tallies.sheets[0]
    assert sheet.kind is SheetKind.STATION_COUNT
    assert sheet.form == "Form-45"
    assert sheet.provenance.role is Role.AGENT
    assert sheet.provenance.organisation == "PTI (form45.com)"


def test_2024_form45_all_zero_rows_are_reported(tallies: Dataset, data_dir: Path) -> None:
    zero = 0
    for path in sorted((data_dir / STATIONS / "form45").glob("*.csv")):
        with path.open(newline="", encoding="utf-8") as handle:
            for r in csv.DictReader(handle):
                parties = [k for k in r if k not in ("No", "Name", "Total Votes", "Filename")]
                zero += r["No"].strip().isdigit() and all(int(r[p]) == 0 for p in parties)
    assert sum(1 for f in tallies.findings if f.kind == "form45_all_zero") == zero > 0


def test_2024_form45_party_columns_map_to_candidates(tallies: Dataset, results: Dataset) -> None:
    ballot = {(c.constituency, c.ballot_order): c for c in results.candidates}
    pti = 0
    for s in tallies.sheets:
        for key in s.votes:
            assert (s.constituency, key) in ballot
        unmatched = s.extra.get("unmatched_votes", {})
        pti += sum(1 for key in s.votes if ballot[(s.constituency, key)].party == "PTI")
        assert set(unmatched).isdisjoint({"No", "Name"})
    assert pti > 10_000
    without = {f.location for f in tallies.findings if f.kind == "form45_party_without_candidate"}
    assert {"PK-79", "PP-145"} <= without  # PA rosters list PTI-backed candidates as independents


def test_2024_departures_from_official_are_reported(tallies: Dataset) -> None:
    departures = [f for f in tallies.findings if f.kind == "form45_departs_from_official"]
    assert departures
    assert all(f.location.startswith("NA-") for f in departures)


def test_2024_bad_form45_vote_names_file_row_column(data_dir: Path, tmp_path: Path) -> None:
    copy_dataset(data_dir / CONSTITUENCY, tmp_path / CONSTITUENCY)
    copy_dataset(data_dir / STATIONS, tmp_path / STATIONS)
    path = tmp_path / STATIONS / "form45" / "NA-46.csv"
    lines = path.read_text().splitlines()
    cells = lines[1].split(",")
    cells[2] = "12.5"
    lines[1] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"NA-46.csv: row 2, column '[A-Z-]+': cannot read '12.5'"):
        read(STATIONS, tmp_path)


def test_2024_bad_roster_json_is_named(data_dir: Path, tmp_path: Path) -> None:
    copy_dataset(data_dir / CONSTITUENCY, tmp_path / CONSTITUENCY)
    path = tmp_path / CONSTITUENCY / "candidate_lists_form33" / "NA" / "sindh.json"
    path.write_text(path.read_text()[:-20])
    with pytest.raises(DataError, match=r"sindh.json: row \d+, column \d+: not valid JSON"):
        read(CONSTITUENCY, tmp_path)


def test_2024_bad_result_vote_is_named(data_dir: Path, tmp_path: Path) -> None:
    copy_dataset(data_dir / CONSTITUENCY, tmp_path / CONSTITUENCY)
    replace_in(
        tmp_path / CONSTITUENCY / "na_2024_candidates_wikipedia.csv",
        "Abdul Latif,61834",
        "Abdul Latif,61,834",
    )
    with pytest.raises(DataError, match=r"na_2024_candidates_wikipedia.csv: row 2"):
        read(CONSTITUENCY, tmp_path)
