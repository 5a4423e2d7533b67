"""Importer for ``pakistan-2024-constituency``: 2024 NA results (Wikipedia-transcribed) and Form-33 rosters.

* Rosters (``candidate_lists_form33/{NA,PA}/<province>.json``) give every contesting candidate with the
  Form-33 serial number, which becomes the ballot order (only name and party are read; the addresses in
  the rosters are personal data and are never loaded).
* ``na_2024_candidates_wikipedia.csv`` gives the main candidates' votes per NA seat; each is matched to
  the roster by name. A candidate not on the roster is appended after it, with a finding.
* ``Others (n candidates)`` rows are not candidates: their votes go into the sheet's
  ``extra["others_votes"]`` and the row's text into ``extra["others_label"]``, so a sheet's candidate
  sum plus ``others_votes`` is the seat's total of candidate votes.
"""

from __future__ import annotations

import difflib
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pollwatch.datasets._common import finding, name_key, official_provenance
from pollwatch.datasets._dataset import Dataset
from pollwatch.datasets._files import Row, iter_files, read_csv, read_json
from pollwatch.datasets._pakistan import (
    PK_2024,
    assembly_of,
    lenient_code,
    normalise_code,
    party_code_2024,
    party_name_2024,
)
from pollwatch.model import (
    Candidate,
    CandidateKey,
    Constituency,
    ConstituencyCode,
    Party,
    PartyCode,
    Registered,
    ResultSheet,
    SheetKind,
    Totals,
)
from pollwatch.storage.findings import Finding

NAME = "pakistan-2024-constituency"
FINAL_LABEL = "wikipedia-transcribed final"
_CANDIDATES = "na_2024_candidates_wikipedia.csv"
_CONSTITUENCIES = "na_2024_constituencies_wikipedia.csv"
_ROSTERS = "candidate_lists_form33"
_ORG = "Wikipedia constituency tables (transcribed by khubaibahmed/pakistan_election)"
_REGION = {"punjab": "Punjab", "kpk": "Khyber Pakhtunkhwa", "sindh": "Sindh", "balochistan": "Balochistan"}
_ICT = {"NA-46", "NA-47", "NA-48"}
_POSTPONED = {"NA-8": "polling postponed on 8 Feb 2024 (a candidate died); the figures are the later poll"}


def files(folder: Path) -> list[Path]:
    return [folder / _CANDIDATES, folder / _CONSTITUENCIES, *iter_files(folder / _ROSTERS, "*/*.json")]


def read(folder: Path) -> Dataset:
    """Parse rosters and results; raise DataError on an unreadable value."""
    findings: list[Finding] = []
    rosters, regions, names = _rosters(folder, findings)
    seats = _seat_rows(folder)
    results = _result_rows(folder)
    candidates: list[Candidate] = []
    sheets: list[ResultSheet] = []
    for code in sorted(set(rosters) | set(seats), key=_order):
        ballot, keys = _ballot(code, rosters.get(code, []), results.get(code, []), findings)
        candidates.extend(ballot)
        if code in seats:
            sheet = _final_sheet(code, seats[code], results.get(code, []), keys)
            sheets.append(sheet)
            findings.extend(_sheet_findings(code, sheet))
    constituencies = [
        Constituency(
            code=code,
            assembly=assembly_of(code),
            delimitation=PK_2024.delimitation,
            name=names.get(code, ""),
            region="Islamabad Capital Territory" if code in _ICT else regions.get(code, ""),
            registered=Registered(total=seats[code].integer("registered_voters", missing=("",)))
            if code in seats
            else Registered(),
        )
        for code in sorted(set(rosters) | set(seats), key=_order)
    ]
    codes = sorted({c.party for c in candidates if c.party is not None})
    return Dataset(
        name=NAME,
        election=PK_2024,
        parties=[Party(code=PartyCode(p), name=party_name_2024(p)) for p in codes],
        constituencies=constituencies,
        candidates=candidates,
        sheets=sheets,
        findings=findings,
    )


def _order(code: str) -> tuple[str, int]:
    prefix, _, number = code.partition("-")
    return (prefix, int(number))


