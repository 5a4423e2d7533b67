"""Benchmark (b): HTTP intake of signed sheets over loopback to a real uvicorn server.

Each submission is a Form-45 signed by a registered Ed25519 device key; the server answers only after
the sheet row and its log leaf are committed (SQLite synchronous=FULL; PostgreSQL synchronous_commit on).
Baselines measured in the same run: (1) the same client against a trivial endpoint of the same server
(a small static file: the HTTP ceiling of this stack on this machine), and (2) raw one-row-per-commit
durable INSERTs into SQLite (what intake would do without group commit). On Linux each row also gives
the CPU the server's processes spent per request (the processes that serve; its results process with
the projector and the children it starts; not PostgreSQL's own processes): what the projector costs
intake, apart from the client's and the database's work (the results process's until its projections
had caught up). The last column says how far the projections were behind at the last answer and how long
they took to catch up: above its busy rate (750 leaves/s) the projector yields the CPU to intake.
Timing starts once the server's processes have finished starting (several seconds of imports each), as
in bench_results.

Environment: BENCH_INTAKE_N (default 50000), BENCH_INTAKE_CONCURRENCY (default 64),
BENCH_INTAKE_RECEIPT_CONCURRENCY (default 512, for the run that waits for receipts),
BENCH_INTAKE_WORKERS (uvicorn worker processes to try, default "1,2"; PostgreSQL runs with the last),
BENCH_INTAKE_PG (PostgreSQL admin URL; default the test server; "" to skip).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from pollwatch.auth import AuthRole, create_submitter, register_device
from pollwatch.auth.devices import device_key_id, public_key_of
from pollwatch.intake.testing import create_tiny_election, sheet_payload, sign_payload
from pollwatch.storage import Database
from pollwatch.tally.projector import status

N = int(os.environ.get("BENCH_INTAKE_N", "50000"))
CONCURRENCY = int(os.environ.get("BENCH_INTAKE_CONCURRENCY", "64"))
BATCH = int(os.environ.get("BENCH_INTAKE_BATCH", "100"))
WORKERS = tuple(int(w) for w in os.environ.get("BENCH_INTAKE_WORKERS", "1,2").split(","))
PG_ADMIN = os.environ.get("BENCH_INTAKE_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
RECEIPTS = min(10_000, N // 5)
"""Submissions of a last run whose answers wait for the receipt (a checkpoint covering the leaf)."""
RECEIPT_CONCURRENCY = int(os.environ.get("BENCH_INTAKE_RECEIPT_CONCURRENCY", "512"))
"""Connections of the two "many phones" runs. Waiting for a receipt takes about one checkpoint interval
(0.25 s) whatever the load, so that run is bound by how many phones wait at once; and each writer's
batch is bounded by the requests in flight. Election night has tens of thousands of phones; the bench
opens 512 (RECEIPTS sheets each) besides the 64-connection runs."""
CONSTITUENCIES, STATIONS, CANDIDATES, TOKENS = 50, 200, 6, 32


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _prepare(url: str) -> list[tuple[str, bytes]]:
    """Create the election and observer tokens with device keys; return (token, signed body) pairs."""
    db = Database(url)
    db.upgrade()
    create_tiny_election(db, constituencies=CONSTITUENCIES, stations=STATIONS, candidates=CANDIDATES)
    signers = []
    with db.begin() as conn:
        for _ in range(TOKENS):
            key_id, token = create_submitter(conn, role=AuthRole.OBSERVER, organisation="BenchWatch")
            key = Ed25519PrivateKey.generate()
            row_id = conn.execute(
                sa.text("SELECT id FROM submitters WHERE key_id = :k"), {"k": key_id}
            ).scalar_one()
            register_device(conn, submitter_id=int(row_id), public_key=device_key_id(public_key_of(key)))
            signers.append((token, key))
    db.dispose()
    out = []
    for n in range(N * (2 if BATCH else 1) + 2 * RECEIPTS):
        token, key = signers[n % TOKENS]
        payload = _station_sheet(n, f"bench-{n:07d}-{uuid.uuid4().hex[:8]}")
        out.append((token, json.dumps(sign_payload(payload, key, organisation="BenchWatch")).encode()))
    return out


def _station_sheet(n: int, key: str) -> dict[str, Any]:
    """The n-th observer sheet of the intake workload: stations in turn across the constituencies, so
    every station's k-th copy arrives before any station's (k+1)-th (bench_projector uses it too)."""
    return sheet_payload(
        key,
        constituency=f"NA-{1 + n % CONSTITUENCIES}",
        station=str(1 + (n // CONSTITUENCIES) % STATIONS),
        votes=tuple(50 + (n * 7 + k * 13) % 200 for k in range(CANDIDATES)),
        role="observer",
    )


class _Connection:
    """A minimal keep-alive HTTP/1.1 client (so the client costs the shared CPUs as little as possible)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, path: str, *, token: str = "", body: bytes = b""
    ) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        head = f"{method} {path} HTTP/1.1\r\nHost: bench\r\nContent-Length: {len(body)}\r\n"
        if token:
            head += f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        self.writer.write(head.encode() + b"\r\n" + body)
        status_line = await self.reader.readline()
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        payload = await self.reader.readexactly(length)
        return int(status_line.split()[1]), payload


