"""Importer for ``pakistan-2018-pollingstation``: the ECP GIS polling scheme of 2018 (95,951 rows).

Each row is one polling station: serial = ``list_sno`` (position in the scheme), number = ``ps_no``
(printed on the Form-45), registered voters and booths by sex, GPS, and the sex of the station inferred
from whom it registers. The assembly value ``NA`` means National Assembly, never "missing".
``form28_2018_ps_sequence_gaps.csv`` lists station numbers missing from the Form-28 sequences.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from pollwatch.datasets._common import finding
from pollwatch.datasets._dataset import Dataset
from pollwatch.datasets._files import Row, read_csv
from pollwatch.datasets._pakistan import PK_2018, assembly_of, normalise_code, province
from pollwatch.model import (
    Booths,
    Constituency,
    ConstituencyCode,
    GeoPoint,
    Registered,
    Station,
    StationNumber,
    StationSex,
)
from pollwatch.storage.findings import Finding

NAME = "pakistan-2018-pollingstation"
_SCHEME = "ecp_gis_polling_scheme_2018.csv"
_GAPS = "form28_2018_ps_sequence_gaps.csv"
FILES = (_SCHEME, _GAPS)
_COLUMNS = (
    "province",
    "assembly",
    "constituency_code",
    "constituency_name",
    "list_sno",
    "ps_no",
    "ps_name",
    "male_booths",
    "female_booths",
    "total_booths",
    "male_voters",
    "female_voters",
    "total_voters",
    "latitude",
    "longitude",
)
_NUMBERS = (
    "list_sno",
    "ps_no",
    "male_voters",
    "female_voters",
    "total_voters",
    "male_booths",
    "female_booths",
    "total_booths",
)
_ASSEMBLY = {"NA": ("NA",), "PA": ("PP", "PS", "PK", "PB")}
_DECIMAL = re.compile(r"^-?\d+(?:[.,]\d+)?$")
# Pakistan's extent with a margin; a point outside is kept but reported.
_LAT, _LON = (23.0, 37.5), (60.5, 78.0)


def read(folder: Path) -> Dataset:
    """Parse the polling scheme and the sequence gaps; raise DataError on an unreadable value."""
    rows = read_csv(folder / _SCHEME, columns=_COLUMNS)
    constituencies: dict[ConstituencyCode, Constituency] = {}
    registered: Counter[tuple[ConstituencyCode, str]] = Counter()
    stations: list[Station] = []
    findings: list[Finding] = []
    seen: dict[tuple[ConstituencyCode, int], Station] = {}
    every: list[Station] = []
    for row in rows:
        code = _code(row)
        station, found = _station(code, row)
        findings.extend(found)
        every.append(station)
        key = (code, station.serial)
        if key in seen:
            findings.append(_duplicate_serial(row, seen[key], station))
            continue
        seen[key] = station
        stations.append(station)
        if code not in constituencies:
            constituencies[code] = Constituency(
                code=code,
                assembly=assembly_of(code),
                delimitation=PK_2018.delimitation,
                name=row.text("constituency_name"),
                region=province(row.text("province")),
            )
        for sex, value in (("m", station.registered.male), ("f", station.registered.female)):
            registered[(code, sex)] += value or 0
    findings.extend(_duplicate_numbers(every))  # over every row, as the README counts them
    findings.extend(_gaps(folder))
    return Dataset(
        name=NAME,
        election=PK_2018,
        constituencies=[_with_registered(c, registered) for c in constituencies.values()],
        stations=stations,
        findings=findings,
    )


def _code(row: Row) -> ConstituencyCode:
    code = normalise_code(row.text("constituency_code"))
    if code is None:
        raise row.error("constituency_code", "a code such as NA-101 or PP-111")
    assembly = row.text("assembly")
    if assembly not in _ASSEMBLY:
        raise row.error("assembly", "NA (National Assembly) or PA (a provincial assembly)")
    if assembly_of(code) not in _ASSEMBLY[assembly]:
        raise row.error("assembly", f"the assembly of {code}")
    return code


def _station(code: ConstituencyCode, row: Row) -> tuple[Station, list[Finding]]:
    serial, number, male, female, total, *booths = row.integers(_NUMBERS)
    if male + female != total:
        raise row.error("total_voters", f"male + female voters = {male + female}")
    booth_counts = Booths(*booths)
    registered = Registered(male=male, female=female, total=total)
    location, findings = _location(code, row)
    station = Station(
        constituency=code,
        serial=serial,
        number=StationNumber(str(number)),
        name=row.text("ps_name"),
        sex=StationSex.from_registered(registered),
        registered=registered,
        booths=booth_counts,
        location=location,
    )
    return station, findings


def _location(code: ConstituencyCode, row: Row) -> tuple[GeoPoint | None, list[Finding]]:
    lat, lon = row.text("latitude"), row.text("longitude")
    if not lat and not lon:
        return None, []
    for column, value in (("latitude", lat), ("longitude", lon)):
        if not _DECIMAL.match(value):
            raise row.error(column, "a decimal number (or both coordinates empty)")
    findings = []
    where = f"{code} station serial {row.text('list_sno')}"
    if "," in lat + lon:
        findings.append(
            finding(
                "station_location_decimal_comma",
                where,
                "coordinates written with a decimal comma; read as a decimal point",
                severity="info",
                expected="decimal point",
                found=f"{lat} {lon}",
                source=NAME,
            )
        )
    point = GeoPoint(float(lat.replace(",", ".")), float(lon.replace(",", ".")))
    if not (_LAT[0] <= point.latitude <= _LAT[1] and _LON[0] <= point.longitude <= _LON[1]):
        findings.append(
            finding(
                "station_location_outside_country",
                where,
                "the station's coordinates are outside Pakistan (kept as published)",
                expected=f"latitude {_LAT[0]}..{_LAT[1]}, longitude {_LON[0]}..{_LON[1]}",
                found=f"{point.latitude}, {point.longitude}",
                source=NAME,
            )
        )
    return point, findings


def _duplicate_serial(row: Row, kept: Station, dropped: Station) -> Finding:
    same = kept == dropped
    return finding(
        "station_duplicate_serial",
        f"{kept.constituency} station serial {kept.serial}",
        f"{_SCHEME} row {row.line} repeats a scheme serial; the first row is kept"
        + (" (the rows are identical)" if same else " (THE ROWS DIFFER)"),
        severity="warning" if same else "error",
        expected="one row per list_sno",
        found=f"ps_no {dropped.number}, {dropped.name!r}, {dropped.registered.total} voters",
        source=NAME,
    )


def _duplicate_numbers(stations: list[Station]) -> list[Finding]:
    """One finding per (constituency, ps_no) printed on more than one station."""
    counts = Counter((s.constituency, s.number) for s in stations)
    serials: dict[tuple[ConstituencyCode, StationNumber], list[int]] = {}
    for s in stations:
        if counts[(s.constituency, s.number)] > 1:
            serials.setdefault((s.constituency, s.number), []).append(s.serial)
    return [
        finding(
            "station_duplicate_number",
            f"{code} station {number}",
            f"station number {number} is used by {len(found)} stations of {code}",
            expected="one station per number",
            found=f"serials {found}",
            source=NAME,
        )
        for (code, number), found in serials.items()
    ]


def _gaps(folder: Path) -> list[Finding]:
    out = []
    for row in read_csv(folder / _GAPS, columns=("constituency_code", "missing_ps_number")):
        code = normalise_code(row.text("constituency_code"))
        if code is None:
            raise row.error("constituency_code", "a constituency code")
        number = row.required_integer("missing_ps_number")
        out.append(
            finding(
                "station_sequence_gap",
                f"{code} station {number}",
                f"station number {number} is missing from {code}'s Form-28 sequence",
                severity="info",
                expected="consecutive station numbers",
                found=f"no station {number}",
                source=NAME,
            )
        )
    return out


def _with_registered(c: Constituency, registered: Counter[tuple[ConstituencyCode, str]]) -> Constituency:
    """Registered voters of a constituency created here: the sum over its stations in the scheme."""
    male, female = registered[(c.code, "m")], registered[(c.code, "f")]
    return Constituency(
        code=c.code,
        assembly=c.assembly,
        delimitation=c.delimitation,
        name=c.name,
        region=c.region,
        registered=Registered(male=male, female=female, total=male + female),
    )
