"""Benchmark (issue 10, item 7): intake at its usual rate while anonymous clients hammer expensive reads.

A real uvicorn server over loopback. Phase 1 submits signed sheets at a steady rate (the usual intake
of an election night, BENCH_HAMMER_RATE a second for BENCH_HAMMER_SECONDS); phase 2 does the same
while BENCH_HAMMER_CLIENTS anonymous clients request the most expensive reads without pause (forensic
tests with replicates=2000, the whole-election tally) on the sheets phase 1 stored. Reported: intake
throughput, median and p99 latency and 5xx counts with and without the hammering; what the readers
got (200 or 429, never 5xx). Target: throughput drops less than 20 % and no request gets a 5xx.

Environment: BENCH_HAMMER_RATE (default 200), BENCH_HAMMER_SECONDS (default 15),
BENCH_HAMMER_CLIENTS (default 24), BENCH_HAMMER_WORKERS (uvicorn worker processes, default 1),
BENCH_HAMMER_PATHS (below); the server takes POLLWATCH_EXPENSIVE_READS / _WAIT from the environment.
"""

from __future__ import annotations

import asyncio
import collections
import json
import os
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench.bench_intake import _Connection, _pct, _server
from pollwatch.auth import AuthRole, create_submitter, register_device
from pollwatch.auth.devices import device_key_id, public_key_of
from pollwatch.intake.testing import SLUG, create_tiny_election, sheet_payload, sign_payload
from pollwatch.storage import Database

RATE = float(os.environ.get("BENCH_HAMMER_RATE", "200"))
SECONDS = float(os.environ.get("BENCH_HAMMER_SECONDS", "15"))
CLIENTS = int(os.environ.get("BENCH_HAMMER_CLIENTS", "24"))
WORKERS = int(os.environ.get("BENCH_HAMMER_WORKERS", "1"))
CONSTITUENCIES, STATIONS, CANDIDATES, TOKENS = 20, 200, 6, 16
EXPENSIVE = [
    f"/api/v1/elections/{SLUG}/{path}"
    for path in os.environ.get(
        "BENCH_HAMMER_PATHS",
        "forensics/integer-percentages?replicates=2000,forensics/last-digit?replicates=2000,tally",
    ).split(",")
]
"""BENCH_HAMMER_PATHS: the reads to hammer, relative to the election, comma-separated."""


def _prepare(url: str, n: int) -> list[tuple[str, bytes]]:
    """The election, observer tokens with device keys, and ``n`` signed sheets (token, body)."""
    db = Database(url)
    db.upgrade()
    create_tiny_election(db, constituencies=CONSTITUENCIES, stations=STATIONS, candidates=CANDIDATES)
    signers = []
    with db.begin() as conn:
        for _ in range(TOKENS):
            key_id, token = create_submitter(conn, role=AuthRole.OBSERVER, organisation="BenchWatch")
            key = Ed25519PrivateKey.generate()
            row = conn.execute(
                sa.text("SELECT id FROM submitters WHERE key_id = :k"), {"k": key_id}
            ).scalar_one()
            register_device(conn, submitter_id=int(row), public_key=device_key_id(public_key_of(key)))
            signers.append((token, key))
    db.dispose()
    out = []
    for i in range(n):
        token, key = signers[i % TOKENS]
        payload = sheet_payload(
            f"hammer-{i:07d}-{uuid.uuid4().hex[:8]}",
            constituency=f"NA-{1 + i % CONSTITUENCIES}",
            station=str(1 + (i // CONSTITUENCIES) % STATIONS),
            votes=tuple(40 + (i * 7 + k * 13) % 180 for k in range(CANDIDATES)),
            role="observer",
        )
        out.append((token, json.dumps(sign_payload(payload, key, organisation="BenchWatch")).encode()))
    return out


async def _paced_intake(port: int, sheets: list[tuple[str, bytes]]) -> tuple[float, list[float], int]:
    """Submit at RATE a second (each on its own schedule, 64 connections); (seconds, latencies, 5xx)."""
    latencies: list[float] = []
    errors = 0
    start = time.perf_counter()
    queue = iter(enumerate(sheets))

    async def worker() -> None:
        nonlocal errors
        conn = _Connection(port)
        for i, (token, body) in queue:
            delay = start + i / RATE - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            began = time.perf_counter()
            status, _ = await conn.request("POST", "/api/v1/sheets?receipt=false", token=token, body=body)
            latencies.append(time.perf_counter() - began)
            errors += status >= 300

    await asyncio.gather(*(worker() for _ in range(64)))
    return time.perf_counter() - start, latencies, errors


async def _hammer(port: int, stop: asyncio.Event, seen: collections.Counter[int]) -> None:
    async def client(k: int) -> None:
        conn = _Connection(port)
        n = k
        while not stop.is_set():
            status, _ = await conn.request("GET", EXPENSIVE[n % len(EXPENSIVE)])
            seen[status] += 1
            n += 1
            if status == 429:
                await asyncio.sleep(0.05)  # a polite client honours Retry-After a little; most do not

    await asyncio.gather(*(client(k) for k in range(CLIENTS)))


async def _with_hammer(
    port: int, sheets: list[tuple[str, bytes]]
) -> tuple[tuple[float, list[float], int], collections.Counter[int]]:
    stop = asyncio.Event()
    seen: collections.Counter[int] = collections.Counter()
    hammer = asyncio.create_task(_hammer(port, stop, seen))
    await asyncio.sleep(1.0)  # the readers are already at it when intake starts
    result = await _paced_intake(port, sheets)
    stop.set()
    await hammer
    return result, seen


def _row(label: str, n: int, seconds: float, latencies: list[float], errors: int) -> str:
    return (
        f"| {label} | {n:,} | {n / seconds:,.0f} | {_pct(latencies, 0.5):.1f} | {_pct(latencies, 0.99):.1f}"
        f" | {errors} |"
    )


def main() -> None:
    n = int(RATE * SECONDS)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        url = f"sqlite:///{home / 'bench.sqlite3'}"
        sheets = _prepare(url, 2 * n)
        proc, port = _server(url, home, WORKERS)
        try:
            quiet = asyncio.run(_paced_intake(port, sheets[:n]))
            loud, seen = asyncio.run(_with_hammer(port, sheets[n:]))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    head = f"Intake at {RATE:.0f} sheets/s for {SECONDS:.0f} s, {WORKERS} worker(s), SQLite; "
    print(head + f"{CLIENTS} anonymous clients hammering {len(EXPENSIVE)} expensive reads in phase 2.\n")
    print("| run | sheets | sheets/s | p50 ms | p99 ms | errors (non-2xx) |")
    print("|---|---:|---:|---:|---:|---:|")
    print(_row("intake alone", n, *quiet))
    print(_row(f"intake + {CLIENTS} clients hammering expensive reads", n, *loud))
    drop = 100 * (1 - (n / loud[0]) / (n / quiet[0]))
    fivexx = sum(v for k, v in seen.items() if k >= 500)
    print(f"\nthroughput drop: {drop:.1f} % (target < 20 %); expensive reads answered: "
          f"{dict(sorted(seen.items()))} ({fivexx} 5xx)")  # fmt: skip


if __name__ == "__main__":
    main()