async def _drive(
    port: int, requests: list[tuple[str, str, str, bytes]], concurrency: int = CONCURRENCY
) -> tuple[float, list[float], int]:
    """Send requests over ``concurrency`` connections; return (seconds, latencies, errors)."""
    latencies: list[float] = []
    errors = 0
    queue = iter(requests)

    async def worker() -> None:
        nonlocal errors
        conn = _Connection(port)
        for method, path, token, body in queue:
            start = time.perf_counter()
            status, payload = await conn.request(method, path, token=token, body=body)
            latencies.append(time.perf_counter() - start)
            if status >= 300:
                errors += 1
                if errors <= 3:
                    print(f"<!-- error {status}: {payload[:300]!r} -->")

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - start, latencies, errors


def _server(url: str, home: Path, workers: int) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    env = {
        **os.environ,
        "POLLWATCH_HOME": str(home),
        "POLLWATCH_RATE_TOKEN": "1000000,1000000",
        "POLLWATCH_RATE_ADDRESS": "1000000,1000000",
        "POLLWATCH_DATABASE_URL": url,
    }
    root = str(Path(__file__).resolve().parents[1])
    # `pollwatch serve` itself: its workers, its protocol, its separate low-priority results process.
    serve = ["serve", "--db", url, "--port", str(port), "--workers", str(workers)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "pollwatch.cli.main", *serve],
        env=env,
        cwd=root,
        stdout=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: a failed start kills the workers too
    )
    for _ in range(600):  # a loaded machine starts two workers and the results process slowly
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc, port
        except OSError:
            time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    raise RuntimeError("the server did not start")


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def _batches(bodies: list[tuple[str, bytes]]) -> list[tuple[str, str, str, bytes]]:
    """Signed sheets grouped by token into JSON arrays of BATCH (what a phone's offline queue sends)."""
    by_token: dict[str, list[bytes]] = {}
    for token, body in bodies:
        by_token.setdefault(token, []).append(body)
    out = []
    for token, items in by_token.items():
        for start in range(0, len(items), BATCH):
            out.append(
                ("POST", "/api/v1/sheets/batch", token, b"[" + b",".join(items[start : start + BATCH]) + b"]")
            )
    return out


