"""Official results against the signed station sheets, at station and constituency level.

Checks, each yielding :class:`~pollwatch.rules.Finding` values:

1. ``station_missing_from_official``: a station with a signed count that the official station-wise
   statement (Pakistan Form-48) leaves out.
2. ``official_total_differs``: an official constituency total (Form-47/48/49) that is not the sum of
   the signed station counts of the stations it lists; with incomplete coverage only a candidate
   credited with *fewer* votes than the signed sheets already give is certain, and is reported.
3. ``winner_reversal``: with every station's signed count in hand, the signed winner is not the
   official winner; ``signed_leader_differs`` (a warning) when every known station is in but the
   station list is not known to be the whole polling scheme.
4. ``official_station_differs``: an official copy of a station sheet, or a row of the station-wise
   statement (Form-48), that differs from the figures the independent copies attest.

References
----------
.. [1] EA 2017 s.92, s.95 and ER r.84: Form-47 is the sum of the Form-45s excluding postal
   ballots; Form-48 lists station by station (PAKISTAN.md A1, A9).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from pollwatch.model import ResultSheet
from pollwatch.rules.base import Evidence, Finding, Severity
from pollwatch.tally.ballot import BallotEntry, Ballots
from pollwatch.tally.live import sum_by_constituency
from pollwatch.tally.reconcile import StationReconciliation, Version

IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True)
class SignedCounts:
    """Station-level signed counts and what the official statement lists, as arrays."""

    codes: Sequence[str]
    station_constituency: IntArray
    station_numbers: Sequence[str]
    signed: IntArray
    """(n, K) votes on the signed station sheets (zeros where none)."""
    signed_present: BoolArray
    in_statement: BoolArray
    """Stations the official station-wise statement lists (all True when it lists none)."""
    scheme_verified: BoolArray | None = None
    """Per constituency: the station list is known to be the whole polling scheme (None: all are).
    Where it is not, full coverage of the known stations proves nothing about the rest: only
    certain shortfalls are errors and a different leader is a warning."""
    ballots: Ballots | None = None
    """Candidates' names and parties by constituency and position (None: positions only)."""

    def ballot(self, c: int) -> tuple[BallotEntry, ...]:
        """The real candidates of constituency ``c`` (every column when the ballots are not known)."""
        entries = self.ballots.ballot(self.codes[c]) if self.ballots is not None else ()
        return entries or tuple(BallotEntry(j + 1) for j in range(self.signed.shape[1]))

    def label(self, c: int, position: int) -> str:
        """``candidate 3 (Name, PARTY)`` for a ballot position of constituency ``c``."""
        return (self.ballots or Ballots()).label(self.codes[c], position)


@dataclass(frozen=True)
class OfficialTotals:
    """One official snapshot of constituency totals (e.g. Form-47 provisional)."""

    label: str
    totals: IntArray
    """(C, K) official votes per constituency and ballot position."""
    present: BoolArray
    evidence: Sequence[tuple[Evidence, ...]] = ()
    listed: BoolArray | None = None
    """(C, K): the ballot positions the official sheet gives a figure for (None: all). A source that
    lumps minor candidates into "others" says nothing about each of them."""


def audit_totals(counts: SignedCounts, official: OfficialTotals) -> list[Finding]:
    """Checks 1-3 of the module for one official snapshot."""
    c = len(counts.codes)
    found = _missing_from_statement(counts, official)
    listed = counts.signed_present & counts.in_statement
    partial = sum_by_constituency(
        counts.station_constituency, np.where(listed[:, None], counts.signed, 0), n_constituencies=c
    )
    listed_n = np.bincount(counts.station_constituency, weights=counts.in_statement, minlength=c)
    have_n = np.bincount(counts.station_constituency, weights=listed, minlength=c)
    all_n = np.bincount(counts.station_constituency, minlength=c)
    all_have = np.bincount(counts.station_constituency, weights=counts.signed_present, minlength=c)
    k = min(partial.shape[1], official.totals.shape[1])
    verified = np.ones(c, dtype=bool) if counts.scheme_verified is None else counts.scheme_verified
    for i in np.flatnonzero(official.present & (have_n > 0)):
        complete = bool(have_n[i] == listed_n[i] and verified[i])
        diff = official.totals[i, :k] - partial[i, :k]
        if official.listed is not None:
            diff = np.where(official.listed[i, :k], diff, 0)
        bad = np.flatnonzero(diff != 0) if complete else np.flatnonzero(diff < 0)
        ev = official.evidence[int(i)] if len(official.evidence) > i else ()
        if bad.size:
            found.append(_total_finding(counts, int(i), official.label, diff, bad, complete, partial[i], ev))
        if all_have[i] == all_n[i]:
            found += _reversal(counts, official, int(i), ev, verified=bool(verified[i]))
    return found


def _missing_from_statement(counts: SignedCounts, official: OfficialTotals) -> list[Finding]:
    out = []
    for s in np.flatnonzero(counts.signed_present & ~counts.in_statement):
        c = int(counts.station_constituency[s])
        if not official.present[c]:
            continue
        out.append(
            Finding(
                kind="station_missing_from_official",
                severity=Severity.ERROR,
                where=f"{counts.codes[c]}/station {counts.station_numbers[int(s)]}",
                message="a station with a signed count is missing from the official statement",
                expected="the station listed in the official station-wise statement",
                found=f"absent from {official.label}; signed count {int(counts.signed[s].sum())} valid votes",
                rule="EA 2017 s.95, Form-48 lists every polling station",
                data={"station_index": int(s), "signed_votes": _named_votes(counts, c, counts.signed[s])},
            )
        )
    return out