def _rosters(
    folder: Path, findings: list[Finding]
) -> tuple[
    dict[ConstituencyCode, list[Mapping[str, Any]]], dict[ConstituencyCode, str], dict[ConstituencyCode, str]
]:
    """Roster entries by constituency, with region and name; irregular keys are reported and skipped."""
    rosters: dict[ConstituencyCode, list[Mapping[str, Any]]] = {}
    regions: dict[ConstituencyCode, str] = {}
    names: dict[ConstituencyCode, str] = {}
    for path in iter_files(folder / _ROSTERS, "*/*.json"):
        data = read_json(path)
        if not isinstance(data, dict):
            raise _roster_error(
                path, "<top level>", "an object keyed by constituency code", type(data).__name__
            )
        house = path.parent.name
        for key, seat in data.items():
            where = f"{path.parent.name}/{path.name} key {key!r}"
            code = lenient_code(key)
            if code is None or (assembly_of(code) == "NA") != (house == "NA"):
                findings.append(
                    _roster_finding("roster_key_unreadable", where, f"a {house} constituency code", key)
                )
                continue
            if code in rosters:
                findings.append(
                    _roster_finding("roster_duplicate_constituency", where, "one roster per seat", key)
                )
                continue
            entries = seat.get("Candidates") if isinstance(seat, dict) else None
            if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
                raise _roster_error(path, key, "an object with a Candidates list", repr(seat)[:80])
            nameless = [e.get("SerialNo") for e in entries if not _roster_name(e)]
            if nameless:
                findings.append(
                    _roster_finding(
                        "roster_name_missing", where, "a name for every candidate", f"serials {nameless}"
                    )
                )
            rosters[code] = entries
            regions[code] = _REGION.get(path.stem, path.stem)
            names[code] = str(seat.get("Constituency Name", "")).strip()
    return rosters, regions, names


def _roster_name(entry: Mapping[str, Any]) -> str:
    """The English name, else the Urdu one (some Form-33 pages were digitised in Urdu only)."""
    for field in ("Name in English", "Name in Urdu"):
        value = entry.get(field)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def _roster_error(path: Path, key: str, expected: str, found: str) -> Exception:
    from pollwatch.errors import DataError

    return DataError(
        f"{path.name}: key {key}: unexpected roster structure",
        where=f"{path}:{key}",
        expected=expected,
        found=found,
    )


def _roster_finding(kind: str, where: str, expected: str, found: str) -> Finding:
    return finding(kind, where, "Form-33 roster entry skipped", expected=expected, found=found, source=NAME)


def _seat_rows(folder: Path) -> dict[ConstituencyCode, Row]:
    out = {}
    for row in read_csv(
        folder / _CONSTITUENCIES,
        columns=("constituency_code", "valid_votes", "rejected_votes", "votes_polled", "registered_voters"),
    ):
        code = normalise_code(row.text("constituency_code"))
        if code is None:
            raise row.error("constituency_code", "a code such as NA-1")
        out[code] = row
    return out


def _result_rows(folder: Path) -> dict[ConstituencyCode, list[Row]]:
    out: dict[ConstituencyCode, list[Row]] = defaultdict(list)
    for row in read_csv(folder / _CANDIDATES, columns=("constituency_code", "party", "candidate", "votes")):
        code = normalise_code(row.text("constituency_code"))
        if code is None:
            raise row.error("constituency_code", "a code such as NA-1")
        if not row.text("candidate"):
            raise row.error("candidate", "a candidate's name or 'Others (n candidates)'")
        row.required_integer("votes")
        out[code].append(row)
    return out


def _is_others(row: Row) -> bool:
    return row.text("party") == "Others" or row.text("candidate").startswith("Others (")


def _ballot(
    code: ConstituencyCode, roster: list[Mapping[str, Any]], results: list[Row], findings: list[Finding]
) -> tuple[list[Candidate], dict[int, CandidateKey]]:
    """The ballot: roster order (Form-33 serials), results rows matched by name, the unmatched appended."""
    serials = [e.get("SerialNo") for e in roster]
    regular = all(isinstance(s, int) and s > 0 for s in serials) and len(set(serials)) == len(serials)
    if roster and not regular:
        findings.append(
            finding(
                "roster_serial_irregular",
                code,
                "Form-33 serial numbers repeat or are missing; ballot order is the roster's list order",
                expected="unique serial numbers",
                found=str(serials),
                source=NAME,
            )
        )
    ballot: dict[CandidateKey, Candidate] = {}
    by_name: dict[str, list[CandidateKey]] = defaultdict(list)
    for n, entry in enumerate(roster, start=1):
        key = CandidateKey(int(entry["SerialNo"]) if regular else n)
        name = _roster_name(entry) or f"Form-33 serial {entry.get('SerialNo')} (name not digitised)"
        urdu = str(entry.get("Name in Urdu") or "").strip()
        ballot[key] = Candidate(code, key, name, party_code_2024(str(entry.get("Party") or "")), urdu)
        by_name[name_key(name)].append(key)
    keys: dict[int, CandidateKey] = {}
    for i, row in enumerate(results):
        if _is_others(row):
            continue
        party = party_code_2024(row.text("party"))
        found, how = _match_roster(row.text("candidate"), party, ballot, by_name)
        if found is None:
            key = CandidateKey(max(ballot, default=0) + 1)
            if roster:
                findings.append(_not_on_roster(code, row))
        else:
            key = found
            if how != "name":
                findings.append(_loose_match(code, row, ballot[key], how))
        # The results source's party wins: it labels PTI-backed independents PTI, as the seat counts do;
        # the roster's Urdu name stays with the candidate it was matched to.
        urdu = ballot[key].name_ur if found is not None else ""
        ballot[key] = Candidate(code, key, row.text("candidate"), party, urdu)
        keys[i] = key
    return [ballot[k] for k in sorted(ballot)], keys


