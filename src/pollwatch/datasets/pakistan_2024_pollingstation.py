"""Importer for ``pakistan-2024-pollingstation``: 58 party-collected Form-45 tallies (form45.com, PTI).

Each row becomes one ``STATION_COUNT`` sheet submitted by a party (role AGENT, organisation
``PTI (form45.com)``) and its station is created from the row (serial and number = ``No``). Party
columns are mapped to the constituency's one candidate of that party, taken from
``pakistan-2024-constituency`` (which is therefore read, and imported, first). Every defect becomes a
finding and nothing is repaired: rows without a station number, all-zero rows, duplicate station
numbers, party columns with no (or no single) candidate, and party sums far from the official result.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from pollwatch.datasets._common import finding
from pollwatch.datasets._dataset import Dataset
from pollwatch.datasets._files import Row, iter_files, read_csv, read_json
from pollwatch.datasets._pakistan import PK_2024, assembly_of, normalise_code
from pollwatch.errors import DataError
from pollwatch.model import (
    Candidate,
    CandidateKey,
    Channel,
    Constituency,
    ConstituencyCode,
    Provenance,
    ResultSheet,
    Role,
    SheetKind,
    Station,
    StationNumber,
    Totals,
)
from pollwatch.storage.findings import Finding

NAME = "pakistan-2024-pollingstation"
DEPENDS_ON = "pakistan-2024-constituency"
ORGANISATION = "PTI (form45.com)"
LABEL = "form45.com"
_FOLDER = "form45"
_NOT_PARTIES = ("No", "Name", "Total Votes", "Filename")
_PARTY_OF_COLUMN: dict[str, str | None] = {
    "PTI-IND": "PTI",
    "PML-N": "PML(N)",
    "PPP": "PPP",
    "JIP": "JI",
    "JUI": "JUI (F)",
    "MQM-P": "MQM-P",
    "TLP": "TLP",
    "ANP": "ANP",
    "IPP": "IPP",
    "PML-Q": "PML(Q)",
    "PML-Z": "PML(Z)",
    "IND": None,
}
"""Form-45 column -> party code of the results files (None: an independent)."""
DEPARTURE = 0.10
"""A party column summed over the stations that departs from the official result by more than this share
of the official votes is reported (``form45_departs_from_official``)."""


def files(folder: Path) -> list[Path]:
    return list(iter_files(folder / _FOLDER, "*"))


def read(folder: Path, reference: Dataset) -> Dataset:
    """Parse every Form-45 file; ``reference`` is the parsed ``pakistan-2024-constituency``."""
    index = _index(folder)
    known = {c.code: c for c in reference.constituencies}
    ballots: dict[ConstituencyCode, list[Candidate]] = defaultdict(list)
    for c in reference.candidates:
        ballots[c.constituency].append(c)
    finals = {s.constituency: s for s in reference.sheets if s.kind is SheetKind.FINAL}
    constituencies, stations, sheets, findings = [], [], [], []
    for path in iter_files(folder / _FOLDER, "*.csv"):
        code = normalise_code(path.stem)
        if code is None:
            raise DataError(
                f"{path.name}: the file name is not a constituency code",
                where=str(path),
                expected="<code>.csv such as NA-46.csv",
                found=path.name,
            )
        if code not in index:
            findings.append(_finding("form45_not_in_index", code, "file not listed in index.json", "", ""))
        if code not in known:
            constituencies.append(Constituency(code, assembly_of(code), PK_2024.delimitation))
        final = finals.get(code)
        part = _read_file(path, code, ballots.get(code, []), set(final.votes) if final else set())
        stations.extend(part[0])
        sheets.extend(part[1])
        findings.extend(part[2])
        if code in finals:
            findings.extend(_departures(code, part[1], finals[code], ballots[code]))
    return Dataset(
        name=NAME,
        election=PK_2024,
        constituencies=constituencies,
        stations=stations,
        sheets=sheets,
        findings=findings,
    )


def _index(folder: Path) -> set[ConstituencyCode]:
    path = folder / _FOLDER / "index.json"
    data = read_json(path)
    if not isinstance(data, list) or not all(isinstance(e, dict) and "seat" in e for e in data):
        raise DataError(
            f"{path.name}: unexpected structure",
            where=str(path),
            expected='a list of {"seat": ..., "source": ...}',
            found=repr(data)[:80],
        )
    return {c for e in data if (c := normalise_code(str(e["seat"]))) is not None}


def _columns(
    code: ConstituencyCode, parties: list[str], ballot: list[Candidate], in_result: set[CandidateKey]
) -> tuple[dict[str, CandidateKey], list[Finding]]:
    """Map each party column to the one candidate of that party (preferring those in the official result)."""
    mapping: dict[str, CandidateKey] = {}
    findings = []
    for column in parties:
        party = _PARTY_OF_COLUMN.get(column, column)
        matches = [c for c in ballot if c.party == party]
        if len(matches) > 1 and sum(1 for c in matches if c.ballot_order in in_result) == 1:
            matches = [c for c in matches if c.ballot_order in in_result]
        if len(matches) == 1:
            mapping[column] = matches[0].ballot_order
            continue
        kind = "form45_party_without_candidate" if not matches else "form45_party_ambiguous"
        findings.append(
            _finding(
                kind,
                code,
                f"column {column!r}: {len(matches)} candidates of party {party or 'Independent'}; "
                "its votes are kept in each sheet's extra.unmatched_votes",
                "exactly one candidate of that party",
                f"{len(matches)}",
            )
        )
    return mapping, findings


def _read_file(
    path: Path, code: ConstituencyCode, ballot: list[Candidate], in_result: set[CandidateKey]
) -> tuple[list[Station], list[ResultSheet], list[Finding]]:
    rows = read_csv(path, columns=("No", "Name"))
    parties = [c for c in rows[0].values if c not in _NOT_PARTIES] if rows else []
    mapping, findings = _columns(code, parties, ballot, in_result)
    stations: dict[int, Station] = {}
    sheets = []
    numbers = Counter(r.text("No") for r in rows)
    for row in rows:
        counts = {p: row.required_integer(p) for p in parties}
        number = row.text("No")
        if not number.isdigit():
            findings.append(_invalid_number(code, row, counts))
            continue
        serial = int(number)
        stations.setdefault(serial, Station(code, serial, StationNumber(number), name=row.text("Name")))
        sheets.append(_sheet(code, row, serial, counts, mapping))
        if not any(counts.values()):
            findings.append(
                _finding(
                    "form45_all_zero", f"{code} station {number}", "every party column is zero", "votes", "0"
                )
            )
    for number, n in numbers.items():
        if n > 1 and number.isdigit():
            findings.append(
                _finding(
                    "form45_duplicate_station",
                    f"{code} station {number}",
                    f"{n} rows for station {number}; each is kept as a separate copy",
                    "one row per station",
                    str(n),
                )
            )
    return list(stations.values()), sheets, findings


def _sheet(
    code: ConstituencyCode, row: Row, serial: int, counts: dict[str, int], mapping: dict[str, CandidateKey]
) -> ResultSheet:
    extra: dict[str, Any] = {"file": row.path.name, "row": row.line}
    unmatched = {p: n for p, n in counts.items() if p not in mapping}
    if unmatched:
        extra["unmatched_votes"] = unmatched
    return ResultSheet(
        kind=SheetKind.STATION_COUNT,
        form="Form-45",
        constituency=code,
        votes={mapping[p]: n for p, n in counts.items() if p in mapping},
        totals=Totals(),
        provenance=Provenance(
            source=NAME, channel=Channel.IMPORT, role=Role.AGENT, organisation=ORGANISATION
        ),
        station=StationNumber(str(serial)),
        station_serial=serial,
        label=LABEL,
        extra=extra,
    )


def _invalid_number(code: ConstituencyCode, row: Row, counts: dict[str, int]) -> Finding:
    return _finding(
        "form45_station_number_invalid",
        f"{code} ({row.path.name} row {row.line})",
        "row without a station number: not loaded as a sheet (a repeated header or an unnumbered station)",
        "a station number",
        f"No={row.text('No')!r}, Name={row.text('Name')[:40]!r}, votes={counts}",
    )


def _departures(
    code: ConstituencyCode, sheets: list[ResultSheet], final: ResultSheet, ballot: list[Candidate]
) -> list[Finding]:
    """Party columns whose station sum departs from the official result by more than DEPARTURE."""
    sums: Counter[CandidateKey] = Counter()
    for s in sheets:
        sums.update(s.votes)
    names = {c.ballot_order: f"{c.name} ({c.party or 'Independent'})" for c in ballot}
    out = []
    for key, total in sorted(sums.items()):
        official = final.votes.get(key)
        if official is None or abs(total - official) <= DEPARTURE * official:
            continue
        out.append(
            _finding(
                "form45_departs_from_official",
                code,
                f"{names.get(key, key)}: Form-45 sum {total:,} vs official {official:,} "
                f"({(total - official) / official:+.0%}); a dispute or incomplete coverage",
                f"within {DEPARTURE:.0%} of {official}",
                str(total),
            )
        )
    return out


def _finding(kind: str, location: str, message: str, expected: str, found: str) -> Finding:
    return finding(kind, location, message, expected=expected, found=found, source=NAME)
