"""Every forensic test by name, and the whole battery on one table.

A test that cannot run on a dataset (no turnout published, too few units) is reported as skipped with
the reason, never silently dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pollwatch.errors import Error
from pollwatch.forensics import checks
from pollwatch.forensics.digits import digit_kinds, digits
from pollwatch.forensics.fingerprint import fingerprint
from pollwatch.forensics.integer import integer_percentages
from pollwatch.forensics.klimek import klimek
from pollwatch.forensics.regressions import regressions
from pollwatch.forensics.result import ForensicResult
from pollwatch.forensics.spikes import spikes
from pollwatch.forensics.table import StationTable

Runner = Callable[[StationTable, int, int], ForensicResult]

TESTS: dict[str, Runner] = {
    "integer-percentages": lambda t, r, s: integer_percentages(t, replicates=r, seed=s),
    "spikes": lambda t, r, s: spikes(t, resamples=r, seed=s),
    "second-digit": lambda t, r, s: digits(t, kind="second", replicates=r, seed=s),
    "last-digit": lambda t, r, s: digits(t, kind="last", replicates=r, seed=s),
    "fingerprint": lambda t, r, s: fingerprint(t),
    "klimek": lambda t, r, s: klimek(t, seed=s),
    "regressions": lambda t, r, s: regressions(t),
    "copied-numbers": lambda t, r, s: checks.copied_numbers(t),
    "round-heaping": lambda t, r, s: checks.round_heaping(t),
    "turnout-over-100": lambda t, r, s: checks.turnout_over_100(t),
}
"""Name -> runner(table, replicates, seed). Tests without a Monte Carlo null ignore ``replicates``."""

DESCRIPTIONS = {
    "integer-percentages": "excess of whole-number turnout / leader share vs a binomial null (Kobak 2016)",
    "spikes": "resampled kernel density spikes in the leader's share (Rozenas 2017)",
    "second-digit": "second digit of the leader's counts vs Benford, binomial resampled null (Mebane 2006)",
    "last-digit": "last digit of the leader's counts >= 100 vs uniform, resampled null (Beber-Scacco 2012)",
    "fingerprint": "turnout x share 2-D histogram, skew/kurtosis of the log vote rate (Klimek 2012)",
    "klimek": "ballot-stuffing model fit (f_i, f_e, alpha) and clean counterfactual (Klimek 2012)",
    "regressions": "votes/electorate on turnout within regions (MOS 2009; Sobyanin-Sukhovolsky)",
    "copied-numbers": "identical count vectors at different stations",
    "round-heaping": "counts ending in 0 or 5 more often than 1 in 5",
    "turnout-over-100": "more ballots than registered voters",
}


@dataclass(frozen=True)
class Skipped:
    """A test that could not run on this table, and why."""

    test: str
    dataset: str
    reason: str
    flagged: bool = False
    caveats: tuple[str, ...] = ()
    references: tuple[str, ...] = ()

    def summary(self) -> dict[str, Any]:
        return {"test": self.test, "dataset": self.dataset, "skipped": self.reason}


def run_test(name: str, table: StationTable, *, replicates: int = 1000, seed: int = 42) -> ForensicResult:
    """Run one named test; raise the test's own error when it cannot run."""
    return TESTS[name](table, replicates, seed)


def run_battery(
    table: StationTable, *, replicates: int = 1000, seed: int = 42, only: tuple[str, ...] = ()
) -> list[ForensicResult | Skipped]:
    """Run every test (or those in ``only``) on ``table``; tests that cannot run come back as Skipped."""
    names = only or tuple(TESTS)
    shared: dict[str, ForensicResult] = {}
    if "second-digit" in names and "last-digit" in names:
        try:  # one set of binomial redraws serves both digit tests
            pair = digit_kinds(table, replicates=replicates, seed=seed)
            shared = {"second-digit": pair[0], "last-digit": pair[1]}
        except Error:
            shared = {}
    out: list[ForensicResult | Skipped] = []
    for name in names:
        try:
            out.append(
                shared[name] if name in shared else run_test(name, table, replicates=replicates, seed=seed)
            )
        except Error as exc:
            out.append(Skipped(name, table.name, exc.message))
    return out
