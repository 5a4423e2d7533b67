"""Benchmark (issue 11): dashboard pages served while many readers hold server-sent-event streams open.

``pollwatch serve`` as it runs by default (one uvicorn worker process, beside it the separate results
process and the page renderer that process starts) over loopback, on an election of BENCH_DASH_CONSTITUENCIES
seats x BENCH_DASH_STATIONS stations (default 272 x 320 = 87,040, Pakistan's National Assembly scale)
with a sheet for BENCH_DASH_REPORTED of the stations. This process opens BENCH_DASH_SSE event streams
(spread over BENCH_DASH_SEATS constituency pages), then requests pages of each kind from
BENCH_DASH_CONCURRENCY keep-alive connections for BENCH_DASH_SECONDS while BENCH_DASH_RATE sheets a
second are logged (so cached pages go stale and are rendered again), and the same bytes as a static
file in the same run (the baseline). Every page is asked for once before (its first render, reported on
its own line), so the table shows the steady state. Then one sheet is appended to each watched seat and
the time until every stream has its updated ``result`` block is measured.

Targets (issue 11): p95 under 200 ms for every page kind with the streams connected; every stream
updated within 2 s of the sheet being logged.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import tempfile
import threading
import time
from pathlib import Path

from bench.bench_intake import _Connection, _pct, _server
from pollwatch.intake.testing import SLUG, create_tiny_election
from pollwatch.ledger import records
from pollwatch.ledger import service as ledger
from pollwatch.storage import Database, projections
from pollwatch.tally.projector import NAME, Projector

CONSTITUENCIES = int(os.environ.get("BENCH_DASH_CONSTITUENCIES", "272"))
STATIONS = int(os.environ.get("BENCH_DASH_STATIONS", "320"))
REPORTED = float(os.environ.get("BENCH_DASH_REPORTED", "0.5"))
SSE = int(os.environ.get("BENCH_DASH_SSE", "1000"))
SEATS = int(os.environ.get("BENCH_DASH_SEATS", "20"))
CONCURRENCY = int(os.environ.get("BENCH_DASH_CONCURRENCY", "8"))
SECONDS = float(os.environ.get("BENCH_DASH_SECONDS", "15"))
RATE = float(os.environ.get("BENCH_DASH_RATE", "20"))
"""Sheets a second appended while pages are measured (0: a still log, every page from the cache)."""
CANDIDATES = 6
STATIC = Path(__file__).resolve().parents[1] / "src" / "pollwatch" / "web" / "static" / "vendor"
_T0 = dt.datetime(2026, 2, 8, 13, tzinfo=dt.UTC)


def _sheet(n: int, constituency: int, station: int, *, votes_seed: int = 0) -> records.LeafRecord:
    votes = {str(k + 1): 40 + (n * 7 + k * 13 + votes_seed) % 180 for k in range(CANDIDATES)}
    at = (_T0 + dt.timedelta(seconds=n)).isoformat()
    return records.sheet_record(
        election=SLUG, submission_id=f"dash-{n:07d}-{votes_seed}", kind="station_count", form="Form-45",
        constituency=f"NA-{constituency}", station=str(station), votes=votes,
        totals={"valid": sum(votes.values()), "rejected": 3}, submitter_key=f"bench-{n % 50}",
        role="agent", organisation="", captured_at=at, received_at=at, photo_sha256=None, signature=None,
        supersedes=None, checks=(),
    )  # fmt: skip


def _prepare(url: str) -> None:
    db = Database(url)
    db.upgrade()
    names = [(f"Lahore-{i}", "Punjab") for i in range(CONSTITUENCIES)]
    create_tiny_election(
        db, constituencies=CONSTITUENCIES, stations=STATIONS, candidates=CANDIDATES, names=names
    )
    sheets = [
        _sheet(n, c, s)
        for n, (c, s) in enumerate(
            (c, s) for c in range(1, CONSTITUENCIES + 1) for s in range(1, int(STATIONS * REPORTED) + 1)
        )
    ]
    for start in range(0, len(sheets), 5000):
        with db.begin() as conn:
            ledger.append(conn, sheets[start : start + 5000])
    Projector(db).catch_up()
    ledger.sign_checkpoint(db)
    db.dispose()


class _Stream:
    """One event-stream reader on a raw socket; records when each ``result`` event arrives."""

    def __init__(self, port: int, path: str) -> None:
        self.port, self.path = port, path
        self.results: list[float] = []
        self.ready = asyncio.Event()

    async def run(self) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        writer.write(f"GET {self.path} HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n\r\n".encode())
        while (await reader.readline()) not in (b"\r\n", b""):
            pass
        self.ready.set()
        try:
            while line := await reader.readline():
                if b"event: result" in line:
                    self.results.append(time.perf_counter())
        finally:
            writer.close()


async def _pages(port: int, paths: list[str], seconds: float) -> tuple[list[float], int]:
    """Latencies of requests for ``paths`` from CONCURRENCY connections, and the bytes of the last body."""
    latencies: list[float] = []
    size = 0
    deadline = time.perf_counter() + seconds

    async def worker(k: int) -> None:
        conn = _Connection(port)
        i = k
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            status, body = await conn.request("GET", paths[i % len(paths)])
            latencies.append(time.perf_counter() - start)
            nonlocal size
            size = len(body)
            if status != 200:
                raise RuntimeError(f"{paths[i % len(paths)]} answered {status}")
            i += CONCURRENCY

    await asyncio.gather(*(worker(k) for k in range(CONCURRENCY)))
    return latencies, size


async def _run(url: str, port: int) -> list[str]:
    kinds = {
        "nation": [f"/elections/{SLUG}"],
        "constituency": [f"/elections/{SLUG}/c/NA-{1 + i * 7 % CONSTITUENCIES}" for i in range(40)],
        "station": [
            f"/elections/{SLUG}/c/NA-{1 + i % CONSTITUENCIES}/stations/{1 + i % STATIONS}" for i in range(97)
        ],
        "findings": [f"/elections/{SLUG}/findings"],
    }
    status, body = await _Connection(port).request("GET", kinds["nation"][0])
    STATIC.mkdir(parents=True, exist_ok=True)
    baseline = STATIC / "bench-dashboard-nation.html"
    baseline.write_bytes(body)
    streams = [_Stream(port, f"/elections/{SLUG}/c/NA-{1 + i % SEATS}/events?v=0") for i in range(SSE)]
    tasks = [asyncio.create_task(s.run()) for s in streams]
    opened = time.perf_counter()
    await asyncio.gather(*(s.ready.wait() for s in streams))
    rows = [f"{SSE:,} event streams open in {time.perf_counter() - opened:.1f} s", ""]
    await asyncio.sleep(3)  # the first (catch-up) blocks go out to every stream
    for s in streams:
        s.results.clear()
    # Each page once, one at a time: its first render (a page nobody has asked for yet). The measured
    # phase then shows the steady state: pages kept between changes, re-rendered as the log moves.
    first: list[float] = []
    warm = _Connection(port)
    for paths in kinds.values():
        for path in paths:
            started = time.perf_counter()
            await warm.request("GET", path)
            first.append(time.perf_counter() - started)
    rows += [
        f"first render of each of {len(first)} pages, one at a time: p50 {_pct(first, 0.5):.0f} ms, "
        f"p95 {_pct(first, 0.95):.0f} ms, max {max(first) * 1000:.0f} ms",
        "",
    ]
    stop = threading.Event()
    writer = threading.Thread(target=_write_while, args=(url, stop), daemon=True)
    writer.start()
    rows += [
        f"pages while {RATE:g} sheets/s are logged:",
        "",
        "| page kind | KB | requests | pages/s | p50 ms | p95 ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for kind, paths in [*kinds.items(), ("static file, same bytes", ["/static/vendor/" + baseline.name])]:
        lat, size = await _pages(port, paths, SECONDS / 5)
        rate = len(lat) / (SECONDS / 5)
        p50, p95 = _pct(lat, 0.5), _pct(lat, 0.95)
        rows.append(f"| {kind} | {size / 1000:,.0f} | {len(lat):,} | {rate:,.0f} | {p50:.1f} | {p95:.1f} |")
    stop.set()
    writer.join()
    await asyncio.sleep(3)
    for s in streams:
        s.results.clear()
    # One new sheet in every watched seat, written as intake would; then wait for every stream.
    db = Database(url)
    with db.begin() as conn:
        logged = time.perf_counter()
        last = ledger.append(
            conn, [_sheet(10_000_000 + c, c, STATIONS, votes_seed=1) for c in range(1, SEATS + 1)]
        )
    projected = asyncio.create_task(asyncio.to_thread(_projected_after, db, max(last) + 1))
    deadline = time.perf_counter() + 10
    while time.perf_counter() < deadline and not all(s.results for s in streams):
        await asyncio.sleep(0.05)
    applied = await projected
    db.dispose()
    delays = sorted(s.results[0] - logged for s in streams if s.results)
    for t in tasks:
        t.cancel()
    baseline.unlink()
    within = sum(1 for d in delays if d <= 2.0)
    after = [d - (applied - logged) for d in delays]
    rows += [
        "",
        f"update after one sheet per watched seat: {len(delays):,} of {SSE:,} streams got it; "
        f"p50 {_pct(delays, 0.5):.0f} ms, p95 {_pct(delays, 0.95):.0f} ms, "
        f"max {max(delays, default=0) * 1000:.0f} ms; "
        f"{within:,} within 2 s",
        f"(the results process had projected the sheets {(applied - logged) * 1000:.0f} ms after they were "
        f"logged; the streams got them p50 {_pct(after, 0.5):.0f} ms, p95 {_pct(after, 0.95):.0f} ms later)",
    ]
    return rows


def _projected_after(db: Database, size: int) -> float:
    """When the projection cursor reached ``size`` (polled every 10 ms, for up to 10 s)."""
    deadline = time.perf_counter() + 10
    while time.perf_counter() < deadline:
        with db.reads() as conn:
            if projections.get_cursor(conn, NAME) >= size:
                return time.perf_counter()
        time.sleep(0.01)
    return time.perf_counter()


def _write_while(url: str, stop: threading.Event) -> None:
    """Append RATE sheets a second (in tenths) to stations without a sheet until ``stop``."""
    if RATE <= 0:
        return
    db = Database(url)
    n, first = 0, int(STATIONS * REPORTED) + 1
    while not stop.wait(0.1):
        batch = []
        for _ in range(max(int(RATE / 10), 1)):
            seat, station = 1 + n % CONSTITUENCIES, first + (n // CONSTITUENCIES) % (STATIONS - first)
            batch.append(_sheet(20_000_000 + n, seat, station, votes_seed=2))
            n += 1
        with db.begin() as conn:
            ledger.append(conn, batch)
    db.dispose()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'dash.sqlite3'}"
        started = time.perf_counter()
        _prepare(url)
        print(
            f"{CONSTITUENCIES} seats x {STATIONS} stations, {REPORTED:.0%} reported, "
            f"prepared in {time.perf_counter() - started:.0f} s; load average {os.getloadavg()[0]:.1f}\n"
        )
        proc, port = _server(url, Path(tmp), 1)  # `pollwatch serve`'s default: one worker
        try:
            for row in asyncio.run(_run(url, port)):
                print(row)
        finally:
            proc.terminate()
            proc.wait(timeout=20)
        print(f"\nload average {os.getloadavg()[0]:.1f} after the run")


if __name__ == "__main__":
    main()
