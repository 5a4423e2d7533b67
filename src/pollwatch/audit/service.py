"""The whole audit of one election: legal checks, official-vs-signed comparison, snapshot changes.

References
----------
.. [1] pollwatch MISSION.md capability 5; PAKISTAN.md A9 (the invariants checked).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace

import numpy as np

from pollwatch.audit.legal import awaited_at_deadline, check_contests, check_stations, missing_results
from pollwatch.audit.official import OfficialTotals, SignedCounts, audit_station_copies, audit_totals
from pollwatch.audit.repoll import RepollImpact, RepollStation, repoll_impact
from pollwatch.audit.snapshots import compare_snapshots
from pollwatch.errors import NotFoundError
from pollwatch.model import CandidateKey, Role, SheetKind, Station
from pollwatch.rules import RulePack, get_rule_pack
from pollwatch.rules.base import Evidence, Finding, StationFigures
from pollwatch.storage.findings import Finding as StoredFinding
from pollwatch.tally.inputs import ResultsInput, station_key
from pollwatch.tally.live import BoolArray, Universe
from pollwatch.tally.service import ElectionTally, tally_election


@dataclass(frozen=True)
class AuditReport:
    election: str
    rule_pack: str
    snapshots: list[str]
    findings: list[Finding]

    def where(self) -> dict[str, list[str]]:
        """For each kind, where it was found (with the snapshot label when the finding has one)."""
        out: dict[str, list[str]] = {}
        for f in self.findings:
            label = f.data.get("label")
            out.setdefault(f.kind, []).append(f"{f.where} ({label})" if label else f.where)
        return dict(sorted(out.items()))

    def counts(self) -> dict[str, int]:
        return dict(sorted(Counter(f.kind for f in self.findings).items()))

    def stored(self) -> list[StoredFinding]:
        """The findings as the store keeps them (evidence named in the message: source, form, label)."""
        out = []
        for f in self.findings:
            evidence = "; ".join(f"{e.source} {e.form} {e.label}".strip() for e in f.evidence)
            message = (
                f.message
                + (f" [rule: {f.rule}]" if f.rule else "")
                + (f" [evidence: {evidence}]" if evidence else "")
            )
            out.append(
                StoredFinding(f.kind, f.severity.value, f.where, message, f.expected, f.found, "audit")
            )
        return out

    def as_dict(self) -> dict[str, object]:
        return {
            "election": self.election,
            "rule_pack": self.rule_pack,
            "snapshots": self.snapshots,
            "counts": self.counts(),
            "where": self.where(),
            "findings": [f.as_dict() for f in self.findings],
        }


def audit_election(
    inp: ResultsInput,
    *,
    pack: RulePack | None = None,
    kinds: Collection[str] | None = None,
    constituency: str | None = None,
) -> AuditReport:
    """Every check of the audit over every official snapshot and every station sheet.

    ``kinds`` keeps only findings of those kinds (all checks still run); ``constituency`` audits
    that constituency alone (every check is per constituency, so its findings are the same).
    """
    inp = inp.only(None, constituency=constituency)
    pack = pack or get_rule_pack(inp.election.rule_pack)
    ballots = inp.ballots()
    snapshots = inp.official_labels()
    found: list[Finding] = []
    assemblies: dict[str, str] = {c.code: c.assembly for c in inp.constituencies}
    previous = None
    for kind, label in snapshots:
        contests = inp.contests(kind, label)
        found += check_contests(contests, pack, election_date=inp.election.date)
        covered = {assemblies.get(c.constituency) for c in contests}
        expected = [c.code for c in inp.constituencies if c.assembly in covered]
        found += missing_results(expected, contests, label=label)
        if previous is not None:
            found += compare_snapshots(previous, contests, ballots=ballots)
        previous = contests
    et = tally_election(inp)
    found += check_stations(_station_figures(inp, et), pack)
    deadline = pack.deadline(inp.election.date)
    if deadline is not None:
        found += awaited_at_deadline(et.stations, deadline)
    statement = [
        s
        for s in inp.sheets
        if s.kind is SheetKind.CONSOLIDATED
        and (s.station_serial is not None or s.station is not None)
        and s.provenance.role in (Role.OFFICIAL, Role.IMPORT)
    ]
    found += audit_station_copies(et.stations, statement, ballots=ballots)
    counts = _signed_counts(inp, et)
    if counts.signed_present.any():
        signed = _signed_evidence(et)
        for kind, label in snapshots:
            found += [_with_signed(f, signed) for f in audit_totals(counts, _official(inp, et, kind, label))]
    if kinds is not None:
        found = [f for f in found if f.kind in kinds]
    return AuditReport(inp.election.slug, pack.name, [label for _, label in snapshots], found)


def repoll_election(
    inp: ResultsInput, code: str, *, stations: Sequence[str], counted: bool = False, turnout_cap: float = 1.0
) -> RepollImpact:
    """Re-poll impact on the latest declared result of ``code`` for stations named by number or serial.

    With ``counted`` the declared totals include those stations' votes, taken from their best
    reconciled station sheet; otherwise their results count as cancelled.
    """
    snapshots = inp.official_labels()
    contests = [
        c for kind, label in snapshots[-1:] for c in inp.contests(kind, label) if c.constituency == code
    ]
    if not contests:
        raise NotFoundError(
            f"no declared result for {code}", found=code, expected="a constituency with results"
        )
    best = {r.serial: r.best for r in tally_election(inp).stations if r.constituency == code}
    chosen = []
    for st in _named_stations(inp, code, stations):
        version = best.get(st.serial)
        votes = dict(version.sheet.votes) if (version is not None and counted) else {}
        chosen.append(RepollStation(st.number, st.registered.total or 0, votes))
    impact = repoll_impact(code, contests[0].votes, stations=chosen, turnout_cap=turnout_cap)
    ballot = {CandidateKey(e.position): e for e in inp.ballots().ballot(code)}
    names = {k: e.name for k, e in ballot.items()}
    return replace(impact, names=names, parties={k: e.party for k, e in ballot.items()})


_SUMS = {"official_total_differs", "winner_reversal", "signed_leader_differs"}


def _signed_evidence(et: ElectionTally) -> dict[str, tuple[Evidence, ...]]:
    """Per constituency, the signed sheet each station's figure was taken from."""
    out: dict[str, list[Evidence]] = {}
    for r in et.stations:
        if r.best is not None and r.best.attesters:
            out.setdefault(r.constituency, []).append(Evidence.of(r.best.sheet))
    return {code: tuple(ev) for code, ev in out.items()}


