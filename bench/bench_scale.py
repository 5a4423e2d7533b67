"""Benchmark: an Indonesia-scale night replayed at compressed time through the local cluster.

The night: BENCH_SCALE_STATIONS stations (default 813,000, Indonesia 2024), four copies of each
station's sheet (four submitters), one photo per station uploaded straight to S3 (SeaweedFS) with a
presigned PUT and confirmed. It is replayed in order through the cluster of deploy/cluster.py (nginx, N
API nodes, pgbouncer, a primary with a synchronous standby, two publishers, one witness, SeaweedFS) at a
stepped offered rate (BENCH_SCALE_RATES sheets/s, BENCH_SCALE_STEP_SECONDS each, open loop: a request's
latency counts from when it was due), until p99 or lag diverges (p99 above BENCH_SCALE_P99_LIMIT
seconds, or less than 90 % of the offered rate achieved) or the night runs out; for 1, 2 and 3 API nodes
(BENCH_SCALE_NODES), each on a fresh cluster, in the same run.

Reported per step: offered and achieved rate; acknowledgement p50/p99; the time from a sheet's
acknowledgement to the first checkpoint covering it, to the first cosigned checkpoint covering it and
to the results projection's cursor passing it (p50/p99, sampled every 50 ms on the primary); the
standby's largest replay lag; CPU seconds per 1,000 sheets per process group (/proc, every process of
the machine classified by its command line). Then the log lock's ceiling on its own: appends of one
record per transaction from 8 threads straight on the primary (synchronous standby included), the
baseline every intake path shares. From the CPU figures, the cores a 2,000 sheets/s sustained and
5,000/s burst night needs (a linear extrapolation: say so when quoting it).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import json
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from PIL import Image

from bench.bench_intake import _Connection, _pct
from deploy import cluster as cluster_script
from pollwatch.auth import AuthRole, create_submitter
from pollwatch.intake.testing import create_tiny_election, sheet_payload
from pollwatch.ledger import service
from pollwatch.ledger.records import LeafRecord
from pollwatch.storage import Database

STATIONS = int(os.environ.get("BENCH_SCALE_STATIONS", "813000"))
COPIES = 4
RATES = [float(r) for r in os.environ.get("BENCH_SCALE_RATES", "25,50,100,200,400,800").split(",")]
STEP_SECONDS = float(os.environ.get("BENCH_SCALE_STEP_SECONDS", "10"))
NODES = [int(n) for n in os.environ.get("BENCH_SCALE_NODES", "1,2,3").split(",")]
P99_LIMIT = float(os.environ.get("BENCH_SCALE_P99_LIMIT", "2"))
CONNECTIONS = int(os.environ.get("BENCH_SCALE_CONNECTIONS", "64"))
CONSTITUENCIES = 100
ROOT = Path(__file__).resolve().parents[1]
GROUPS = ("api", "publisher", "witness", "postgres", "pgbouncer", "nginx", "seaweedfs")


@contextlib.contextmanager
def _cluster(nodes: int) -> Iterator[Any]:
    folder = Path(tempfile.mkdtemp(prefix="pollwatch-bench-scale-"))
    folder.chmod(0o755)
    os.environ["POLLWATCH_RATE_TOKEN"] = "1000000,1000000"  # the nodes inherit it: no rate limit here
    os.environ["POLLWATCH_RATE_ADDRESS"] = "1000000,1000000"
    cluster = cluster_script.up(folder, nodes=nodes, publishers=2, witnesses=1)  # as in the figures measured
    try:
        yield cluster
    finally:
        cluster_script.down(folder)
        import shutil

        shutil.rmtree(folder, ignore_errors=True)


def _tokens(cluster: Any) -> list[str]:
    db = Database(cluster.direct_url)
    per = max(1, min(200, -(-STATIONS // CONSTITUENCIES)))  # stations per constituency created
    create_tiny_election(db, constituencies=CONSTITUENCIES, stations=per, candidates=3)
    tokens = []
    with db.begin() as conn:
        for k in range(COPIES):
            _, token = create_submitter(
                conn, role=AuthRole.ADMIN, organisation="", assignments=(), phone=None, name=f"copy{k}"
            )
            tokens.append(str(token))
    db.dispose()
    return tokens


def _png(station: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 12), (station % 256, (station >> 8) % 256, (station >> 16) % 256)).save(
        buffer, "PNG"
    )
    return buffer.getvalue()


def _sheet(n: int) -> tuple[int, int, bytes | None, dict[str, Any]]:
    """Record ``n`` of the night: (station, copy, photo or None, payload). Copy 0 carries the photo."""
    station, copy = divmod(n, COPIES)
    per = max(1, min(200, -(-STATIONS // CONSTITUENCIES)))
    photo = _png(station) if copy == 0 else None
    extra: dict[str, Any] = {"photo_sha256": hashlib.sha256(photo).hexdigest()} if photo else {}
    body = sheet_payload(
        f"night-{station:07d}-{copy}",
        constituency=f"NA-{1 + station % CONSTITUENCIES}",
        station=str(1 + (station // CONSTITUENCIES) % per),
        **extra,
    )
    return station, copy, photo, body


@dataclass
class Sample:
    at: float
    checkpoint: int
    cosigned: int
    projected: int
    replay_lag: float


@dataclass
class Sampler:
    """Polls the primary every 50 ms: checkpoint size, largest cosigned size, projection cursor, lag."""

    url: str
    witness: str
    samples: list[Sample] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _cosigned: int = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        engine = sa.create_engine(self.url, isolation_level="AUTOCOMMIT")
        while not self._stop.is_set():
            try:
                with engine.connect() as conn:
                    while not self._stop.is_set():
                        self.samples.append(self._sample(conn))
                        self._stop.wait(0.05)
            except sa.exc.SQLAlchemyError:  # the session was cut: a new one
                self._stop.wait(0.2)
        engine.dispose()

    def _sample(self, conn: sa.Connection) -> Sample:
        size, note = conn.execute(sa.text("SELECT checkpoint_size, checkpoint FROM log_state")).one()
        if note and f"\u2014 {self.witness} " in note:
            self._cosigned = max(self._cosigned, int(size))
        projected = conn.execute(
            sa.text("SELECT coalesce(max(next_index), 0) FROM projection_cursors WHERE name = 'results'")
        ).scalar_one()
        lag = conn.execute(
            sa.text("SELECT coalesce(max(extract(epoch FROM replay_lag)), 0) FROM pg_stat_replication")
        ).scalar_one()
        return Sample(time.monotonic(), int(size), self._cosigned, int(projected), float(lag))

    def delay(self, acks: list[tuple[int, float]], attribute: str) -> list[float]:
        """Seconds from each acknowledgement to the first sample whose ``attribute`` covers its leaf."""
        out = []
        for index, at in acks:
            for s in self.samples:
                if s.at >= at and getattr(s, attribute) > index:
                    out.append(s.at - at)
                    break
        return out


def _cpu(cluster: Any) -> dict[str, float]:
    """CPU seconds used so far by each process group of the cluster: every live process descending from
    a process the cluster started (the PostgreSQL servers: those run on its data folders)."""
    ticks = os.sysconf("SC_CLK_TCK")
    table: dict[int, tuple[int, float, str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        table[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / ticks, command)
    roots: dict[int, str] = {}
    for name, pid in cluster.pids.items():
        group = "api" if name.startswith("node") else next((g for g in GROUPS if name.startswith(g)), "")
        if pid and group:
            roots[pid] = group
    for pid, (_, _, command) in table.items():
        if f"{cluster.folder}/pg-" in command and "postgres" in command:
            roots[pid] = "postgres"
    totals = dict.fromkeys(GROUPS, 0.0)
    for pid, (_, used, _) in table.items():
        ancestor = pid
        for _ in range(8):  # a process, its parent, ... up to the root the cluster started
            if ancestor in roots:
                totals[roots[ancestor]] += used
                break
            ancestor = table[ancestor][0] if ancestor in table else 0
    return totals


@dataclass
class Step:
    nodes: int
    offered: float
    achieved: float
    acked: int
    failed: int
    latencies: list[float]
    to_checkpoint: list[float]
    to_cosigned: list[float]
    to_projection: list[float]
    replay_lag: float
    cpu: dict[str, float]


async def _send(cluster: Any, tokens: list[str], first: int, rate: float, seconds: float) -> tuple[
    list[float], list[tuple[int, float]], int, float
]:  # fmt: skip
    """Offer ``rate`` sheets/s from record ``first`` for ``seconds`` (open loop); photos go to S3."""
    pool: asyncio.Queue[_Connection] = asyncio.Queue()
    for _ in range(CONNECTIONS):
        pool.put_nowait(_Connection(cluster.nginx_port))
    latencies: list[float] = []
    acks: list[tuple[int, float]] = []
    failed = 0
    outcome = {"photos": 0, "photo_failed": 0}
    photos = httpx.AsyncClient(timeout=30)
    count = int(rate * seconds)
    start = time.monotonic()

    async def one(n: int, due: float) -> None:
        nonlocal failed
        _, copy, photo, body = _sheet(n)
        conn = await pool.get()
        try:
            status, answer = await conn.request(
                "POST", "/api/v1/sheets?receipt=false", token=tokens[copy], body=json.dumps(body).encode()
            )
        except Exception:  # a dropped connection: a new one next time, this sheet not acknowledged
            conn, status, answer = _Connection(cluster.nginx_port), 0, b""
        finally:
            pool.put_nowait(conn)
        if status != 201:
            failed += 1
            return
        now = time.monotonic()
        latencies.append(now - due)
        acks.append((int(json.loads(answer)["leaf_index"]), now))
        if photo is not None:
            outcome[
                "photos" if await _photo(photos, cluster.url, tokens[copy], photo) else "photo_failed"
            ] += 1

    tasks = []
    for i in range(count):
        due = start + i / rate
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        tasks.append(asyncio.create_task(one(first + i, due)))
    await asyncio.gather(*tasks)
    elapsed = time.monotonic() - start
    await photos.aclose()
    print(f"<!-- photos stored: {outcome['photos']}, failed: {outcome['photo_failed']} -->", flush=True)
    return latencies, acks, failed, elapsed


async def _photo(client: httpx.AsyncClient, url: str, token: str, photo: bytes) -> bool:
    """Upload a station's photo straight to S3 (presigned PUT) and confirm it; return whether it was."""
    sha = hashlib.sha256(photo).hexdigest()
    auth = {"Authorization": f"Bearer {token}"}
    try:
        grant = (await client.post(f"{url}/api/v1/photos/{sha}/upload", headers=auth)).json()
        if not grant.get("direct"):
            return False
        await client.put(grant["url"], content=photo, headers=grant["headers"])
        confirmed = await client.post(url + grant["confirm_url"], headers=auth)  # a path on the API
    except (httpx.HTTPError, ValueError, KeyError):
        return False
    return confirmed.status_code == 200


