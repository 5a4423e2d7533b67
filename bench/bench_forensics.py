"""Forensics benchmark: the whole battery on a 100,000-station synthetic election (1,000 Monte Carlo
replicates where a test uses them), each test timed on its own, the spikes test's two EM mixture fits
alone, and the integer-percentage null against a straightforward per-station loop (Kobak's notebook
style: numpy draws of 1,000 replicates, one station at a time)."""

from __future__ import annotations

import time

import numpy as np

from pollwatch.forensics import TESTS, from_synthetic, run_test
from pollwatch.forensics.betabinom import select_mixture
from pollwatch.forensics.integer import inclusion, is_integer_pct
from pollwatch.forensics.table import StationTable
from pollwatch.synth import SynthConfig, generate

STATIONS = 100_000
REPLICATES = 1000


def loop_null(table: StationTable, *, replicates: int = REPLICATES, seed: int = 42) -> float:
    """Mean "t or r" integer count of the binomial null, one station per loop iteration."""
    keep = inclusion(table)
    assert table.registered is not None
    assert table.given is not None
    v, g = table.registered[keep], table.given[keep]
    r, lead = table.received[keep], table.leader_votes[keep]
    rng = np.random.default_rng(seed)
    counts = np.zeros(replicates)
    for i in range(v.size):
        lead_mc = rng.binomial(r[i], lead[i] / r[i], size=replicates)
        given_mc = rng.binomial(v[i], g[i] / v[i], size=replicates)
        counts += is_integer_pct(given_mc, v[i]) | is_integer_pct(lead_mc, r[i])
    return float(counts.mean())


def _em_fit_seconds(table: StationTable) -> tuple[float, str]:
    """Time of the spikes test's two mixture fits (EM on every station) and the components chosen."""
    assert table.registered is not None
    assert table.given is not None
    t0 = time.perf_counter()
    fit_t = select_mixture(table.registered, table.given)
    fit_v = select_mixture(table.given, table.leader_votes)
    return time.perf_counter() - t0, f"L = {fit_t.components}/{fit_v.components}"


def main() -> None:
    table = from_synthetic(
        generate(SynthConfig(seed=7, n_stations=STATIONS, n_constituencies=300, n_candidates=12))
    )
    per_test: dict[str, float] = {}
    fast_mean = 0.0
    for name in TESTS:  # the battery, one test at a time so each is timed (seed 8, not the generator's)
        t0 = time.perf_counter()
        result = run_test(name, table, replicates=REPLICATES, seed=8)
        per_test[name] = time.perf_counter() - t0
        if name == "integer-percentages":
            fast_mean = float(getattr(result, "mean_t_or_r", 0.0))
    battery = sum(per_test.values())
    em_seconds, components = _em_fit_seconds(table)
    t0 = time.perf_counter()
    slow_mean = loop_null(table)
    loop = time.perf_counter() - t0
    print(f"{STATIONS:,} stations, {REPLICATES} replicates; tests run: {len(per_test)} of {len(TESTS)}\n")
    print("| what | seconds | note |")
    print("|---|---:|---|")
    print(f"| whole battery ({len(per_test)} tests) | {battery:.1f} | target < 30 s |")
    for name, seconds in per_test.items():
        print(f"| - {name} | {seconds:.2f} | |")
    print(f"| spikes: the two EM mixture fits alone | {em_seconds:.2f} | {components}, every station |")
    print(
        f"| integer-percentages null, pollwatch (exact, vectorised) | {per_test['integer-percentages']:.2f} "
        f"| null mean {fast_mean:.1f} |"
    )
    print(f"| integer-percentages null, per-station loop baseline | {loop:.1f} | null mean {slow_mean:.1f} |")
    print(f"| speed-up | {loop / per_test['integer-percentages']:.1f}x | target >= 20x |")


if __name__ == "__main__":
    main()
