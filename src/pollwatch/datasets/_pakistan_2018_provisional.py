"""The 29 July 2018 NA snapshot of ``pakistan-2018-constituency`` as provisional (Form-47) sheets."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from pollwatch.datasets._common import finding, name_key, official_provenance
from pollwatch.datasets._files import Row, read_csv
from pollwatch.datasets._pakistan import normalise_code, party_code_2018
from pollwatch.model import Candidate, CandidateKey, ConstituencyCode, ResultSheet, SheetKind, Totals
from pollwatch.storage.findings import Finding

NAME = "pakistan-2018-constituency"
PROVISIONAL_LABEL = "2018-07-29 provisional"
_ORG = "Election Commission of Pakistan (results website)"
RAW_FILE = "ecp_2018_na_provisional_20180729_raw.csv"
CANDIDATES_FILE = "ecp_2018_na_provisional_20180729_candidates.csv"


def read_provisional(folder: Path, finals: list[Candidate]) -> tuple[list[ResultSheet], list[Finding]]:
    """The 29 July NA snapshot as Form-47 sheets, candidates matched to the final ballot by name + party."""
    raw = read_csv(
        folder / RAW_FILE,
        columns=(
            "seat",
            "registeredVoters",
            "votesPolled",
            "validVotes",
            "rejectedVotes",
            "numberOfCandidates",
        ),
    )
    rows_by_seat: dict[ConstituencyCode, list[Row]] = defaultdict(list)
    for row in read_csv(
        folder / CANDIDATES_FILE, columns=("candidateName", "candidateParty", "candidateVotes", "seat")
    ):
        code = normalise_code(row.text("seat"))
        if code is None:
            raise row.error("seat", "a constituency code such as NA-1")
        rows_by_seat[code].append(row)
    ballots: dict[ConstituencyCode, list[Candidate]] = defaultdict(list)
    for c in finals:
        ballots[c.constituency].append(c)
    sheets, findings = [], []
    for row in raw:
        code = normalise_code(row.text("seat"))
        if code is None:
            raise row.error("seat", "a constituency code such as NA-1")
        sheet, found = _provisional_sheet(code, row, rows_by_seat.get(code, []), ballots.get(code, []))
        sheets.append(sheet)
        findings.extend(found)
    return sheets, findings


def _provisional_sheet(
    code: ConstituencyCode, raw: Row, rows: list[Row], ballot: list[Candidate]
) -> tuple[ResultSheet, list[Finding]]:
    expected_n = raw.required_integer("numberOfCandidates")
    if len(rows) != expected_n:
        raise raw.error("numberOfCandidates", f"the number of {code} rows in {CANDIDATES_FILE} ({len(rows)})")
    votes, unmatched = _match(ballot, [(r, r.required_integer("candidateVotes")) for r in rows])
    totals = Totals(
        valid=raw.required_integer("validVotes"),
        rejected=raw.required_integer("rejectedVotes"),
        polled=raw.required_integer("votesPolled"),
        registered=raw.required_integer("registeredVoters"),
    )
    extra: dict[str, object] = {"snapshot": "2018-07-29", "file": RAW_FILE, "row": raw.line}
    for key in ("femaleTurnout", "maleTurnout"):
        if raw.values.get(key, "").strip():
            extra[key] = raw.values[key].strip()
    if unmatched:
        extra["unmatched_votes"] = [{"name": n, "party": p, "votes": v} for n, p, v in unmatched]
    findings = [
        finding(
            "provisional_candidate_unmatched",
            code,
            f"provisional candidate {n!r} ({p}) has no final candidate of that name and party; "
            "the votes are kept in the sheet's extra.unmatched_votes",
            expected="a final-snapshot candidate with the same name and party",
            found=f"{n} ({p}): {v} votes",
            source=NAME,
        )
        for n, p, v in unmatched
    ]
    assert totals.valid is not None
    assert totals.rejected is not None
    if totals.polled != totals.valid + totals.rejected:
        findings.append(
            finding(
                "polled_not_valid_plus_rejected",
                code,
                "provisional snapshot: votes polled is not valid + rejected",
                expected=f"polled = {totals.valid + totals.rejected}",
                found=f"polled = {totals.polled}",
                source=NAME,
            )
        )
    sheet = ResultSheet(
        kind=SheetKind.PROVISIONAL,
        form="Form-47",
        constituency=code,
        votes=votes,
        totals=totals,
        provenance=official_provenance(NAME, _ORG),
        label=PROVISIONAL_LABEL,
        extra=extra,
    )
    return sheet, findings


def _match(
    ballot: list[Candidate], reported: list[tuple[Row, int]]
) -> tuple[dict[CandidateKey, int], list[tuple[str, str, int]]]:
    """Pair reported rows with ballot candidates by (name, party); namesakes pair in order of votes."""
    free: dict[tuple[str, str | None], list[Candidate]] = defaultdict(list)
    for c in ballot:
        free[(name_key(c.name), c.party)].append(c)
    votes: dict[CandidateKey, int] = {}
    unmatched = []
    for row, n in sorted(reported, key=lambda pair: -pair[1]):
        name, party = row.text("candidateName"), row.text("candidateParty")
        pool = free.get((name_key(name), party_code_2018(party)))
        if pool:
            votes[pool.pop(0).ballot_order] = n
        else:
            unmatched.append((name, party, n))
    return dict(sorted(votes.items())), unmatched
