"""Benchmark: live results on a Pakistan-scale night, read from the projections while records arrive.

A synthetic election of BENCH_RESULTS_STATIONS stations (default 90,675, Pakistan 2024) in 266
constituencies with 10 candidates; every station gets four copies of its Form-45 (three observer
organisations and the official upload, 3 % of the official ones altered) and every constituency an official
Form-47 and Form-48: about 365,000 records, each a leaf. Most of the night is written through the
submission core in-process (its rate is reported); the rest arrives at BENCH_RESULTS_RATE records/s over
HTTP to a real uvicorn server (2 workers) on loopback while a second client reads, one request at a time:
a constituency's tally, the national tally, one station's reconciliation and one constituency's audit.

Reported per backend (SQLite file, PostgreSQL): p50/p95 per read; the time from a sheet's acknowledgement
to its appearance in the projection (every 25th sheet; one poller reads the projection's cursor, a
reconciliation's ``as_of``, every 20 ms and sees each sheet once the cursor passed its leaf); the
projector's cold catch-up over the preloaded night and a rebuild of every projection from the log; on
Linux, the CPU time the server's workers (with the children they audit constituencies in), its results
process (the projector, with its auditor child), its page renderer and this client spent per live record,
reads included: a figure that other work on the machine inflates less than the latencies; and how busy
the machine's cores were during the live phase and how much of their time the host (a virtual
machine's hypervisor) gave to others. The live phase starts once the server's processes have finished
starting (their imports take several seconds of CPU each), as on a night when the server has been up
for hours.
Baselines in the same run: a polars group-by over the same station rows read from the database, and
the per-request path main had before the projections (load the election, reconcile and tally it).

Environment: BENCH_RESULTS_STATIONS, BENCH_RESULTS_RATE (default 500), BENCH_RESULTS_LIVE (records sent
over HTTP, default 15000), BENCH_RESULTS_PG (PostgreSQL admin URL; "" to skip), BENCH_RESULTS_BACKENDS
(default "sqlite,postgresql"), BENCH_RESULTS_CONNECTIONS (default 1024: the phones waiting at once; each
answer carries its receipt, about a second after the record was offered, so fewer connections than
rate x latency would make the client, not the server, the limit).

The achieved rate is the acknowledgements per second from 5 s after the first record was offered to
the last: whether the server keeps up with the offered rate (the last answers' drain is reported apart).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import random
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import sqlalchemy as sa

from bench.bench_intake import _Connection, _pct, _server, _settle, _tree_cpu
from pollwatch.auth import AuthRole, create_submitter
from pollwatch.auth.tokens import principal_for_secret
from pollwatch.intake.format import SheetSubmission
from pollwatch.intake.service import Cache, Job, write_batch
from pollwatch.intake.testing import create_tiny_election
from pollwatch.model import Channel
from pollwatch.storage import Database
from pollwatch.storage.results import load_election
from pollwatch.tally.inputs import ResultsInput
from pollwatch.tally.projector import Projector
from pollwatch.tally.report import tally_document
from pollwatch.tally.service import tally_election

STATIONS = int(os.environ.get("BENCH_RESULTS_STATIONS", "90675"))
RATE = float(os.environ.get("BENCH_RESULTS_RATE", "500"))
LIVE = int(os.environ.get("BENCH_RESULTS_LIVE", "15000"))
PG_ADMIN = os.environ.get("BENCH_RESULTS_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
BACKENDS = set(os.environ.get("BENCH_RESULTS_BACKENDS", "sqlite,postgresql").split(","))
CONNECTIONS = int(os.environ.get("BENCH_RESULTS_CONNECTIONS", "1024"))
SLUG, CONSTITUENCIES, CANDIDATES = "night", 266, 10
ORGANISATIONS = ("FAFEN", "PILDAT", "TDEA")
_T0 = dt.datetime(2026, 2, 8, 17, tzinfo=dt.UTC)  # polling day of the tiny election


@dataclass(frozen=True)
class _Record:
    token: str
    body: dict[str, object]


@dataclass
class _Night:
    tokens: dict[str, str] = field(default_factory=dict)
    records: list[_Record] = field(default_factory=list)


def _prepare(db: Database) -> _Night:
    per = -(-STATIONS // CONSTITUENCIES)
    create_tiny_election(db, slug=SLUG, constituencies=CONSTITUENCIES, stations=per, candidates=CANDIDATES)
    night = _Night()
    with db.begin() as conn:
        for org in ORGANISATIONS:
            night.tokens[org] = create_submitter(conn, role=AuthRole.OBSERVER, organisation=org)[1]
        night.tokens["official"] = create_submitter(conn, role=AuthRole.ADMIN, organisation="ECP")[1]
    rng = random.Random(2024)
    copies: list[_Record] = []
    for n in range(STATIONS):
        code, serial = f"NA-{1 + n % CONSTITUENCIES}", 1 + n // CONSTITUENCIES
        votes = [rng.randrange(0, 120) for _ in range(CANDIDATES)]
        for org in (*ORGANISATIONS, "official"):
            shown = list(votes)
            if org == "official" and rng.random() < 0.03:
                shown[0] += 50
            copies.append(_Record(night.tokens[org], _sheet(f"{org}-{n}", code, str(serial), shown, org)))
    rng.shuffle(copies)  # the night's copies arrive in no particular order
    for c in range(1, CONSTITUENCIES + 1):
        for kind in ("provisional", "consolidated"):
            body = _sheet(f"{kind}-{c}", f"NA-{c}", None, [0] * CANDIDATES, "official", kind=kind)
            copies.append(_Record(night.tokens["official"], body))
    night.records = copies
    return night


def _sheet(
    sid: str, code: str, station: str | None, votes: list[int], org: str, *, kind: str = "station_count"
) -> dict[str, object]:
    valid = sum(votes)
    return {
        "election": SLUG,
        "submission_id": f"bench-{sid}",
        "kind": kind,
        "constituency": code,
        "station": station,
        "votes": {str(k + 1): v for k, v in enumerate(votes)},
        "totals": {"valid": valid, "rejected": 3, "polled": valid + 3},
        "role": "official" if org == "official" else "observer",
        "captured_at": _T0.isoformat(),
    }


def _preload(db: Database, records: list[_Record]) -> float:
    """Write records through the submission core in batches of 500; return records per second."""
    with db.connect() as conn:
        principals = {t: principal_for_secret(conn, t) for t in {r.token for r in records}}
    cache = Cache()
    start = time.perf_counter()
    for first in range(0, len(records), 500):
        jobs = [
            Job(SheetSubmission.model_validate(r.body), principals[r.token], Channel.API)
            for r in records[first : first + 500]
        ]
        with db.begin() as conn:
            outcomes = write_batch(conn, jobs, cache)
        db.statistics.wrote(len(jobs))  # as the server's writer does: PostgreSQL plans from them
        bad = [o for o in outcomes if isinstance(o, Exception)]
        if bad:
            raise RuntimeError(f"preload refused {len(bad)} records: {bad[0]}")
    return len(records) / (time.perf_counter() - start)


@dataclass
class _Reads:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    visible: list[float] = field(default_factory=list)
    acks: list[float] = field(default_factory=list)
    acked_at: list[float] = field(default_factory=list)
    offered: tuple[float, float] = (0.0, 0.0)
    """When the first and the last record were offered (``perf_counter``)."""
    errors: int = 0

    def steady_rate(self, settle: float = 5.0) -> float:
        """Acknowledgements per second from ``settle`` seconds after the first offer (half the offering
        when it is shorter) to the last offer: the rate the server keeps up with, neither the ramp-up
        nor the drain of the last answers (a receipt takes about a second) counted."""
        first, last = self.offered
        begin = first + min(settle, (last - first) / 2)
        return sum(begin <= t <= last for t in self.acked_at) / max(last - begin, 1e-9)


async def _live(port: int, records: list[_Record], reads: _Reads) -> float:
    """Send ``records`` at RATE/s while reading; return the achieved record rate."""
    done = asyncio.Event()
    rng = random.Random(7)

    pending: list[tuple[float, int]] = []
    """(acknowledged at, leaf index) of every 25th sheet not yet seen in the projection."""

    async def send() -> None:
        conns = [_Connection(port) for _ in range(CONNECTIONS)]
        queue: asyncio.Queue[tuple[int, _Record] | None] = asyncio.Queue()

        async def worker(conn: _Connection) -> None:
            while (item := await queue.get()) is not None:
                n, r = item
                started = time.perf_counter()
                status, payload = await conn.request(
                    "POST", "/api/v1/sheets", token=r.token, body=json.dumps(r.body).encode()
                )
                reads.acked_at.append(time.perf_counter())
                reads.acks.append(reads.acked_at[-1] - started)
                if status >= 300:
                    reads.errors += 1
                    continue
                if n % 25 == 0 and r.body["station"] is not None:
                    pending.append((reads.acked_at[-1], int(json.loads(payload)["leaf_index"])))

        tasks = [asyncio.create_task(worker(c)) for c in conns]
        start = time.perf_counter()
        for n, r in enumerate(records):
            await queue.put((n, r))
            delay = start + (n + 1) / RATE - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        reads.offered = (start, time.perf_counter())
        for _ in conns:
            await queue.put(None)
        await asyncio.gather(*tasks)
        deadline = time.perf_counter() + 30
        while pending and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)
        done.set()

    async def read() -> None:
        conn = _Connection(port)
        base = f"/api/v1/elections/{SLUG}"
        while not done.is_set():
            code = f"NA-{rng.randrange(1, CONSTITUENCIES + 1)}"
            for label, path in (
                ("constituency tally", f"{base}/tally?level=constituency&constituency={code}"),
                ("national tally", f"{base}/tally?level=nation"),
                (
                    "station reconciliation",
                    f"{base}/reconciliation?constituency={code}&station={rng.randrange(1, 300)}",
                ),
                ("constituency audit", f"{base}/audit?constituency={code}"),
            ):
                if os.environ.get("SKIP_AUDIT") and "audit" in label:
                    continue
                started = time.perf_counter()
                status, _ = await conn.request("GET", path)
                reads.latencies.setdefault(label, []).append(time.perf_counter() - started)
                if status >= 300:
                    reads.errors += 1

    async def watch() -> None:
        """Every 20 ms, the projection's cursor (``as_of``: leaves applied, in log order, in one
        transaction with their rows) from a one-station read: each pending sheet is in the tally from
        the first answer whose cursor passed its leaf. One poller for all of them, so that the
        measurement's own load does not grow with the lag it measures."""
        conn = _Connection(port)
        path = f"/api/v1/elections/{SLUG}/reconciliation?constituency=NA-1&station=1"
        while not done.is_set():
            status, payload = await conn.request("GET", path)
            now = time.perf_counter()
            if status == 200:
                as_of = int(json.loads(payload)["as_of"])
                reads.visible += [now - acked for acked, leaf in pending if leaf < as_of]
                pending[:] = [(acked, leaf) for acked, leaf in pending if leaf >= as_of]
            await asyncio.sleep(0.02)

    started = time.perf_counter()
    await asyncio.gather(send(), read(), watch())
    return len(records) / (time.perf_counter() - started)


