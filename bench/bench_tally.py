"""Tally benchmark: full national recompute (100,000 stations x 12 candidates) against a polars
group-by baseline in the same run, and the incremental update per arriving sheet.

Run: ``.venv/bin/python -m bench bench_tally``
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import polars as pl

from pollwatch.synth import SynthConfig, generate
from pollwatch.tally.live import IntArray, LiveTally, Universe, sum_by_constituency

N_STATIONS, N_CONSTITUENCIES, N_CANDIDATES = 100_000, 300, 12


def _best(fn: Callable[[], object], repeat: int = 7) -> float:
    """Best wall time of ``repeat`` runs, in seconds (best-of filters scheduler noise on shared cores)."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    e = generate(
        SynthConfig(
            seed=7, n_stations=N_STATIONS, n_constituencies=N_CONSTITUENCIES, n_candidates=N_CANDIDATES
        )
    )
    universe = Universe(
        constituency_codes=e.constituency_codes,
        regions=e.regions,
        station_constituency=e.constituency,
        station_registered=e.registered,
        parties=tuple(
            tuple(p if n else "" for p, n in zip(ps, ns, strict=True))
            for ps, ns in zip(e.candidate_parties, e.candidate_names, strict=True)
        ),
    )
    reported = np.ones(N_STATIONS, dtype=bool)
    live = LiveTally(universe)

    def ours_totals() -> IntArray:
        return sum_by_constituency(e.constituency, e.votes, n_constituencies=N_CONSTITUENCIES)

    def ours_full() -> object:
        live.load(e.votes, reported)
        return live.constituencies(), live.parties()

    frame = pl.DataFrame({"c": e.constituency, **{f"v{j}": e.votes[:, j] for j in range(N_CANDIDATES)}})

    def polars_groupby() -> pl.DataFrame:
        return frame.group_by("c").agg(pl.all().sum())

    frame_reg = frame.with_columns(pl.Series("r", e.registered))

    def polars_coverage() -> object:
        return frame_reg.group_by("c").agg(pl.all().exclude("r").sum(), pl.len(), pl.col("r").sum())

    def polars_from_arrays() -> object:
        df = pl.DataFrame({"c": e.constituency, **{f"v{j}": e.votes[:, j] for j in range(N_CANDIDATES)}})
        return df.group_by("c").agg(pl.all().sum())

    check = polars_groupby().sort("c").drop("c").to_numpy()
    assert np.array_equal(check, ours_totals()), "pollwatch and polars disagree on the totals"

    rows = [
        ("polars group_by sum (DataFrame prebuilt) [baseline]", _best(polars_groupby)),
        ("polars DataFrame from arrays + group_by sum", _best(polars_from_arrays)),
        ("polars group_by sum + station count + registered (prebuilt)", _best(polars_coverage)),
        ("pollwatch totals (sparse indicator x votes)", _best(ours_totals)),
        (
            "pollwatch full recompute (totals, coverage, leader, margin, decided, parties)",
            _best(ours_full),
        ),
    ]
    print(
        f"Full national recompute, {N_STATIONS:,} stations x {N_CANDIDATES} candidates, "
        f"{N_CONSTITUENCIES} constituencies\n"
    )
    print("| what | best of runs (ms) |\n|---|---:|")
    for name, seconds in rows:
        print(f"| {name} | {seconds * 1000:.1f} |")

    fresh = LiveTally(universe)
    order = np.random.default_rng(1).permutation(N_STATIONS)
    t = time.perf_counter()
    for s in order:
        fresh.apply(int(s), e.votes[s])
    per_apply = (time.perf_counter() - t) / N_STATIONS
    sample = order[:5_000]
    t = time.perf_counter()
    for s in sample:
        fresh.apply(int(s), e.votes[s])
        fresh.constituency(int(e.constituency[s]))
    per_update = (time.perf_counter() - t) / sample.size
    assert np.array_equal(fresh.totals, ours_totals())
    print("\nIncremental update per arriving sheet\n")
    print("| what | mean per sheet (us) |\n|---|---:|")
    print(f"| apply() over {N_STATIONS:,} sheets in random order | {per_apply * 1e6:.1f} |")
    print(f"| apply() + that constituency's leader/margin/decided | {per_update * 1e6:.1f} |")


if __name__ == "__main__":
    main()