def _with_signed(f: Finding, signed: dict[str, tuple[Evidence, ...]]) -> Finding:
    """A finding about sums rests on the official sheet and on every signed sheet summed."""
    return replace(f, evidence=f.evidence + signed.get(f.where, ())) if f.kind in _SUMS else f


def _named_stations(inp: ResultsInput, code: str, names: Sequence[str]) -> list[Station]:
    """Stations named by polling-scheme serial, or else by printed number when that is unique."""
    mine = [s for s in inp.stations if s.constituency == code]
    by_serial = {str(s.serial): s for s in mine}
    by_number: dict[str, list[Station]] = {}
    for s in mine:
        by_number.setdefault(s.number, []).append(s)
    out, problems = [], []
    for name in dict.fromkeys(names):
        if name in by_serial:
            out.append(by_serial[name])
        elif len(by_number.get(name, [])) == 1:
            out.append(by_number[name][0])
        else:
            problems.append(name)
    if problems:
        raise NotFoundError(
            "some stations to re-poll are not in the polling scheme",
            where=code,
            expected=f"serials or unique station numbers of {code}",
            found=", ".join(problems),
        )
    return out


def _station_figures(inp: ResultsInput, et: ElectionTally) -> list[StationFigures]:
    structure: dict[tuple[str, int], Station] = {(s.constituency, s.serial): s for s in inp.stations}
    out = []
    for r in et.stations:
        if r.best is None:
            continue
        sheet = r.best.sheet
        st = structure.get((r.constituency, r.serial)) if r.serial is not None else None
        polled = sheet.totals.polled
        if polled is None:
            polled = sheet.candidate_sum + (sheet.totals.rejected or 0)
        registered = st.registered.total if st is not None else sheet.totals.registered
        out.append(
            StationFigures(
                constituency=r.constituency,
                serial=r.serial or 0,
                number=r.number or str(r.serial),
                registered=registered,
                booths=st.booths.total if st is not None else None,
                polled=polled,
                votes_female=sheet.totals.votes_female,
                evidence=(Evidence.of(sheet),),
                registered_female=st.registered.female if st is not None else None,
            )
        )
    return out


