"""The audit on the real 2018 results, checked against figures computed here from the raw CSV files
with the csv module only (colincookman 2018-09-04 scrape; uns1 2018-07-29 provisional scrape)."""

import ast
import csv
from collections import defaultdict
from pathlib import Path

import pytest

from pollwatch.audit.service import AuditReport, audit_election, repoll_election
from pollwatch.tally.inputs import ResultsInput
from tests.conftest import require_shared_data

FINAL = "2018-09-04 final"
PROVISIONAL = "2018-07-29 provisional"


def _final_rows() -> dict[str, list[dict[str, str]]]:
    path = require_shared_data("pakistan-2018-constituency", "ecp_2018_candidates_final_20180904.csv")
    rows: dict[str, list[dict[str, str]]] = defaultdict(list)
    with Path(path).open(newline="") as fh:
        for r in csv.DictReader(fh):
            if r["contest_status"] == "Contested":
                rows[r["constituency_code"]].append(r)
    return rows


def _margin(votes: list[int]) -> int:
    top = sorted(votes, reverse=True) + [0]
    return top[0] - top[1]


@pytest.fixture(scope="module")
def report(pk2018: ResultsInput) -> AuditReport:
    return audit_election(pk2018)


def _where(report: AuditReport, kind: str, label: str | None = None) -> set[str]:
    return {
        f.where for f in report.findings if f.kind == kind and (label is None or f.data.get("label") == label)
    }


def test_rejected_above_margin_matches_the_raw_file(report: AuditReport) -> None:
    expected = set()
    for code, rows in _final_rows().items():
        if len(rows) > 1 and int(rows[0]["votes_disq"]) > _margin([int(r["candidate_votes"]) for r in rows]):
            expected.add(code)
    assert len(expected) > 100
    assert _where(report, "rejected_exceed_margin", FINAL) == expected


def test_recount_eligible_matches_the_raw_file(report: AuditReport) -> None:
    # EA 2017 s.95(5): margin < 5 % of votes polled or 10,000, whichever is less.
    expected = set()
    for code, rows in _final_rows().items():
        margin = _margin([int(r["candidate_votes"]) for r in rows])
        if len(rows) > 1 and margin < min(0.05 * int(rows[0]["votes_polled"]), 10_000):
            expected.add(code)
    assert _where(report, "recount_eligible", FINAL) == expected


def _provisional() -> dict[str, tuple[list[int], int, str]]:
    path = require_shared_data("pakistan-2018-constituency", "ecp_2018_na_provisional_20180729_raw.csv")
    out = {}
    with Path(path).open(newline="") as fh:
        for r in csv.DictReader(fh):
            if not r["votingResults"].strip():
                continue
            cands = ast.literal_eval(r["votingResults"])
            out[r["seat"]] = (
                [int(c["candidateVotes"]) for c in cands],
                int(r["rejectedVotes"] or 0),
                r["firstName"],
            )
    return out


def test_provisional_to_final_changes_match_the_raw_files(report: AuditReport) -> None:
    final = _final_rows()
    changed, flipped = set(), set()
    for code, (votes, rejected, first) in _provisional().items():
        rows = final.get(code)
        if not rows or not votes:
            continue
        # A candidate with no votes in one snapshot and absent from the other is no change.
        before = sorted(v for v in votes if v)
        after = sorted(int(r["candidate_votes"]) for r in rows if int(r["candidate_votes"]))
        if before != after or rejected != int(rows[0]["votes_disq"]):
            changed.add(code)
        winner = max(rows, key=lambda r: int(r["candidate_votes"]))["candidate_name"]
        if winner.strip().lower() != first.strip().lower():
            flipped.add(code)
    found = _where(report, "provisional_to_final_change") | _where(report, "winner_changed_after_provisional")
    assert len(changed) > 200
    assert found == changed
    assert _where(report, "winner_changed_after_provisional") == flipped


def test_findings_carry_their_evidence_and_rule(report: AuditReport) -> None:
    f = next(f for f in report.findings if f.kind == "recount_eligible")
    assert f.rule.startswith("EA 2017 s.95(5)")
    assert f.evidence
    assert f.evidence[0].source == "pakistan-2018-constituency"


def test_women_share_rule_finds_the_two_seats_the_ecp_voided(report: AuditReport) -> None:
    # Independently: women's turnout rate (provisional file) x registered women (Al Jazeera file) over
    # votes polled; both rates zero means the source left them blank. The ECP voided NA-10 and NA-48
    # under s.9 in 2018 (Dawn 1423631: 12,663 of 128,302 and 6,364 of 63,954 from Form-47).
    path = require_shared_data("pakistan-2018-constituency", "na_2018_registration_and_ps_counts.csv")
    with Path(path).open(newline="") as fh:
        reg = {r["constituency_code"]: int(r["female_voter_reg"] or 0) for r in csv.DictReader(fh)}
    expected = set()
    path = require_shared_data("pakistan-2018-constituency", "ecp_2018_na_provisional_20180729_raw.csv")
    with Path(path).open(newline="") as fh:
        for r in csv.DictReader(fh):
            women, men, polled = (
                float(r["femaleTurnout"] or 0),
                float(r["maleTurnout"] or 0),
                int(r["votesPolled"]),
            )
            if (
                (women or men)
                and polled
                and reg.get(r["seat"])
                and round(women * reg[r["seat"]]) / polled < 0.10
            ):
                expected.add(r["seat"])
    assert expected == {"NA-10", "NA-48"}
    assert _where(report, "women_share_below_minimum", PROVISIONAL) == expected


def test_repoll_on_real_stations_uses_the_polling_scheme(pk2018: ResultsInput) -> None:
    # NA-10 (Shangla): registered voters of polling-scheme serials 1-4 and the final margin, read here.
    scheme = require_shared_data("pakistan-2018-pollingstation", "ecp_gis_polling_scheme_2018.csv")
    with Path(scheme).open(newline="") as fh:
        registered = sum(
            int(r["total_voters"])
            for r in csv.DictReader(fh)
            if r["constituency_code"] == "NA-10" and r["list_sno"] in {"1", "2", "3", "4"}
        )
    votes = sorted((int(r["candidate_votes"]) for r in _final_rows()["NA-10"]), reverse=True)
    impact = repoll_election(pk2018, "NA-10", stations=["1", "2", "3", "4"])
    assert impact.registered_at_stake == registered
    assert impact.closest is not None
    assert impact.closest.needed == votes[0] - votes[1] + 1
    assert impact.can_change_winner is (votes[0] - votes[1] + 1 <= registered)