def _named_votes(
    counts: SignedCounts, c: int, vector: IntArray, key: str = "votes"
) -> list[dict[str, object]]:
    """One entry per real candidate of constituency ``c``: position, name, party and the figure."""
    return [
        {**e.as_dict(), key: int(vector[e.position - 1])}
        for e in counts.ballot(c)
        if e.position <= len(vector)
    ]


def _total_finding(
    counts: SignedCounts,
    c: int,
    label: str,
    diff: IntArray,
    bad: IntArray,
    complete: bool,
    signed: IntArray,
    evidence: tuple[Evidence, ...],
) -> Finding:
    parts = ", ".join(f"{counts.label(c, int(j) + 1)}: {int(diff[j]):+d}" for j in bad)
    sums = ", ".join(f"{int(j) + 1}: {int(signed[j])}" for j in bad)
    return Finding(
        kind="official_total_differs",
        severity=Severity.ERROR,
        where=counts.codes[c],
        message="the official total is not what the signed station sheets add up to"
        if complete
        else "the official total gives a candidate fewer votes than the signed sheets already received",
        expected=f"signed sums by ballot position {{{sums}}}" + ("" if complete else " (partial coverage)"),
        found=f"{label}: {parts}",
        rule="EA 2017 s.92, ER r.84: Form-47 = sum of Form-45 (PAKISTAN.md A9)",
        evidence=evidence,
        data={
            "label": label,
            "difference": {str(int(j) + 1): int(diff[j]) for j in bad},
            "candidates": [d for d in _named_votes(counts, c, diff, "difference") if d["difference"]],
            "complete": bool(complete),
        },
    )


def _reversal(
    counts: SignedCounts, official: OfficialTotals, c: int, ev: tuple[Evidence, ...], *, verified: bool
) -> list[Finding]:
    rows = counts.station_constituency == c
    signed = counts.signed[rows].sum(axis=0)
    off = official.totals[c]
    if signed.sum() == 0 or off.sum() == 0:
        return []
    w_signed, w_off = int(np.argmax(signed)), int(np.argmax(off[: len(signed)]))
    if w_signed == w_off or signed[w_signed] == signed[w_off]:
        return []
    n = int(rows.sum())
    return [
        Finding(
            kind="winner_reversal" if verified else "signed_leader_differs",
            severity=Severity.ERROR if verified else Severity.WARNING,
            where=counts.codes[c],
            message="the signed station sheets elect another candidate than the official result"
            if verified
            else f"on the {n} signed station sheets in hand another candidate leads than the official "
            "winner (whether these are all the stations is not verified)",
            expected=f"{counts.label(c, w_signed + 1)} wins on the signed sheets "
            f"({int(signed[w_signed])} votes)",
            found=f"{official.label} declares {counts.label(c, w_off + 1)} ({int(off[w_off])} votes)",
            rule="all stations' signed counts in hand"
            if verified
            else "signed counts of every known station",
            evidence=ev,
            data={
                "signed_winner": w_signed + 1,
                "official_winner": w_off + 1,
                "signed_winner_candidate": _entry(counts, c, w_signed + 1),
                "official_winner_candidate": _entry(counts, c, w_off + 1),
                "label": official.label,
                "stations": n,
                "scheme_verified": verified,
            },
        )
    ]


def _entry(counts: SignedCounts, c: int, position: int) -> dict[str, object]:
    return (counts.ballots or Ballots()).entry(counts.codes[c], position).as_dict()


def audit_station_copies(
    items: Sequence[StationReconciliation],
    statement: Sequence[ResultSheet] = (),
    *,
    ballots: Ballots | None = None,
) -> list[Finding]:
    """Check 4: official station figures (uploaded Form-45 copies, or rows of the station-wise
    statement, Form-48) that differ from the independently attested figures."""
    out = []
    names = ballots or Ballots()
    attested: dict[tuple[str, object], tuple[StationReconciliation, Version]] = {}
    for r in items:
        best = r.best
        if best is None or not best.attesters:
            continue
        attested[(r.constituency, r.serial)] = (r, best)
        attested.setdefault((r.constituency, r.number), (r, best))
        for v in r.versions:
            if v.official and v is not best:
                out.append(_station_differs(r, best.sheet, v.sheet, len(best.attesters), names))
    for row in statement:
        ident = row.station_serial if row.station_serial is not None else row.station
        hit = attested.get((row.constituency, ident))
        if hit is not None and dict(row.votes) != dict(hit[1].sheet.votes):
            out.append(_station_differs(hit[0], hit[1].sheet, row, len(hit[1].attesters), names))
    return out


def _station_differs(
    r: StationReconciliation, signed: ResultSheet, official: ResultSheet, n: int, names: Ballots
) -> Finding:
    keys = sorted(set(signed.votes) | set(official.votes))
    diff = {int(k): official.votes.get(k, 0) - signed.votes.get(k, 0) for k in keys}
    changed = ", ".join(f"{names.label(r.constituency, k)}: {d:+d}" for k, d in diff.items() if d)
    return Finding(
        kind="official_station_differs",
        severity=Severity.ERROR,
        where=f"{r.constituency}/station {r.number}",
        message=f"the official {official.form} figures of a station differ from the signed copies",
        expected=f"{dict(signed.votes)} attested by {n} source(s)",
        found=f"official {official.form} {dict(official.votes)}; {changed}",
        rule="the Form-45 signed at the station is the primary record (EA 2017 s.90, s.95)",
        evidence=(Evidence.of(signed), Evidence.of(official)),
        data={
            "difference": {str(k): d for k, d in diff.items() if d},
            "candidates": [
                {**names.entry(r.constituency, k).as_dict(), "difference": d} for k, d in diff.items() if d
            ],
            "form": official.form,
        },
    )