def _settle(root: int, *, idle: float = 0.15, most: float = 120.0) -> float:
    """Wait until the server's processes (its workers, its results process and the page renderer it
    starts) have finished starting, i.e. used less than ``idle`` of a core for two seconds running;
    return the seconds waited. Election night is measured on a server that has been up for hours: its
    start (several seconds of imports in each process) must not fall into the timed phase."""
    start = time.perf_counter()
    before, quiet = sum(_tree_cpu(root).values()), 0
    while quiet < 2 and time.perf_counter() - start < most:
        time.sleep(1.0)
        now = sum(_tree_cpu(root).values())
        quiet = quiet + 1 if now - before < idle else 0
        before = now
    return time.perf_counter() - start


def _tree_cpu(root: int) -> dict[str, float]:
    """CPU seconds used so far by the server's processes (its workers, its results process, the rest),
    read from /proc; empty where there is none."""
    proc = Path("/proc")
    if not (proc / str(root)).exists():
        return {}
    stats: dict[int, tuple[int, float, str]] = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # it exited meanwhile
            continue
        ticks = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        stats[int(entry.name)] = (int(fields[1]), ticks, command)
    tree, grew = {root}, True
    while grew:
        more = {pid for pid, (parent, _, _) in stats.items() if parent in tree} - tree
        tree |= more
        grew = bool(more)
    out: dict[str, float] = {}
    for pid in tree & set(stats):
        _, ticks, command = stats[pid]
        background = "pollwatch.background" in command or "site snapshots" in command
        what = "results process" if background else "server workers"
        if "site pages" in command:
            what = "page renderer"
        if pid == root:
            what = "server supervisor"
        out[what] = out.get(what, 0.0) + ticks
    return out


@dataclass(frozen=True)
class _Run:
    seconds: float
    latencies: list[float]
    errors: int
    cpu: dict[str, float]
    """CPU seconds the server's processes spent on the run (empty where /proc is not): the workers' until
    the last answer, the results process's until the projections had caught up."""
    behind: int = 0
    """Leaves not yet applied to the projections when the last answer came."""
    caught_up: float = 0.0
    """Seconds from the last answer until the projections had applied every leaf."""


def _timed(
    pid: int, port: int, requests: list[tuple[str, str, str, bytes]], db: Database, concurrency: int = 0
) -> _Run:
    """Drive ``requests``, read the CPU the server's process tree spent meanwhile and how long its
    projections took to catch up (the projector yields while intake runs above its busy rate)."""
    before = _tree_cpu(pid)
    seconds, latencies, errors = asyncio.run(_drive(port, requests, concurrency or CONCURRENCY))
    served = {k: v - before.get(k, 0.0) for k, v in _tree_cpu(pid).items()}
    done = time.perf_counter()
    behind = status(db)["behind"]
    while status(db)["behind"] and time.perf_counter() - done < 300:
        time.sleep(0.05)
    caught_up = time.perf_counter() - done
    later = {k: v - before.get(k, 0.0) for k, v in _tree_cpu(pid).items()}
    cpu = {k: later[k] if k in _BACKGROUND else v for k, v in served.items()}
    return _Run(seconds, latencies, errors, cpu, behind, caught_up)


_BACKGROUND = ("results process", "page renderer")


def _row(label: str, n: int, run: _Run, requests: int = 0) -> str:
    shown = f"{n:,}" if not requests else f"{n:,} in {requests:,}"
    lat = run.latencies
    background = sum(run.cpu.get(k, 0.0) for k in _BACKGROUND)
    serving = sum(run.cpu.values()) - background  # the workers (the supervisor itself with one worker)
    cpu = f"{1000 * serving / n:.2f} / {1000 * background / n:.2f}" if run.cpu else ""
    lag = f"{run.behind:,} / {run.caught_up:.1f} s" if run.behind else ("0" if run.cpu else "")
    return (
        f"| {label} | {shown} | {n / run.seconds:,.0f} | {_pct(lat, 0.5):.1f} | {_pct(lat, 0.99):.1f}"
        f" | {run.errors} | {cpu} | {lag} |"
    )


