"""Importer for ``pakistan-2018-constituency``: every NA and PA contest of 2018, two result snapshots.

* ``ecp_2018_candidates_final_20180904.csv``: one row per candidate as on the ECP site on 4 September
  2018 -> constituencies, parties, candidates and one ``FINAL`` sheet (``Form-49``) per contested seat.
* ``ecp_2018_na_provisional_20180729_{raw,candidates}.csv``: the 29 July NA snapshot -> one
  ``PROVISIONAL`` sheet (``Form-47``) per NA seat, its candidates matched to the final ones.
* ``ecp_2018_vote_total_discrepancies.csv``, ``form28_2018_constituency_voter_reg.csv`` and
  ``na_2018_registration_and_ps_counts.csv``: cross-checks and registered voters by sex.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pollwatch.datasets._common import ballot_order, finding, official_provenance
from pollwatch.datasets._dataset import Dataset
from pollwatch.datasets._files import Row, read_csv
from pollwatch.datasets._pakistan import (
    INDEPENDENT,
    PK_2018,
    assembly_of,
    normalise_code,
    party_2018,
    party_code_2018,
    province,
)
from pollwatch.datasets._pakistan_2018_provisional import (
    CANDIDATES_FILE,
    RAW_FILE,
    read_provisional,
)
from pollwatch.datasets._pakistan_2018_provisional import PROVISIONAL_LABEL as PROVISIONAL_LABEL
from pollwatch.model import (
    Candidate,
    Constituency,
    ConstituencyCode,
    Party,
    Registered,
    ResultSheet,
    SheetKind,
    Totals,
)
from pollwatch.storage.findings import Finding

NAME = "pakistan-2018-constituency"
FINAL_LABEL = "2018-09-04 final"
_ORG = "Election Commission of Pakistan (results website)"
_FINAL = "ecp_2018_candidates_final_20180904.csv"
_DISCREPANCIES = "ecp_2018_vote_total_discrepancies.csv"
_FORM28 = "form28_2018_constituency_voter_reg.csv"
_AJ = "na_2018_registration_and_ps_counts.csv"
FILES = (_FINAL, RAW_FILE, CANDIDATES_FILE, _DISCREPANCIES, _FORM28, _AJ)
_NA = ("NA",)
DATA_ENTRY_ERROR = 1_000_000
"""A polled count off by more than this from valid + rejected is a data-entry error, not postal ballots."""


@dataclass
class _Contest:
    code: ConstituencyCode
    rows: list[Row] = field(default_factory=list)


def read(folder: Path) -> Dataset:
    """Parse the folder; raise DataError on the first unreadable value."""
    contests = _contests(read_csv(folder / _FINAL, columns=_FINAL_COLUMNS))
    registered = _registered_by_sex(folder)
    parties: dict[str, Party] = {}
    constituencies: list[Constituency] = []
    candidates: list[Candidate] = []
    sheets: list[ResultSheet] = []
    findings: list[Finding] = []
    for contest in contests:
        first = contest.rows[0]
        status = first.text("contest_status")
        total = first.integer("voter_reg", missing=_NA)
        male, female = registered.get((contest.code, total), (None, None))
        constituencies.append(
            Constituency(
                code=contest.code,
                assembly=assembly_of(contest.code),
                delimitation=PK_2018.delimitation,
                name=first.text("constituency_name"),
                region=province(first.text("province")),
                registered=Registered(male=male, female=female, total=total),
            )
        )
        if status == "Postponed":
            findings.append(_postponed(contest.code))
            continue
        if status not in ("Contested", "Uncontested"):
            raise first.error("contest_status", "Contested, Uncontested or Postponed")
        ballot = _candidates(contest, parties)
        candidates.extend(c for c, _ in ballot)
        if status == "Uncontested":
            findings.append(_uncontested(contest.code, ballot[0][0]))
            continue
        sheet = _final_sheet(contest, ballot)
        sheets.append(sheet)
        findings.extend(_final_findings(contest.code, sheet))
    findings.extend(_discrepancy_findings(folder, sheets))
    provisional, prov_findings = read_provisional(folder, candidates)
    return Dataset(
        name=NAME,
        election=PK_2018,
        parties=sorted(parties.values(), key=lambda p: p.code),
        constituencies=constituencies,
        candidates=candidates,
        sheets=provisional + sheets,
        findings=findings + prov_findings,
    )


_FINAL_COLUMNS = (
    "contest_status",
    "province",
    "constituency_code",
    "constituency_name",
    "voter_reg",
    "votes_polled",
    "valid_votes",
    "votes_disq",
    "candidate_name",
    "candidate_party",
    "candidate_votes",
)


def _contests(rows: list[Row]) -> list[_Contest]:
    by_code: dict[ConstituencyCode, _Contest] = {}
    for row in rows:
        code = normalise_code(row.text("constituency_code"))
        if code is None:
            raise row.error("constituency_code", "a code such as NA-1, PP-12, PS-3, PK-7 or PB-9")
        by_code.setdefault(code, _Contest(code)).rows.append(row)
    return list(by_code.values())


def _candidates(contest: _Contest, parties: dict[str, Party]) -> list[tuple[Candidate, Row]]:
    """The contest's candidates in ballot order (alphabetical, see ``_common.ballot_order``)."""
    entries = []
    for i, row in enumerate(contest.rows):
        name, party = row.text("candidate_name"), row.text("candidate_party")
        if not name or name == "NA":
            raise row.error("candidate_name", "a candidate's name")
        votes = row.integer("candidate_votes", missing=_NA)
        entries.append((name, party, -1 if votes is None else votes, i))
        found = party_2018(party)
        if found is not None:
            parties.setdefault(found.code, found)
    order = ballot_order(contest.code, entries)
    out = [
        (
            Candidate(
                constituency=contest.code,
                ballot_order=order[i],
                name=row.text("candidate_name"),
                party=party_code_2018(row.text("candidate_party")),
            ),
            row,
        )
        for i, row in enumerate(contest.rows)
    ]
    return sorted(out, key=lambda pair: pair[0].ballot_order)