def _polars_baseline(db: Database) -> float:
    """Read every station copy's votes from the database into polars; sum per constituency and candidate."""
    query = (
        "SELECT s.constituency_id, v.candidate_id, v.votes FROM sheets s "
        "JOIN sheet_votes v ON v.sheet_id = s.id WHERE s.kind = 'station_count'"
    )
    start = time.perf_counter()
    with db.connect() as conn:
        rows = conn.execute(sa.text(query)).all()
    frame = pl.DataFrame(rows, schema=["constituency_id", "candidate_id", "votes"], orient="row")
    frame.group_by("constituency_id", "candidate_id").agg(pl.col("votes").sum())
    return time.perf_counter() - start


def _old_path(db: Database) -> float:
    """What every results request did before the projections: load the election, reconcile, tally."""
    start = time.perf_counter()
    with db.connect() as conn:
        inp = ResultsInput(*load_election(conn, SLUG))
    tally_document(tally_election(inp).tally)
    return time.perf_counter() - start


def _backend(label: str, url: str, home: Path) -> Iterator[str]:
    db = Database(url)
    db.upgrade()
    night = _prepare(db)
    live, preload = night.records[-LIVE:], night.records[:-LIVE]
    rate = _preload(db, preload)
    yield _row(
        label, "submission core, in process, batches of 500", f"{len(preload):,} records", f"{rate:,.0f}/s"
    )
    start = time.perf_counter()
    applied = Projector(db).catch_up(batch=20_000)
    yield _row(
        label, "projector catch-up, cold", f"{applied:,} leaves", f"{time.perf_counter() - start:.1f} s"
    )
    start = time.perf_counter()
    applied = Projector(db).rebuild()
    took = f"{time.perf_counter() - start:.1f} s"
    yield _row(label, "rebuild of every projection from the log", f"{applied:,} leaves", took)
    polars_ms = f"{_polars_baseline(db) * 1000:,.0f} ms"
    yield _row(label, "baseline: polars group-by over the copies read from the database", "", polars_ms)
    old = f"{_old_path(db):.1f} s"
    yield _row(label, "baseline: the pre-projection per-request path (load, reconcile, tally)", "", old)
    db.dispose()
    proc, port = _server(url, home, 2)
    try:
        warm = _settle(proc.pid)
        yield _row(label, "server start until its processes are idle (not timed below)", "", f"{warm:.1f} s")
        reads = _Reads()
        cpu, client, machine = _tree_cpu(proc.pid), time.process_time(), _machine()
        achieved = asyncio.run(_live(port, live, reads))
        cpu = {k: v - cpu.get(k, 0.0) for k, v in _tree_cpu(proc.pid).items()}
        machine = [after - before for before, after in zip(machine, _machine(), strict=True)]
        cpu["client and reader"] = time.process_time() - client
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    acks = (
        f"{reads.steady_rate():,.0f}/s acknowledged while offered ({achieved:,.0f}/s counting the last"
        f" answers); ack p50 {_pct(reads.acks, 0.5):.0f} ms, p95 {_pct(reads.acks, 0.95):.0f} ms"
    )
    yield _row(label, f"records over HTTP while reading (offered {RATE:.0f}/s)", f"{len(live):,}", acks)
    if len(cpu) > 1:  # Linux: CPU time per live record, reads included, whatever else loads the machine
        per = sorted((what, 1000 * seconds / len(live)) for what, seconds in cpu.items())
        figure = ", ".join(f"{what} {ms:.2f}" for what, ms in per)
        yield _row(label, "CPU ms per live record (reads included)", f"{len(live):,}", figure)
    if sum(machine):
        parts = (sum(machine[:3]) + sum(machine[5:7]), machine[7])
        busy, stolen = (100 * part / sum(machine) for part in parts)
        figure = f"{busy:.0f} % busy, {stolen:.1f} % stolen by the host"
        yield _row(label, "the machine's cores during the live phase (/proc/stat)", "", figure)
    for what, values in reads.latencies.items():
        figure = f"p50 {_pct(values, 0.5):.1f} ms, p95 {_pct(values, 0.95):.1f} ms"
        yield _row(label, what, f"{len(values):,} requests", figure)
    if reads.visible:
        v = reads.visible
        figure = f"p50 {_pct(v, 0.5):.0f} ms, p95 {_pct(v, 0.95):.0f} ms, max {max(v) * 1000:.0f} ms"
        yield _row(label, "acknowledgement to projection", f"{len(v):,} sheets", figure)
    yield _row(label, "errors (HTTP status >= 300)", "", str(reads.errors))