def _bench_backend(label: str, url: str, home: Path, workers: int) -> list[str]:
    bodies = _prepare(url)
    proc, port = _server(url, home, workers)
    label = f"{label}, {workers} worker{'s' if workers > 1 else ''}"
    db = Database(url)

    def timed(requests: list[tuple[str, str, str, bytes]], concurrency: int = 0) -> _Run:
        return _timed(proc.pid, port, requests, db, concurrency)

    try:
        _settle(proc.pid)  # intake on a server that has been up a while: its processes' start not timed
        # A small static file: the ceiling of this HTTP stack (the /docs page is no longer trivial).
        trivial = [("GET", "/static/favicon.svg", "", b"")] * min(N, 20_000)
        what = "baseline GET /static/favicon.svg (same server, same client)"
        rows = [_row(f"{label}: {what}", len(trivial), timed(trivial))]
        sheets = [("POST", "/api/v1/sheets?receipt=false", token, body) for token, body in bodies[:N]]
        rows.append(_row(f"{label}: signed sheets, durable ack", len(sheets), timed(sheets)))
        if BATCH:
            batches = _batches(bodies[N : 2 * N])
            what = f"signed sheets in batches of {BATCH}, durable ack"
            rows.append(_row(f"{label}: {what}", N, timed(batches), requests=len(batches)))
        crowd = bodies[len(bodies) - 2 * RECEIPTS : len(bodies) - RECEIPTS]
        many = [("POST", "/api/v1/sheets?receipt=false", token, body) for token, body in crowd]
        what = f"signed sheets, durable ack, {RECEIPT_CONCURRENCY} connections"
        rows.append(_row(f"{label}: {what}", len(many), timed(many, RECEIPT_CONCURRENCY)))
        tail = [("POST", "/api/v1/sheets", token, body) for token, body in bodies[len(bodies) - RECEIPTS :]]
        what = f"signed sheets + receipt in the answer, {RECEIPT_CONCURRENCY} connections"
        rows.append(_row(f"{label}: {what}", len(tail), timed(tail, RECEIPT_CONCURRENCY)))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        db.dispose()
    return rows


def _raw_sqlite(path: Path, seconds: float = 3.0) -> str:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)")
    n, lat = 0, []
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        t0 = time.perf_counter()
        conn.execute("BEGIN")
        conn.execute("INSERT INTO t (body) VALUES (?)", ("x" * 400,))
        conn.execute("COMMIT")
        lat.append(time.perf_counter() - t0)
        n += 1
    conn.close()
    run = _Run(time.perf_counter() - start, lat, 0, {})
    return _row("baseline: raw SQLite INSERT, one durable commit each (no HTTP)", n, run)


def _pg_database() -> tuple[str, sa.Engine] | None:
    if not PG_ADMIN:
        return None
    try:
        admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        name = f"pollwatch_bench_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # no server: report and skip
        print(f"<!-- PostgreSQL skipped: {type(exc).__name__} -->")
        return None
    return sa.make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False), admin


def main() -> None:
    print(
        f"{N:,} Ed25519-signed Form-45 submissions, {CONCURRENCY} keep-alive connections, loopback; "
        f"{os.cpu_count()} CPUs shared by client and server.\n"
    )
    print(
        "| what | requests | per second | p50 ms | p99 ms | errors | server CPU ms: workers / results "
        "| projections behind at the last answer / caught up after |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        print(_raw_sqlite(root / "raw.sqlite3"), flush=True)
        for workers in WORKERS:
            url = f"sqlite:///{root / f'bench-{workers}.sqlite3'}"
            for row in _bench_backend("SQLite", url, root / f"home-sqlite-{workers}", workers):
                print(row, flush=True)
        pg = _pg_database()
        if pg is not None:
            url, admin = pg
            try:
                for row in _bench_backend("PostgreSQL", url, root / "home-pg", WORKERS[-1]):
                    print(row, flush=True)
            finally:
                with admin.connect() as conn:
                    name = sa.make_url(url).database
                    conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()


if __name__ == "__main__":
    main()