def _match_roster(
    name: str,
    party: str | None,
    ballot: dict[CandidateKey, Candidate],
    by_name: dict[str, list[CandidateKey]],
) -> tuple[CandidateKey | None, str]:
    """Find a results row's roster entry: same name; else the party's only candidate; else a close name.

    Each roster entry is used once. Returns the key and how it matched (``name``, ``party``, ``similar``).
    """
    pool = by_name.get(name_key(name))
    if pool:
        return pool.pop(0), "name"
    free = {k for keys in by_name.values() for k in keys}
    same_party = [k for k in free if party is not None and ballot[k].party == party]
    if len(same_party) == 1:
        return _take(by_name, same_party[0]), "party"
    wanted = name_key(name)
    scored = sorted(
        ((difflib.SequenceMatcher(None, wanted, name_key(ballot[k].name)).ratio(), k) for k in free),
        reverse=True,
    )
    if scored and scored[0][0] >= _SIMILAR:
        return _take(by_name, scored[0][1]), "similar"
    return None, ""


_SIMILAR = 0.8
"""Name similarity (difflib ratio) above which a results name is the roster's spelling of it."""


def _take(by_name: dict[str, list[CandidateKey]], key: CandidateKey) -> CandidateKey:
    for keys in by_name.values():
        if key in keys:
            keys.remove(key)
    return key


def _loose_match(code: ConstituencyCode, row: Row, entry: Candidate, how: str) -> Finding:
    return finding(
        "candidate_matched_loosely",
        code,
        f"results candidate {row.text('candidate')!r} matched to roster entry {entry.name!r} by {how}",
        severity="info",
        expected=row.text("candidate"),
        found=f"{entry.name} (serial {entry.ballot_order})",
        source=NAME,
    )


def _not_on_roster(code: ConstituencyCode, row: Row) -> Finding:
    return finding(
        "candidate_not_on_roster",
        code,
        f"results candidate {row.text('candidate')!r} has no Form-33 roster entry of that name; "
        "placed after the roster",
        severity="info",
        expected="a roster name",
        found=row.text("candidate"),
        source=NAME,
    )


def _final_sheet(
    code: ConstituencyCode, seat: Row, rows: list[Row], keys: dict[int, CandidateKey]
) -> ResultSheet:
    votes: dict[CandidateKey, int] = {}
    extra: dict[str, Any] = {"file": _CANDIDATES}
    if rows:  # where the sheet's figures begin in that file
        extra["row"] = rows[0].line
    for i, row in enumerate(rows):
        if _is_others(row):
            extra["others_votes"] = extra.get("others_votes", 0) + row.required_integer("votes")
            extra["others_label"] = row.text("candidate")
        else:
            votes[keys[i]] = row.required_integer("votes")
    if code in _POSTPONED:
        extra["note"] = _POSTPONED[code]
    note = seat.values.get("result_note", "").strip()
    if note:
        extra["result_note"] = note
    absent = ("",)
    return ResultSheet(
        kind=SheetKind.FINAL,
        form="Form-49",
        constituency=code,
        votes=dict(sorted(votes.items())),
        totals=Totals(
            valid=seat.integer("valid_votes", missing=absent),
            rejected=seat.integer("rejected_votes", missing=absent),
            polled=seat.integer("votes_polled", missing=absent),
            registered=seat.integer("registered_voters", missing=absent),
        ),
        provenance=official_provenance(NAME, _ORG),
        label=FINAL_LABEL,
        extra=extra,
    )


def _sheet_findings(code: ConstituencyCode, sheet: ResultSheet) -> list[Finding]:
    t = sheet.totals
    out = []
    total = sheet.candidate_sum + int(sheet.extra.get("others_votes", 0))
    if code in _POSTPONED:
        out.append(finding("contest_postponed", code, _POSTPONED[code], severity="info", source=NAME))
    if t.polled is not None and t.rejected is not None and t.polled - t.rejected != total:
        out.append(
            finding(
                "candidate_sum_not_polled_minus_rejected",
                code,
                "candidate votes (with Others) differ from polled - rejected by "
                f"{total - (t.polled - t.rejected):+}",
                expected=f"polled - rejected = {t.polled - t.rejected}",
                found=f"sum of candidate rows = {total}",
                source=NAME,
            )
        )
    if t.polled is not None and t.registered is not None and t.polled > t.registered:
        out.append(
            finding(
                "polled_exceeds_registered",
                code,
                "more votes polled than registered voters",
                severity="error",
                expected=f"polled <= {t.registered}",
                found=f"polled = {t.polled}",
                source=NAME,
            )
        )
    return out