def _final_sheet(contest: _Contest, ballot: list[tuple[Candidate, Row]]) -> ResultSheet:
    first = contest.rows[0]
    return ResultSheet(
        kind=SheetKind.FINAL,
        form="Form-49",
        constituency=contest.code,
        votes={c.ballot_order: row.required_integer("candidate_votes") for c, row in ballot},
        totals=Totals(
            valid=first.required_integer("valid_votes"),
            rejected=first.required_integer("votes_disq"),
            polled=first.required_integer("votes_polled"),
            registered=first.integer("voter_reg", missing=_NA),
        ),
        provenance=official_provenance(NAME, _ORG),
        label=FINAL_LABEL,
        extra={"snapshot": "2018-09-04", "file": _FINAL, "row": first.line},
    )


def _final_findings(code: ConstituencyCode, sheet: ResultSheet) -> list[Finding]:
    t = sheet.totals
    assert t.valid is not None
    assert t.rejected is not None
    assert t.polled is not None
    out = []
    gap = t.polled - (t.valid + t.rejected)
    if abs(gap) > DATA_ENTRY_ERROR:
        out.append(
            finding(
                "polled_data_entry_error",
                code,
                f"votes polled is {gap:+,} away from valid + rejected: an ECP data-entry error",
                severity="error",
                expected=f"polled = valid + rejected = {t.valid + t.rejected}",
                found=f"polled = {t.polled}",
                source=NAME,
            )
        )
    elif gap:
        out.append(
            finding(
                "final_polled_not_updated",
                code,
                "final snapshot: valid votes include postal ballots but votes polled was not updated",
                expected=f"polled = valid + rejected = {t.valid + t.rejected}",
                found=f"polled = {t.polled}",
                source=NAME,
            )
        )
    if t.registered is not None and t.polled > t.registered:
        out.append(
            finding(
                "polled_exceeds_registered",
                code,
                "more votes polled than registered voters",
                severity="error",
                expected=f"polled <= registered = {t.registered}",
                found=f"polled = {t.polled}",
                source=NAME,
            )
        )
    if t.valid != sheet.candidate_sum:
        out.append(
            finding(
                "valid_not_candidate_sum",
                code,
                "ECP valid votes differ from the sum of candidate votes by "
                f"{sheet.candidate_sum - t.valid:+}",
                expected=f"valid = sum of candidate votes = {sheet.candidate_sum}",
                found=f"valid = {t.valid}",
                source=NAME,
            )
        )
    return out


def _postponed(code: ConstituencyCode) -> Finding:
    return finding(
        "contest_postponed",
        code,
        "contest postponed on polling day: no candidates or results in the source",
        severity="info",
        source=NAME,
    )


def _uncontested(code: ConstituencyCode, winner: Candidate) -> Finding:
    return finding(
        "contest_uncontested",
        code,
        f"returned unopposed: {winner.name} ({winner.party or INDEPENDENT}); no votes were cast",
        severity="info",
        source=NAME,
    )


def _discrepancy_findings(folder: Path, sheets: list[ResultSheet]) -> list[Finding]:
    """Check the published discrepancy list against what the candidate rows say."""
    computed = {s.constituency: s for s in sheets if s.totals.valid != s.candidate_sum}
    out = []
    for row in read_csv(folder / _DISCREPANCIES, columns=("constituency_code", "valid_votes", "valid_calc")):
        code = normalise_code(row.text("constituency_code"))
        if code is None:
            raise row.error("constituency_code", "a constituency code")
        valid, calc = row.required_integer("valid_votes"), row.required_integer("valid_calc")
        sheet = computed.get(code)
        if sheet is None or (sheet.totals.valid, sheet.candidate_sum) != (valid, calc):
            out.append(
                finding(
                    "discrepancy_not_reproduced",
                    code,
                    f"{_DISCREPANCIES} lists valid {valid} vs candidate sum {calc}; "
                    "the candidate rows do not",
                    expected=f"valid {valid}, candidate sum {calc}",
                    found="no such difference"
                    if sheet is None
                    else f"{sheet.totals.valid}, {sheet.candidate_sum}",
                    source=NAME,
                )
            )
    return out


def _registered_by_sex(folder: Path) -> dict[tuple[ConstituencyCode, int | None], tuple[int, int]]:
    """(code, total) -> (male, female) from Form-28 sums, else the NA registration file; totals must agree."""
    out: dict[tuple[ConstituencyCode, int | None], tuple[int, int]] = {}
    sources = (
        (_AJ, "male_voter_reg", "female_voter_reg", "total_voter_reg"),
        (_FORM28, "total_male_reg", "total_female_reg", "total_voter_reg"),
    )
    for file, male, female, total in sources:  # later sources win: Form-28 is the ECP's own
        for row in read_csv(folder / file, columns=("constituency_code", male, female, total)):
            code = normalise_code(row.text("constituency_code"))
            if code is None:
                raise row.error("constituency_code", "a constituency code")
            m, f, n = (row.integer(col, missing=("", "NA")) for col in (male, female, total))
            if m is not None and f is not None and n is not None:  # the NA file has gaps
                out[(code, n)] = (m, f)
    return out