def _machine() -> list[int]:
    """The machine's CPU time so far (/proc/stat: user, nice, system, idle, iowait, irq, softirq,
    steal), or zeros where there is none. Steal is time the host gave this machine's cores to others:
    a run with much of it measured a slower machine than the one its figures are compared with."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
    except OSError:
        return [0] * 8
    return [int(f) for f in fields] + [0] * (8 - len(fields))


def _row(label: str, what: str, size: str, figure: str) -> str:
    return f"| {label} | {what} | {size} | {figure} |"


def main() -> None:
    print(f"{STATIONS:,} stations x 4 copies + Form-47/48 per constituency; {LIVE:,} live at {RATE:.0f}/s.\n")
    print("| backend | what | size | figure |")
    print("|---|---|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        if "sqlite" in BACKENDS:
            for row in _backend("SQLite", f"sqlite:///{root / 'night.sqlite3'}", root / "home-sqlite"):
                print(row, flush=True)
        if not PG_ADMIN or "postgresql" not in BACKENDS:
            return
        from bench.bench_intake import _pg_database

        pg = _pg_database()
        if pg is None:
            return
        url, admin = pg
        try:
            for row in _backend("PostgreSQL", url, root / "home-pg"):
                print(row, flush=True)
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{sa.make_url(url).database}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()