def _step(cluster: Any, tokens: list[str], nodes: int, first: int, rate: float) -> Step:
    witness = (Path(cluster.folder) / "keys" / "witness1.vkey").read_text().split("+")[0]
    sampler = Sampler(cluster.direct_url, witness)
    sampler.start()
    before = _cpu(cluster)
    latencies, acks, failed, elapsed = asyncio.run(_send(cluster, tokens, first, rate, STEP_SECONDS))
    settle = time.monotonic() + 15  # let the checkpoint, the witness and the projection catch up
    while time.monotonic() < settle and acks:
        last = sampler.samples[-1] if sampler.samples else None
        if last and min(last.checkpoint, last.cosigned, last.projected) > max(i for i, _ in acks):
            break
        time.sleep(0.1)
    after = _cpu(cluster)
    sampler.stop()
    return Step(
        nodes, rate, len(acks) / elapsed, len(acks), failed, latencies,
        sampler.delay(acks, "checkpoint"), sampler.delay(acks, "cosigned"), sampler.delay(acks, "projected"),
        max((s.replay_lag for s in sampler.samples), default=0.0),
        {g: (after[g] - before[g]) * 1000 / max(1, len(acks)) for g in GROUPS},
    )  # fmt: skip


def _lock_ceiling(cluster: Any, threads: int = 8, seconds: float = 5.0) -> float:
    """Appends/s of one record per transaction, from ``threads`` sessions straight on the primary."""
    db = Database(cluster.direct_url)
    done = [0] * threads
    deadline = time.monotonic() + seconds

    def worker(k: int) -> None:
        while time.monotonic() < deadline:
            with db.begin() as conn:
                service.append(conn, [LeafRecord("incident", {"bench": k, "n": done[k]})])
            done[k] += 1

    workers = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    start = time.monotonic()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    rate = sum(done) / (time.monotonic() - start)
    db.dispose()
    return rate


