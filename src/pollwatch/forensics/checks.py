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
from numpy.typing import NDArray
from scipy import stats

from pollwatch.errors import InputError
from pollwatch.forensics.result import as_dict, name_units
from pollwatch.forensics.table import IntArray, StationTable


@dataclass(frozen=True)
class CheckResult:
    """Units failing one deterministic check, with the rule that caught them."""

    test: str
    dataset: str
    rule: str
    units_checked: int
    flagged_units: tuple[int, ...]
    """Row positions in the table (for code); readers get ``named_units``."""
    groups: tuple[tuple[int, ...], ...]
    statistic: float
    p_value: float | None
    flagged: bool
    null: str
    caveats: tuple[str, ...]
    references: tuple[str, ...]
    named_units: tuple[dict[str, Any], ...] = ()
    """The first 20 flagged units by their code, with their figures (see ``result.name_units``)."""
    named_groups: tuple[tuple[str, ...], ...] = ()
    """Copied-number groups by unit code."""

    def summary(self) -> dict[str, Any]:
        out = as_dict(self, drop=("flagged_units", "groups", "named_units", "named_groups"))
        out["flagged_count"] = len(self.flagged_units)
        out["first_flagged_units"] = [dict(u) for u in self.named_units]
        if self.named_groups:
            out["copied_groups"] = [list(g) for g in self.named_groups[:20]]
        return out


def _duplicate_groups(rows: IntArray, weights: NDArray[np.uint64]) -> int:
    """Number of values shared by two or more rows (rows hashed by a random 64-bit linear form)."""
    with np.errstate(over="ignore"):
        h = (rows.astype(np.uint64) * weights).sum(axis=1)
    _, counts = np.unique(h, return_counts=True)
    return int((counts > 1).sum())


def _coincidence_null(rows: IntArray, size: IntArray, *, permutations: int, seed: int) -> IntArray:
    """Duplicate groups after shuffling every column independently within (up to 20) size strata.

    Shuffling keeps each column's values and their link to station size but breaks any copying, so the
    counts say how many identical vectors honest coincidence produces at this size and number of units.
    """
    rng = np.random.default_rng(seed)
    strata = int(np.clip(size.size // 50, 1, 20))  # at least ~50 units to shuffle within a stratum
    edges = np.quantile(size, np.linspace(0, 1, strata + 1)[1:-1])
    stratum = np.searchsorted(edges, size, side="right").astype(np.float64)
    home = np.argsort(stratum, kind="stable")
    weights: NDArray[np.uint64] = np.asarray(rng.integers(1, 2**63, size=rows.shape[1], dtype=np.uint64))
    out = np.empty(permutations, dtype=np.int64)
    for b in range(permutations):
        shuffled = np.empty_like(rows)
        for j in range(rows.shape[1]):
            shuffled[home, j] = rows[np.argsort(stratum + rng.random(stratum.size), kind="stable"), j]
        out[b] = _duplicate_groups(shuffled, weights)
    return out


def copied_numbers(
    table: StationTable, *, min_valid: int = 50, min_nonzero: int = 3, permutations: int = 19, seed: int = 0
) -> CheckResult:
    """Stations whose whole count vector (every candidate, invalid) equals another station's [1]_.

    Only vectors with at least ``min_valid`` valid votes and ``min_nonzero`` non-zero candidates count.
    With few candidates and many units, honest vectors coincide too; the number of duplicate groups is
    therefore compared with ``permutations`` within-size-strata column shuffles (p-value resolution
    1/(permutations + 1)), and the check flags only when copies exceed what coincidence explains.
    """
    vec = np.column_stack([table.votes, table.invalid])
    eligible = np.flatnonzero((table.valid >= min_valid) & ((table.votes > 0).sum(axis=1) >= min_nonzero))
    groups: dict[bytes, list[int]] = defaultdict(list)
    rows = np.ascontiguousarray(vec[eligible])
    for idx, row in zip(eligible.tolist(), rows, strict=True):
        groups[row.tobytes()].append(idx)
    dupes = tuple(tuple(g) for g in groups.values() if len(g) > 1)
    units = tuple(sorted(i for g in dupes for i in g))
    null = (
        _coincidence_null(rows, table.valid[eligible], permutations=permutations, seed=seed)
        if dupes
        else np.zeros(permutations, dtype=np.int64)
    )
    p = float((1 + np.count_nonzero(null >= len(dupes))) / (permutations + 1))
    return CheckResult(
        test="copied-numbers",
        dataset=table.name,
        rule=f"identical count vectors, units with >= {min_valid} valid and >= {min_nonzero} candidates",
        units_checked=int(eligible.size),
        flagged_units=units,
        groups=dupes,
        statistic=float(len(dupes)),
        p_value=p if dupes else 1.0,
        flagged=bool(dupes) and p <= 0.05,
        null=f"duplicate groups after within-size column shuffles: mean {null.mean():.1f}, max {null.max()} "
        f"({permutations} permutations)",
        caveats=(
            "A repeated vector can be a data-entry duplicate of one station; check the sheets.",
            "The shuffle null ignores correlation between candidates beyond station size, so it can "
            "understate honest coincidences in strongly regional elections.",
        ),
        references=("Behrens (2022), EPSA; github.com/Lion-Be/undervoting_irregularities",),
        named_units=name_units(table, units),
        named_groups=tuple(tuple(table.code(i) for i in g) for g in dupes),
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
        named_units=name_units(table, bad),
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
        named_units=tuple(
            {**unit, "ballots_other_race": int(b[row])}
            for unit, row in zip(name_units(first, bad), bad.tolist(), strict=False)
        ),
    )
