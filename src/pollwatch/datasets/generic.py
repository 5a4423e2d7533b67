"""The generic format: any country's election as a folder of CSV files or as one JSON file.

Folder (``generic:path/to/folder``): ``elections.csv`` (one row) and ``constituencies.csv`` are
required; ``parties.csv``, ``stations.csv``, ``candidates.csv``, ``sheets.csv`` and ``votes.csv`` are
optional. One JSON file (``generic:path/to/file.json``) holds the same as
``{"election": {...}, "parties": [...], "constituencies": [...], "stations": [...],
"candidates": [...], "sheets": [{..., "votes": {"1": 120}}]}``. Columns and keys are documented in
docs/data.md; a value that does not fit raises DataError naming file, row, column and value.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pollwatch.datasets._common import finding
from pollwatch.datasets._dataset import Dataset
from pollwatch.datasets._files import read_csv, read_json
from pollwatch.errors import DataError, ProblemList
from pollwatch.model import (
    Booths,
    Candidate,
    CandidateKey,
    Channel,
    Constituency,
    ConstituencyCode,
    Election,
    ElectionSlug,
    GeoPoint,
    Party,
    PartyCode,
    Provenance,
    Registered,
    ResultSheet,
    Role,
    SheetKind,
    Station,
    StationNumber,
    StationSex,
    Totals,
)
from pollwatch.storage.findings import Finding

PREFIX = "generic:"
TABLES = ("elections", "parties", "constituencies", "stations", "candidates", "sheets", "votes")
_REQUIRED = ("elections", "constituencies")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ElectionIn(_Model):
    slug: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")
    country: str = Field(min_length=2, max_length=2)
    name: str = Field(min_length=1)
    date: dt.date
    rule_pack: str = "generic"
    delimitation: str = Field(min_length=1, max_length=32)


class PartyIn(_Model):
    code: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1)


class ConstituencyIn(_Model):
    code: str = Field(min_length=1, max_length=32)
    assembly: str = Field(min_length=1, max_length=16)
    name: str = ""
    region: str = ""
    registered_male: int | None = Field(default=None, ge=0)
    registered_female: int | None = Field(default=None, ge=0)
    registered_total: int | None = Field(default=None, ge=0)
    seats: int = Field(default=1, ge=1)


class StationIn(_Model):
    constituency: str
    serial: int = Field(ge=0)
    number: str = Field(min_length=1, max_length=32)
    name: str = ""
    sex: StationSex = StationSex.UNKNOWN
    registered_male: int | None = Field(default=None, ge=0)
    registered_female: int | None = Field(default=None, ge=0)
    registered_total: int | None = Field(default=None, ge=0)
    booths_male: int | None = Field(default=None, ge=0)
    booths_female: int | None = Field(default=None, ge=0)
    booths_total: int | None = Field(default=None, ge=0)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)


class CandidateIn(_Model):
    constituency: str
    ballot_order: int = Field(ge=1)
    name: str = Field(min_length=1)
    party: str | None = None


class SheetIn(_Model):
    sheet: str = Field(min_length=1)
    kind: SheetKind
    form: str = Field(min_length=1, max_length=32)
    constituency: str
    station_serial: int | None = None
    station: str | None = None
    label: str = ""
    valid: int | None = Field(default=None, ge=0)
    rejected: int | None = Field(default=None, ge=0)
    polled: int | None = Field(default=None, ge=0)
    tendered: int | None = Field(default=None, ge=0)
    challenged: int | None = Field(default=None, ge=0)
    votes_male: int | None = Field(default=None, ge=0)
    votes_female: int | None = Field(default=None, ge=0)
    registered: int | None = Field(default=None, ge=0)
    role: Role = Role.OFFICIAL
    organisation: str = ""
    submitter_key: str = ""
    extra: dict[str, Any] = Field(default_factory=dict)
    votes: dict[int, int] = Field(default_factory=dict)


class VoteIn(_Model):
    sheet: str = Field(min_length=1)
    ballot_order: int = Field(ge=1)
    votes: int = Field(ge=0)


_MODELS: dict[str, type[_Model]] = {
    "elections": ElectionIn,
    "parties": PartyIn,
    "constituencies": ConstituencyIn,
    "stations": StationIn,
    "candidates": CandidateIn,
    "sheets": SheetIn,
    "votes": VoteIn,
}


def source_name(path: Path) -> str:
    """The ``source`` recorded for a generic import: ``generic:`` and the file or folder name."""
    return (PREFIX + path.name)[:64]


def files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return [path / f"{t}.csv" for t in TABLES if (path / f"{t}.csv").is_file()]


def read(path: Path) -> Dataset:
    """Parse a generic folder or JSON file."""
    if not path.exists():
        raise DataError(
            f"no generic dataset at {path}",
            where=str(path),
            expected="a folder of CSV files or one .json file",
            found="nothing",
        )
    tables = _from_json(path) if path.is_file() else _from_folder(path)
    return _dataset(source_name(path), tables)


def _validate(model: type[_Model], data: Any, *, file: Path, row: int | str) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        column = ".".join(str(p) for p in first["loc"]) or "*"
        value = first.get("input")
        raise DataError(
            f"{file.name}: row {row}, column {column!r}: {first['msg']}",
            where=f"{file}:{row}:{column}",
            expected=first["msg"],
            found=repr(value)[:120],
            remedy="see docs/data.md for the generic format",
        ) from exc


def _from_folder(folder: Path) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for table, model in _MODELS.items():
        path = folder / f"{table}.csv"
        if not path.is_file() and table not in _REQUIRED:
            out[table] = []
            continue
        rows = read_csv(path, columns=())
        parsed = []
        for row in rows:
            data: dict[str, Any] = {
                k: v.strip() for k, v in row.values.items() if v is not None and v.strip()
            }
            if "extra" in data:
                try:
                    data["extra"] = json.loads(data["extra"])
                except json.JSONDecodeError as exc:
                    raise row.error("extra", "a JSON object") from exc
            parsed.append(_validate(model, data, file=path, row=row.line))
        out[table] = parsed
    _attach_votes(folder / "votes.csv", out)
    return out


def _attach_votes(path: Path, tables: dict[str, list[Any]]) -> None:
    by_sheet: dict[str, dict[int, int]] = {}
    for v in tables.pop("votes"):
        by_sheet.setdefault(v.sheet, {})[v.ballot_order] = v.votes
    known = {s.sheet for s in tables["sheets"]}
    unknown = sorted(set(by_sheet) - known)
    if unknown:
        raise DataError(
            f"{path.name}: votes for sheets not in sheets.csv",
            where=str(path),
            expected="a sheet id from sheets.csv",
            found=", ".join(unknown[:5]),
        )
    tables["sheets"] = [s.model_copy(update={"votes": by_sheet.get(s.sheet, {})}) for s in tables["sheets"]]


def _from_json(path: Path) -> dict[str, list[Any]]:
    data = read_json(path)
    if not isinstance(data, dict) or "election" not in data:
        raise DataError(
            f"{path.name}: not a generic election document", where=str(path), expected='{"election": ...}'
        )
    out: dict[str, list[Any]] = {
        "elections": [_validate(ElectionIn, data["election"], file=path, row="election")]
    }
    for table in ("parties", "constituencies", "stations", "candidates", "sheets"):
        items = data.get(table, [])
        if not isinstance(items, list):
            raise DataError(
                f"{path.name}: {table} must be a list", where=f"{path}:{table}", found=type(items).__name__
            )
        out[table] = [
            _validate(_MODELS[table], item, file=path, row=f"{table}[{i}]") for i, item in enumerate(items)
        ]
    return out


def _dataset(source: str, tables: dict[str, list[Any]]) -> Dataset:
    if len(tables["elections"]) != 1:
        raise DataError(
            "the generic dataset must describe exactly one election",
            expected="one row in elections.csv",
            found=str(len(tables["elections"])),
        )
    _check_references(tables)
    e: ElectionIn = tables["elections"][0]
    election = Election(ElectionSlug(e.slug), e.country.upper(), e.name, e.date, e.rule_pack, e.delimitation)
    sheets = [_sheet(s, source) for s in tables["sheets"]]
    return Dataset(
        name=source,
        election=election,
        parties=[Party(PartyCode(p.code), p.name) for p in tables["parties"]],
        constituencies=[_constituency(c, e.delimitation) for c in tables["constituencies"]],
        stations=[_station(s) for s in tables["stations"]],
        candidates=[
            Candidate(
                ConstituencyCode(c.constituency),
                CandidateKey(c.ballot_order),
                c.name,
                PartyCode(c.party) if c.party else None,
            )
            for c in tables["candidates"]
        ],
        sheets=sheets,
        findings=[f for s in sheets for f in _checks(s, source)],
    )


def _check_references(tables: dict[str, list[Any]]) -> None:
    """Stations, candidates and sheets must name a constituency (and party) of the same dataset."""
    codes = {c.code for c in tables["constituencies"]}
    parties = {p.code for p in tables["parties"]}
    problems = ProblemList()
    for table in ("stations", "candidates", "sheets"):
        for n, item in enumerate(tables[table]):
            if item.constituency not in codes:
                problems.add(
                    f"{table} item {n + 1} names an unknown constituency",
                    where=f"{table} item {n + 1}, column 'constituency'",
                    expected="a code from constituencies",
                    found=repr(item.constituency),
                )
    for n, c in enumerate(tables["candidates"]):
        if c.party and c.party not in parties:
            problems.add(
                f"candidates item {n + 1} names an unknown party",
                where=f"candidates item {n + 1}, column 'party'",
                expected="a code from parties (or empty for an independent)",
                found=repr(c.party),
            )
    problems.raise_if_any(
        "the generic dataset refers to things it does not define; nothing was written", DataError
    )


def _constituency(c: ConstituencyIn, delimitation: str) -> Constituency:
    return Constituency(
        code=ConstituencyCode(c.code),
        assembly=c.assembly,
        delimitation=delimitation,
        name=c.name,
        region=c.region,
        registered=Registered(c.registered_male, c.registered_female, c.registered_total),
        seats=c.seats,
    )


def _station(s: StationIn) -> Station:
    located = s.latitude is not None and s.longitude is not None
    return Station(
        constituency=ConstituencyCode(s.constituency),
        serial=s.serial,
        number=StationNumber(s.number),
        name=s.name,
        sex=s.sex,
        registered=Registered(s.registered_male, s.registered_female, s.registered_total),
        booths=Booths(s.booths_male, s.booths_female, s.booths_total),
        location=GeoPoint(s.latitude, s.longitude) if located else None,  # type: ignore[arg-type]
    )


def _sheet(s: SheetIn, source: str) -> ResultSheet:
    return ResultSheet(
        kind=s.kind,
        form=s.form,
        constituency=ConstituencyCode(s.constituency),
        votes={CandidateKey(k): v for k, v in sorted(s.votes.items())},
        totals=Totals(
            s.valid,
            s.rejected,
            s.polled,
            s.tendered,
            s.challenged,
            s.votes_male,
            s.votes_female,
            s.registered,
        ),
        provenance=Provenance(
            source=source,
            channel=Channel.IMPORT,
            role=s.role,
            organisation=s.organisation,
            submitter_key=s.submitter_key,
        ),
        station=StationNumber(s.station) if s.station else None,
        station_serial=s.station_serial,
        label=s.label,
        extra={"sheet": s.sheet, **s.extra},
    )


def _checks(s: ResultSheet, source: str) -> list[Finding]:
    """The arithmetic any country's sheet must satisfy, reported rather than refused."""
    where = (
        s.constituency + ("" if s.station is None else f" station {s.station}") + f" sheet {s.extra['sheet']}"
    )
    t, out = s.totals, []
    if t.valid is not None and s.votes and t.valid != s.candidate_sum:
        out.append(
            finding(
                "valid_not_candidate_sum",
                where,
                "valid votes differ from the sum of candidate votes",
                expected=s.candidate_sum,
                found=t.valid,
                source=source,
            )
        )
    if t.polled is not None and t.valid is not None and t.rejected is not None:
        if t.polled != t.valid + t.rejected:
            out.append(
                finding(
                    "polled_not_valid_plus_rejected",
                    where,
                    "votes polled is not valid + rejected",
                    expected=t.valid + t.rejected,
                    found=t.polled,
                    source=source,
                )
            )
    if t.polled is not None and t.registered is not None and t.polled > t.registered:
        out.append(
            finding(
                "polled_exceeds_registered",
                where,
                "more votes polled than registered voters",
                severity="error",
                expected=f"<= {t.registered}",
                found=t.polled,
                source=source,
            )
        )
    return out