def _ms(values: list[float], q: float) -> str:
    return f"{_pct(values, q):,.0f}" if values else "–"


def _held(step: Step) -> bool:
    """Whether the step kept up: 90 % of the offered rate, p99 within the limit."""
    return bool(step.latencies) and step.achieved >= 0.9 * step.offered and _p99_ok(step.latencies)


def _p99_ok(latencies: list[float]) -> bool:
    return _pct(latencies, 0.99) <= P99_LIMIT * 1000


def _pair(values: list[float]) -> str:
    return f"{_ms(values, 0.5)} / {_ms(values, 0.99)}"


def _report(steps: list[Step], ceiling: float) -> None:
    night = f"{STATIONS:,} stations × {COPIES} copies = {STATIONS * COPIES:,} sheets"
    print(f"Night: {night}, one photo per station. Steps of {STEP_SECONDS:g} s.\n")
    print(
        "| API nodes | offered/s | achieved/s | acked | failed | ack p50 / p99 ms | → checkpoint p50 / p99 ms"
        " | → cosigned p50 / p99 ms | → projection p50 / p99 ms | standby replay lag max ms |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for s in steps:
        cells = [
            str(s.nodes), f"{s.offered:g}", f"{s.achieved:,.0f}", f"{s.acked:,}", str(s.failed),
            _pair(s.latencies), _pair(s.to_checkpoint), _pair(s.to_cosigned), _pair(s.to_projection),
            f"{s.replay_lag * 1000:,.0f}",
        ]  # fmt: skip
        print("| " + " | ".join(cells) + " |")
    print("\nCPU seconds per 1,000 sheets, per process group:\n")
    print("| API nodes | offered/s | " + " | ".join(GROUPS) + " | total | cores busy |")
    print("|---|---|" + "---|" * (len(GROUPS) + 2))
    for s in steps:
        groups = " | ".join(f"{s.cpu[g]:.2f}" for g in GROUPS)
        print(f"| {s.nodes} | {s.offered:g} | {groups} | {sum(s.cpu.values()):.2f} | {_cores(s):.2f} |")
    print(f"\nLog lock ceiling on its own (8 sessions, one record per transaction): {ceiling:,.0f} appends/s")
    _cores_needed([s for s in steps if _held(s)])


def _cores(step: Step) -> float:
    """Cores the cluster kept busy during the step (CPU seconds per wall second)."""
    return sum(step.cpu.values()) * step.achieved / 1000


def _cores_needed(held: list[Step]) -> None:
    """Cores for 2,000/s and 5,000/s from the marginal cost between the lowest and the highest step held
    with the same number of API nodes (the fixed cost of the idle cluster, polling, is not per sheet)."""
    pairs = []
    for nodes in sorted({s.nodes for s in held}):
        mine = sorted((s for s in held if s.nodes == nodes), key=lambda s: s.achieved)
        if len(mine) >= 2 and mine[-1].achieved > mine[0].achieved:
            pairs.append((mine[0], mine[-1]))
    if not pairs:
        print("\nToo few steps held to separate the per-sheet cost from the idle cost.")
        return
    low, high = max(pairs, key=lambda p: p[1].achieved)
    marginal = (_cores(high) - _cores(low)) / (high.achieved - low.achieved)  # CPU s per sheet
    idle = _cores(low) - marginal * low.achieved
    need = {rate: idle + marginal * rate for rate in (2000, 5000)}
    print(
        f"\nMarginal cost ({high.nodes} API nodes, {low.achieved:,.0f}/s → {high.achieved:,.0f}/s):"
        f" {marginal * 1000:.2f} CPU s per 1,000 sheets over an idle {idle:.2f} cores; linear extrapolation:"
        f" {need[2000]:.1f} cores for 2,000/s sustained, {need[5000]:.1f} for a 5,000/s burst."
    )


def main() -> None:
    steps: list[Step] = []
    ceiling = 0.0
    for nodes in NODES:
        with _cluster(nodes) as cluster:
            tokens = _tokens(cluster)
            first = 0
            for rate in RATES:
                if first + int(rate * STEP_SECONDS) > STATIONS * COPIES:
                    break  # the night ran out
                step = _step(cluster, tokens, nodes, first, rate)
                steps.append(step)
                first += int(rate * STEP_SECONDS)
                print(f"<!-- {nodes} nodes, {rate:g}/s offered: {step.achieved:,.0f}/s -->", flush=True)
                if not _held(step):
                    break  # p99 or the achieved rate diverged
            if nodes == NODES[-1]:
                ceiling = _lock_ceiling(cluster)
    _report(steps, ceiling)


if __name__ == "__main__":
    main()
