"""Benchmark: observation checklists through HTTP, signed on the device and durable before the answer,
against signed Form-45 sheets through the same server in the same run (issue 12: a national mission sends
one checklist per station per phase, so checklists must be no slower than sheets).

A real ``pollwatch serve`` (2 workers) on loopback, SQLite (WAL, synchronous=FULL) and PostgreSQL; 32
observers with registered Ed25519 device keys; BENCH_OBSERVE_N sheets (default 10,000), then as many
``pk-count`` checklists (12 answers each, QC rules checked), one per request over 64 keep-alive
connections, each answered after its rows and its leaf are committed. For scale: NDI's Apollo took about
17 submissions per second on a comparable load on this kind of machine (20 clients, PostgreSQL), measured
separately (issue 12).

Environment: BENCH_OBSERVE_N, BENCH_OBSERVE_PG (PostgreSQL admin URL; "" to skip).
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import uuid
from pathlib import Path

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench.bench_intake import _drive, _pct, _server
from pollwatch.auth import AuthRole, create_submitter, register_device
from pollwatch.auth.devices import device_key_id, public_key_of, sign
from pollwatch.intake.testing import create_tiny_election, sheet_payload, sign_payload
from pollwatch.ledger.records import signed_bytes
from pollwatch.storage import Database

N = int(os.environ.get("BENCH_OBSERVE_N", "10000"))
PG_ADMIN = os.environ.get("BENCH_OBSERVE_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
CONSTITUENCIES, STATIONS, CANDIDATES, OBSERVERS = 50, 200, 6, 32
CAPTURED = "2026-02-08T18:40:00.000Z"
ANSWERS = {"CA": 120, "CB": 80, "CC": 200, "CD": 4, "CE": True, "CF": True, "CG": True, "CH": False,
           "CJ": True, "CK": True, "CL": False, "CM": True}  # fmt: skip


def _prepare(url: str) -> tuple[list[tuple[str, bytes]], list[tuple[str, bytes]]]:
    """The election, observers with device keys; (token, body) of N signed sheets and N checklists."""
    db = Database(url)
    db.upgrade()
    create_tiny_election(db, constituencies=CONSTITUENCIES, stations=STATIONS, candidates=CANDIDATES)
    signers = []
    with db.begin() as conn:
        for _ in range(OBSERVERS):
            key_id, token = create_submitter(conn, role=AuthRole.OBSERVER, organisation="BenchWatch")
            key = Ed25519PrivateKey.generate()
            row_id = conn.execute(sa.text("SELECT id FROM submitters WHERE key_id = :k"), {"k": key_id})
            register_device(
                conn, submitter_id=int(row_id.scalar_one()), public_key=device_key_id(public_key_of(key))
            )
            signers.append((token, key))
    db.dispose()
    sheets, checklists = [], []
    for n in range(N):
        token, key = signers[n % OBSERVERS]
        code, station = f"NA-{1 + n % CONSTITUENCIES}", 1 + (n // CONSTITUENCIES) % STATIONS
        votes = tuple(50 + (n * 7 + k * 13) % 200 for k in range(CANDIDATES))
        payload = sheet_payload(f"bench-sheet-{n:07d}-{uuid.uuid4().hex[:6]}", constituency=code,
                                station=str(station), votes=votes, role="observer")  # fmt: skip
        sheets.append((token, json.dumps(sign_payload(payload, key, organisation="BenchWatch")).encode()))
        checklists.append(
            (token, _checklist(f"bench-chk-{n:07d}-{uuid.uuid4().hex[:6]}", code, station, key))
        )
    return sheets, checklists


def _checklist(sid: str, code: str, station: int, key: Ed25519PrivateKey) -> bytes:
    device = device_key_id(public_key_of(key))
    body = {"election": "tiny-2026", "submission_id": sid, "form": "pk-count", "version": 1, "phase": "count",
            "constituency": code, "station": station, "answers": ANSWERS, "submitter_key": device,
            "role": "observer", "organisation": "BenchWatch", "captured_at": CAPTURED}  # fmt: skip
    submission = {k: v for k, v in body.items() if k not in ("phase", "submitter_key", "organisation")}
    signature = sign(key, signed_bytes(body, "checklist"))
    return json.dumps({**submission, "device_key": device, "signature": signature}).encode()


def _backend(label: str, url: str, home: Path) -> list[str]:
    sheets, checklists = _prepare(url)
    proc, port = _server(url, home, 2)
    rows = []
    try:
        for what, path, bodies in (
            ("signed Form-45 sheets", "/api/v1/sheets?receipt=false", sheets),
            ("signed pk-count checklists", "/api/v1/records/checklist?receipt=false", checklists),
        ):
            requests = [("POST", path, token, body) for token, body in bodies]
            seconds, lat, errors = asyncio.run(_drive(port, requests, 64))
            rows.append(
                f"| {label} | {what} | {len(requests):,} | {len(requests) / seconds:,.0f} | "
                f"{_pct(lat, 0.5):.1f} | {_pct(lat, 0.99):.1f} | {errors} |"
            )
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return rows


def main() -> None:
    print(
        f"{N:,} signed sheets, then {N:,} signed checklists; 64 connections; `pollwatch serve`, 2 workers.\n"
    )
    print("| backend | what | records | per second | p50 ms | p99 ms | errors |")
    print("|---|---|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for row in _backend("SQLite", f"sqlite:///{root / 'observe.sqlite3'}", root / "home-sqlite"):
            print(row, flush=True)
        if not PG_ADMIN:
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