def _signed_counts(inp: ResultsInput, et: ElectionTally) -> SignedCounts:
    u = et.tally.universe
    n, k = len(u.station_constituency), u.n_columns
    signed = np.zeros((n, k), dtype=np.int64)
    present = np.zeros(n, dtype=bool)
    official_station = np.zeros(n, dtype=bool)
    numbers = [""] * n
    # The official statement is the station-wise Form-48 (kind CONSOLIDATED with a station), not
    # the commission's uploads of single Form-45s.
    listed = {
        et.station_index[station_key(s)]
        for s in inp.sheets
        if s.kind is SheetKind.CONSOLIDATED
        and (s.station_serial is not None or s.station is not None)
        and station_key(s) in et.station_index
    }
    for r in et.stations:
        station = et.station_index.get((r.constituency, r.serial if r.serial is not None else r.number))
        if station is None:
            continue
        numbers[station] = r.number or str(r.serial)
        official_station[station] = station in listed
        if r.best is not None and r.best.attesters:
            present[station] = True
            for key, votes in r.best.sheet.votes.items():
                if 0 < key <= k:
                    signed[station, key - 1] = votes
    # A constituency whose official statement lists no station: every station counts as listed.
    lists = np.bincount(u.station_constituency, weights=official_station, minlength=u.n_constituencies) > 0
    in_statement = official_station | ~lists[u.station_constituency]
    return SignedCounts(
        u.constituency_codes,
        u.station_constituency,
        numbers,
        signed,
        present,
        in_statement,
        scheme_verified=_scheme_verified(inp, u),
        ballots=u.ballots,
    )


def _scheme_verified(inp: ResultsInput, u: Universe) -> BoolArray:
    """A constituency's stations are taken as its whole polling scheme only when every station's
    registered voters are known and add up to at least the constituency's registered voters."""
    c = u.n_constituencies
    reg = u.station_registered
    unknown = np.bincount(u.station_constituency, weights=reg < 0, minlength=c) > 0
    summed = np.bincount(u.station_constituency, weights=np.maximum(reg, 0), minlength=c)
    expected = np.asarray(
        [k.registered.total if k.registered.total is not None else 0 for k in inp.constituencies], dtype=float
    )
    return np.asarray(~unknown & (summed >= expected), dtype=bool)


def _official(inp: ResultsInput, et: ElectionTally, kind: SheetKind, label: str) -> OfficialTotals:
    u = et.tally.universe
    cidx = {code: i for i, code in enumerate(u.constituency_codes)}
    totals = np.zeros((u.n_constituencies, u.n_columns), dtype=np.int64)
    present = np.zeros(u.n_constituencies, dtype=bool)
    listed = np.zeros((u.n_constituencies, u.n_columns), dtype=bool)
    evidence: list[tuple[Evidence, ...]] = [()] * u.n_constituencies
    for s in inp.sheets:
        if (
            s.kind is not kind
            or s.label != label
            or s.constituency not in cidx
            or s.station_serial is not None
            or s.station is not None
        ):
            continue
        if s.provenance.role not in (Role.OFFICIAL, Role.IMPORT):
            continue
        i = cidx[s.constituency]
        present[i] = True
        evidence[i] = (Evidence.of(s),)
        for key, votes in s.votes.items():
            if 0 < key <= u.n_columns:
                totals[i, key - 1] = votes
                listed[i, key - 1] = True
    return OfficialTotals(label, totals, present, evidence, listed)


__all__ = ["AuditReport", "audit_election", "repoll_election", "station_key"]
