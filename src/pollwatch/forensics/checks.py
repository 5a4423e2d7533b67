"""Deterministic checks that need no statistics: copied numbers, heaping, impossible turnout, cross-race.

References
----------
.. [1] Behrens L. (2022). "Undervoting irregularities" (EPSA; github.com/Lion-Be/undervoting_irregularities):
   ballots at one station must agree across concurrent races.
.. [2] Beber B., Scacco A. (2012). Political Analysis 20(2):211-234 (round numbers written by hand).
.. [3] Kalinin K., Mebane W. R., EFToolkit @ca7b585 (C05s: share of counts ending in 0 or 5, expected 0.2).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from pollwatch.errors import InputError
from pollwatch.forensics.result import as_dict
from pollwatch.forensics.table import IntArray, StationTable


@dataclass(frozen=True)
class CheckResult:
    """Units failing one deterministic check, with the rule that caught them."""

    test: str
    dataset: str
    rule: str
    units_checked: int
    flagged_units: tuple[int, ...]
    groups: tuple[tuple[int, ...], ...]
    statistic: float
    p_value: float | None
    flagged: bool
    null: str
    caveats: tuple[str, ...]
    references: tuple[str, ...]

    def summary(self) -> dict[str, Any]:
        out = as_dict(self, drop=("flagged_units", "groups"))
        out["flagged_count"] = len(self.flagged_units)
        out["first_flagged_units"] = list(self.flagged_units[:20])
        return out


def copied_numbers(table: StationTable, *, min_valid: int = 50, min_nonzero: int = 3) -> CheckResult:
    """Stations whose whole count vector (every candidate, invalid) equals another station's [1]_.

    Only vectors with at least ``min_valid`` valid votes and ``min_nonzero`` non-zero candidates count:
    two tiny stations can match honestly.
    """
    vec = np.column_stack([table.votes, table.invalid])
    eligible = np.flatnonzero((table.valid >= min_valid) & ((table.votes > 0).sum(axis=1) >= min_nonzero))
    groups: dict[bytes, list[int]] = defaultdict(list)
    rows = np.ascontiguousarray(vec[eligible])
    for idx, row in zip(eligible.tolist(), rows, strict=True):
        groups[row.tobytes()].append(idx)
    dupes = tuple(tuple(g) for g in groups.values() if len(g) > 1)
    units = tuple(sorted(i for g in dupes for i in g))
    return CheckResult(
        test="copied-numbers",
        dataset=table.name,
        rule=f"identical count vectors, units with >= {min_valid} valid and >= {min_nonzero} candidates",
        units_checked=int(eligible.size),
        flagged_units=units,
        groups=dupes,
        statistic=float(len(dupes)),
        p_value=None,
        flagged=bool(dupes),
        null="no two independent counts of this size coincide in every candidate",
        caveats=("A repeated vector can be a data-entry duplicate of one station; check the sheets.",),
        references=("Behrens (2022), EPSA; github.com/Lion-Be/undervoting_irregularities",),
    )


def turnout_over_100(table: StationTable) -> CheckResult:
    """Units reporting more ballots than registered voters."""
    reg, given = table.require_turnout("turnout-over-100")
    bad = np.flatnonzero((reg > 0) & (given > reg))
    return CheckResult(
        test="turnout-over-100",
        dataset=table.name,
        rule="ballots issued > registered voters",
        units_checked=int((reg > 0).sum()),
        flagged_units=tuple(int(i) for i in bad),
        groups=(),
        statistic=float(bad.size),
        p_value=None,
        flagged=bool(bad.size),
        null="no unit can issue more ballots than it has voters",
        caveats=(
            "Voters added on the day (certificates, mobile voters) can push some systems over 100 % legally.",
        ),
        references=("FORENSICS.md 0: plausibility gates",),
    )


def round_heaping(table: StationTable, *, minimum: int = 100, alpha: float = 0.001) -> CheckResult:
    """Share of turnout and leader counts (>= ``minimum``) ending in 0 or 5, against 0.2 [2]_ [3]_."""
    parts: list[IntArray] = [table.leader_votes]
    if table.given is not None:
        parts.append(table.given)
    x = np.concatenate([p[p >= minimum] for p in parts])
    hits = (x % 5) == 0
    if x.size == 0:
        raise InputError(
            "no counts large enough for the round-number check", expected=f">= {minimum}", found="0"
        )
    p = float(stats.binomtest(int(hits.sum()), int(x.size), 0.2, alternative="greater").pvalue)
    return CheckResult(
        test="round-heaping",
        dataset=table.name,
        rule=f"counts >= {minimum} ending in 0 or 5 (turnout and leader votes)",
        units_checked=int(x.size),
        flagged_units=(),
        groups=(),
        statistic=float(hits.mean()),
        p_value=p,
        flagged=bool(p < alpha),
        null="last digit uniform for counts >= 100: share ending in 0 or 5 = 0.2 (exact binomial test)",
        caveats=(
            "Counts near the threshold are not perfectly uniform in their last digit (Beber & Scacco 2012).",
        ),
        references=("Beber & Scacco (2012), Political Analysis 20(2)", "EFToolkit @ca7b585 C05s"),
    )


def cross_race(first: StationTable, second: StationTable, *, tolerance: int = 0) -> CheckResult:
    """Stations where two concurrent races report different numbers of ballots [1]_.

    Rows of the two tables must be the same stations in the same order (e.g. national and provincial
    assembly at one polling station).
    """
    if first.n != second.n:
        raise InputError(
            "the two races must list the same stations", expected=str(first.n), found=str(second.n)
        )
    a = first.given if first.given is not None else first.received
    b = second.given if second.given is not None else second.received
    diff = np.abs(a - b)
    bad = np.flatnonzero(diff > tolerance)
    return CheckResult(
        test="cross-race",
        dataset=f"{first.name} vs {second.name}",
        rule=f"|ballots race 1 - ballots race 2| > {tolerance}",
        units_checked=first.n,
        flagged_units=tuple(int(i) for i in bad),
        groups=(),
        statistic=float(diff.sum()),
        p_value=None,
        flagged=bool(bad.size),
        null="every voter receives one ballot per race, so counts agree",
        caveats=("Voters entitled to only one of the races (postal, out-of-district) create honest gaps.",),
        references=("Behrens (2022), EPSA; github.com/Lion-Be/undervoting_irregularities",),
    )
