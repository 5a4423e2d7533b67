"""Benchmark: the projector's CPU per leaf as stations gather copies, in process on SQLite.

bench_intake's workload (50 constituencies of 200 stations, six candidates, every copy of a station
different from the others) written through the submission core, then applied by one projector in steps
of STEP leaves, as the server's projector applies what arrived since its last poll. Each row is the
projector thread's CPU per leaf for the leaves that gave each station its n-th copy: the cost must not grow
with the copies a station already holds. Twice: with the garbage-collection setting of a server process
(:mod:`pollwatch.collector`) and with Python's default thresholds. Baseline measured in the same run: the
least any projector does per leaf, parsing it (``json.loads`` and the sheet it carries).

Environment: BENCH_PROJECTOR_COPIES (copies per station, default 6), BENCH_PROJECTOR_STEP (leaves per
step, default 250).
"""

from __future__ import annotations

import gc
import json
import os
import tempfile
import time
from pathlib import Path

from bench.bench_intake import CANDIDATES, CONSTITUENCIES, STATIONS, _station_sheet
from pollwatch.auth import AuthRole, create_submitter
from pollwatch.auth.tokens import principal_for_secret
from pollwatch.collector import THRESHOLDS
from pollwatch.intake.format import SheetSubmission
from pollwatch.intake.service import Cache, Job, write_batch
from pollwatch.intake.testing import create_tiny_election
from pollwatch.model import Channel
from pollwatch.storage import Database, projections
from pollwatch.storage import log as log_store
from pollwatch.tally.leaves import sheet_from_leaf
from pollwatch.tally.projector import NAME, Projector

COPIES = int(os.environ.get("BENCH_PROJECTOR_COPIES", "6"))
STEP = int(os.environ.get("BENCH_PROJECTOR_STEP", "250"))
PER_COPY = CONSTITUENCIES * STATIONS


def _night(url: str) -> Database:
    """The election and COPIES copies of every station, written through the core in batches of 200."""
    db = Database(url)
    db.upgrade()
    create_tiny_election(db, constituencies=CONSTITUENCIES, stations=STATIONS, candidates=CANDIDATES)
    with db.begin() as conn:
        tokens = [create_submitter(conn, role=AuthRole.OBSERVER, organisation=f"O{k}")[1] for k in range(8)]
        who = [principal_for_secret(conn, token) for token in tokens]
    jobs = []
    for n in range(COPIES * PER_COPY):
        payload = _station_sheet(n, f"projector-{n:07d}")
        jobs.append(Job(SheetSubmission.model_validate(payload), who[n % len(who)], Channel.API))
    for start in range(0, len(jobs), 200):
        with db.begin() as conn:
            write_batch(conn, jobs[start : start + 200], Cache())
    return db


def _per_copy(db: Database, thresholds: tuple[int, int, int]) -> list[float]:
    """CPU ms per leaf for each station's 1st, 2nd, ... copy, from an empty projection."""
    with db.begin() as conn:
        projections.lock_cursor(conn, NAME)
        projections.clear(conn, NAME)
    before = gc.get_threshold()
    gc.collect()
    gc.set_threshold(*thresholds)
    try:
        projector, out = Projector(db), []
        for _ in range(COPIES):
            started, done = time.thread_time(), 0
            while done < PER_COPY:
                done += projector.step(batch=min(STEP, PER_COPY - done))
            out.append(1000 * (time.thread_time() - started) / PER_COPY)
        return out
    finally:
        gc.set_threshold(*before)


def _parse_floor(db: Database) -> float:
    """CPU ms per leaf to parse every leaf and the sheet it carries: what no projector can skip."""
    with db.connect() as conn:
        entries = [data for _, data in log_store.iter_entries(conn)]
    started = time.thread_time()
    for index, data in enumerate(entries):
        value = json.loads(data)
        sheet_from_leaf(index, str(value["type"]), value)
    return 1000 * (time.thread_time() - started) / len(entries)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = _night(f"sqlite:///{Path(tmp) / 'projector.sqlite3'}")
        print(
            f"{COPIES} copies of each of {PER_COPY:,} stations, all different, applied in steps of {STEP} "
            "leaves; the projector thread's CPU ms per leaf, SQLite.\n"
        )
        served = _per_copy(db, THRESHOLDS)
        default = _per_copy(db, (700, 10, 10))
        print("| leaves giving each station its | server GC setting | Python's default GC |")
        print("|---|---:|---:|")
        for n, (a, b) in enumerate(zip(served, default, strict=True), start=1):
            print(f"| copy {n} | {a:.3f} | {b:.3f} |")
        print(f"| baseline: parsing each leaf and its sheet | {_parse_floor(db):.3f} | |")
        db.dispose()


if __name__ == "__main__":
    main()
