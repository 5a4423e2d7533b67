"""Forensics benchmark: the whole battery on a 100,000-station synthetic election (1,000 Monte Carlo
replicates where a test uses them), and the integer-percentage null against a straightforward
per-station loop (Kobak's notebook style: numpy draws of 1,000 replicates, one station at a time)."""

from __future__ import annotations

import time

import numpy as np

from pollwatch.forensics import TESTS, from_synthetic, run_battery
from pollwatch.forensics.integer import inclusion, integer_percentages, is_integer_pct
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


def main() -> None:
    table = from_synthetic(
        generate(SynthConfig(seed=7, n_stations=STATIONS, n_constituencies=300, n_candidates=12))
    )
    start = time.perf_counter()
    results = run_battery(table, replicates=REPLICATES, seed=8)  # not the generator seed
    battery = time.perf_counter() - start
    per_test: dict[str, float] = {}
    for name in ("integer-percentages",):
        t0 = time.perf_counter()
        fast = integer_percentages(table, replicates=REPLICATES, seed=8)
        per_test[name] = time.perf_counter() - t0
    t0 = time.perf_counter()
    slow_mean = loop_null(table)
    loop = time.perf_counter() - t0
    print(f"{STATIONS:,} stations, {REPLICATES} replicates; tests run: {len(results)} of {len(TESTS)}\n")
    print("| what | seconds | note |")
    print("|---|---:|---|")
    print(f"| whole battery ({len(results)} tests) | {battery:.1f} | target < 30 s |")
    print(
        f"| integer-percentages null, pollwatch (exact, vectorised) | {per_test['integer-percentages']:.2f} "
        f"| null mean {fast.mean_t_or_r:.1f} |"
    )
    print(f"| integer-percentages null, per-station loop baseline | {loop:.1f} | null mean {slow_mean:.1f} |")
    print(f"| speed-up | {loop / per_test['integer-percentages']:.1f}x | target >= 20x |")


if __name__ == "__main__":
    main()
