"""The 2018 polling-scheme importer: a trimmed copy for behaviour, the full file (slow) for counts."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from pollwatch.datasets import read
from pollwatch.errors import DataError
from pollwatch.model import Booths, Registered, StationSex
from tests.conftest import require_shared_data
from tests.datasets.conftest import copy_dataset, replace_in

NAME = "pakistan-2018-pollingstation"
SCHEME = "ecp_gis_polling_scheme_2018.csv"
GAPS = "form28_2018_ps_sequence_gaps.csv"


@pytest.fixture
def trimmed(tmp_path: Path) -> Path:
    """The first 200 stations and 20 gaps, in a data dir of its own."""
    copy_dataset(require_shared_data(NAME), tmp_path / NAME, head={SCHEME: 201, GAPS: 21})
    return tmp_path


def test_2018_ps_assembly_na_is_the_national_assembly(trimmed: Path) -> None:
    d = read(NAME, trimmed)
    first = d.constituencies[0]
    assert (first.code, first.assembly, first.region) == ("NA-40", "NA", "FATA")
    station = d.stations[0]
    assert station.serial == 1
    assert station.number == "1"
    assert station.registered == Registered(male=778, female=603, total=1381)
    assert station.booths == Booths(male=2, female=1, total=3)
    assert station.sex is StationSex.COMBINED
    assert station.location is None


def test_2018_ps_constituency_registered_is_the_station_sum(trimmed: Path) -> None:
    d = read(NAME, trimmed)
    for c in d.constituencies:
        mine = [s for s in d.stations if s.constituency == c.code]
        assert c.registered.total == sum(s.registered.total or 0 for s in mine)


def test_2018_ps_duplicate_serial_is_kept_once_and_reported(trimmed: Path) -> None:
    path = trimmed / NAME / SCHEME
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join([*lines, lines[5]]))
    d = read(NAME, trimmed)
    assert len(d.stations) == 200
    found = [f for f in d.findings if f.kind == "station_duplicate_serial"]
    assert [f.location for f in found] == ["NA-40 station serial 5"]
    assert found[0].severity == "warning"  # identical rows
    assert "NA-40 station 5" in {f.location for f in d.findings if f.kind == "station_duplicate_number"}


def test_2018_ps_decimal_comma_is_read_and_reported(trimmed: Path) -> None:
    path = trimmed / NAME / SCHEME
    lines = path.read_text().splitlines(keepends=True)
    lines.append('Sindh,NA,3,NA-999,Test,1,1,School,1,1,2,10,10,20,"25,5049","69,5739"\n')
    path.write_text("".join(lines))
    d = read(NAME, trimmed)
    station = d.stations[-1]
    assert station.location is not None
    assert (station.location.latitude, station.location.longitude) == (25.5049, 69.5739)
    assert [f.location for f in d.findings if f.kind == "station_location_decimal_comma"] == [
        "NA-999 station serial 1"
    ]


def test_2018_ps_gaps_are_findings(trimmed: Path) -> None:
    d = read(NAME, trimmed)
    gaps = [f for f in d.findings if f.kind == "station_sequence_gap"]
    assert len(gaps) == 20
    assert gaps[0].location == "NA-259 station 173"


def test_2018_ps_bad_voters_names_file_row_column_value(trimmed: Path) -> None:
    replace_in(trimmed / NAME / SCHEME, "2,1,3,778,603,1381", "2,1,3,778,six hundred,1381")
    with pytest.raises(
        DataError, match=rf"{SCHEME}: row 2, column 'female_voters': cannot read 'six hundred'"
    ):
        read(NAME, trimmed)


def test_2018_ps_unknown_assembly_is_refused(trimmed: Path) -> None:
    replace_in(trimmed / NAME / SCHEME, "FATA,NA,10,NA-40", "FATA,XX,10,NA-40")
    with pytest.raises(DataError, match=r"row 2, column 'assembly'") as caught:
        read(NAME, trimmed)
    assert "NA (National Assembly)" in caught.value.problems[0].expected


def test_2018_ps_male_female_must_add_up(trimmed: Path) -> None:
    replace_in(trimmed / NAME / SCHEME, "778,603,1381", "778,603,1382")
    with pytest.raises(DataError, match=r"row 2, column 'total_voters'"):
        read(NAME, trimmed)


@pytest.mark.slow
def test_2018_ps_full_scheme_counts() -> None:
    folder = require_shared_data(NAME)
    with (folder / SCHEME).open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 95_951
    serials = Counter((r["constituency_code"], r["list_sno"]) for r in rows)
    numbers = Counter((r["constituency_code"], r["ps_no"]) for r in rows)
    d = read(NAME, folder.parent)
    assert len(d.stations) == len(serials) == 95_945
    kinds = d.findings_by_kind()
    assert kinds["station_duplicate_serial"] == sum(n - 1 for n in serials.values() if n > 1) == 6
    assert kinds["station_duplicate_number"] == sum(1 for n in numbers.values() if n > 1) == 646
    assert kinds["station_sequence_gap"] == 10_384
    na_repeats = sum(n - 1 for (code, _), n in serials.items() if n > 1 and code.startswith("NA-"))
    na_rows = sum(1 for r in rows if r["assembly"] == "NA")  # "NA" is an assembly, never "missing"
    assert sum(1 for s in d.stations if s.constituency.startswith("NA-")) == na_rows - na_repeats
