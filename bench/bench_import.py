"""Import benchmark: a national election (100,000 stations, 1.2 million candidate counts).

The election is generated with numpy (seed 2024): 270 constituencies of about 370 stations, 12
candidates each, one Form-45 sheet per station. pollwatch writes it through its import path
(``pollwatch.datasets.load.write_dataset``: stations, candidates, sheets and votes from model objects,
with reference checks, in one transaction) into SQLite and into PostgreSQL. The baselines write the
same rows, already as tuples with ids, into the same migrated schema: ``sqlite3.executemany`` in one
transaction, and psycopg ``COPY``. Run: ``.venv/bin/python -m bench bench_import``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from pollwatch.datasets import Dataset
from pollwatch.datasets.load import write_dataset
from pollwatch.model import (
    Candidate,
    CandidateKey,
    Channel,
    Constituency,
    ConstituencyCode,
    Election,
    ElectionSlug,
    Provenance,
    Registered,
    ResultSheet,
    Role,
    SheetKind,
    Station,
    StationNumber,
    StationSex,
    Totals,
)
from pollwatch.storage import Database

SEED = 2024
CONSTITUENCIES = 270
STATIONS = 100_000
CANDIDATES = 12
POSTGRES = os.environ.get("POLLWATCH_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
ELECTION = Election(ElectionSlug("bench"), "PK", "benchmark", dt.date(2024, 2, 8), "pakistan", "2023")


def generate() -> Dataset:
    """A seeded national election: stations per constituency, registered voters, multinomial votes."""
    rng = np.random.default_rng(SEED)
    sizes = rng.multinomial(STATIONS - CONSTITUENCIES, np.full(CONSTITUENCIES, 1 / CONSTITUENCIES)) + 1
    registered = rng.integers(300, 1500, size=STATIONS)
    turnout = rng.beta(5, 5, size=STATIONS)
    shares = rng.dirichlet(np.full(CANDIDATES, 0.7), size=CONSTITUENCIES)
    codes = [ConstituencyCode(f"NA-{i + 1}") for i in range(CONSTITUENCIES)]
    constituencies = [Constituency(code=c, assembly="NA", delimitation="2023") for c in codes]
    candidates = [
        Candidate(constituency=c, ballot_order=CandidateKey(k + 1), name=f"Candidate {k + 1} of {c}")
        for c in codes
        for k in range(CANDIDATES)
    ]
    provenance = Provenance(source="bench", channel=Channel.IMPORT, role=Role.AGENT, organisation="bench")
    stations, sheets = [], []
    index = 0
    for ci, code in enumerate(codes):
        for serial in range(1, int(sizes[ci]) + 1):
            reg = int(registered[index])
            polled = int(reg * turnout[index])
            votes = rng.multinomial(polled, shares[ci])
            stations.append(
                Station(
                    constituency=code,
                    serial=serial,
                    number=StationNumber(str(serial)),
                    sex=StationSex.COMBINED,
                    registered=Registered(total=reg),
                )
            )
            sheets.append(
                ResultSheet(
                    kind=SheetKind.STATION_COUNT,
                    form="Form-45",
                    constituency=code,
                    votes={CandidateKey(k + 1): int(v) for k, v in enumerate(votes)},
                    totals=Totals(valid=polled, rejected=0, polled=polled, registered=reg),
                    provenance=provenance,
                    station=StationNumber(str(serial)),
                    station_serial=serial,
                )
            )
            index += 1
    return Dataset(
        name="bench",
        election=ELECTION,
        constituencies=constituencies,
        stations=stations,
        candidates=candidates,
        sheets=sheets,
    )


def raw_rows(d: Dataset) -> dict[str, tuple[tuple[str, ...], list[tuple[Any, ...]]]]:
    """The same election as plain tuples with ids assigned: what a hand-written loader would insert."""
    cids = {c.code: i + 1 for i, c in enumerate(d.constituencies)}
    kids = {(c.constituency, c.ballot_order): i + 1 for i, c in enumerate(d.candidates)}
    stations = [
        (i + 1, cids[s.constituency], s.serial, s.number, "", s.sex.value, s.registered.total, "bench")
        for i, s in enumerate(d.stations)
    ]
    sheets = []
    votes: list[tuple[int, int, int]] = []
    for i, s in enumerate(d.sheets):
        t = s.totals
        extra = json.dumps({"station_number": s.station})
        sheets.append(
            (i + 1, 1, cids[s.constituency], i + 1, "station_count", "Form-45", "")
            + (
                t.valid,
                t.rejected,
                t.polled,
                t.registered,
                "bench",
                "import",
                "agent",
                "bench",
                "",
                "",
                extra,
            )
        )
        votes.extend((i + 1, kids[(s.constituency, k)], v) for k, v in s.votes.items())
    return {
        "elections": (
            ("id", "slug", "country", "name", "date", "rule_pack", "delimitation"),
            [(1, "bench", "PK", "benchmark", "2024-02-08", "pakistan", "2023")],
        ),
        "constituencies": (
            ("id", "election_id", "code", "assembly", "delimitation", "name", "region", "seats"),
            [(cids[c.code], 1, c.code, "NA", "2023", "", "", 1) for c in d.constituencies],
        ),
        "stations": (
            ("id", "constituency_id", "serial", "number", "name", "sex", "registered_total", "source"),
            stations,
        ),
        "candidates": (
            ("id", "constituency_id", "ballot_order", "name", "source"),
            [
                (
                    kids[(c.constituency, c.ballot_order)],
                    cids[c.constituency],
                    c.ballot_order,
                    c.name,
                    "bench",
                )
                for c in d.candidates
            ],
        ),
        "sheets": (
            (
                "id",
                "election_id",
                "constituency_id",
                "station_id",
                "kind",
                "form",
                "label",
                "valid",
                "rejected",
                "polled",
                "registered",
                "source",
                "channel",
                "role",
                "organisation",
                "submitter_key",
                "evidence_sha256",
                "extra",
            ),
            sheets,
        ),
        "sheet_votes": (("sheet_id", "candidate_id", "votes"), votes),
    }


def _timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def sqlite_pollwatch(d: Dataset, folder: Path) -> float:
    db = Database(f"sqlite:///{folder / 'pollwatch.sqlite3'}")
    db.upgrade()
    seconds = _timed(lambda: write_dataset(db, d))
    db.dispose()
    return seconds


def sqlite_baseline(rows: dict[str, tuple[tuple[str, ...], list[tuple[Any, ...]]]], folder: Path) -> float:
    path = folder / "baseline.sqlite3"
    Database(f"sqlite:///{path}").upgrade()  # the same schema, indexes and constraints
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON"):
        conn.execute(f"PRAGMA {pragma}")

    def load() -> None:
        conn.execute("BEGIN")
        for table, (columns, data) in rows.items():
            marks = ", ".join("?" for _ in columns)
            conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", data)
        conn.execute("COMMIT")

    seconds = _timed(load)
    conn.close()
    return seconds


def _postgres_database() -> tuple[str, Callable[[], None]] | None:
    import sqlalchemy as sa

    try:
        admin = sa.create_engine(POSTGRES, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
        name = f"pollwatch_bench_{uuid.uuid4().hex[:10]}"
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except Exception:  # no server: the PostgreSQL rows are reported as skipped
        return None

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return sa.make_url(POSTGRES).set(database=name).render_as_string(hide_password=False), drop


def postgres_pollwatch(d: Dataset) -> float | None:
    made = _postgres_database()
    if made is None:
        return None
    url, drop = made
    db = Database(url)
    db.upgrade()
    try:
        return _timed(lambda: write_dataset(db, d))
    finally:
        db.dispose()
        drop()


def postgres_baseline(rows: dict[str, tuple[tuple[str, ...], list[tuple[Any, ...]]]]) -> float | None:
    import psycopg

    made = _postgres_database()
    if made is None:
        return None
    url, drop = made
    Database(url).upgrade()
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    try:
        with psycopg.connect(plain) as conn:

            def load() -> None:
                with conn.cursor() as cur:
                    for table, (columns, data) in rows.items():
                        with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                            for row in data:
                                copy.write_row(row)
                conn.commit()

            return _timed(load)
    finally:
        drop()


def main() -> None:
    start = time.perf_counter()
    dataset = generate()
    rows = raw_rows(dataset)
    generated = time.perf_counter() - start
    votes = len(rows["sheet_votes"][1])
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sqlite_raw = sqlite_baseline(rows, folder)
        sqlite_pw = sqlite_pollwatch(dataset, folder)
    pg_raw = postgres_baseline(rows)
    pg_pw = postgres_pollwatch(dataset)
    print(
        f"{len(dataset.stations):,} stations, {len(dataset.sheets):,} sheets, {votes:,} candidate counts "
        f"(generated in {generated:.1f} s, seed {SEED}); one transaction each.\n"
    )
    print("| database | baseline | baseline s | pollwatch s | ratio | counts/s (pollwatch) |")
    print("|---|---|---:|---:|---:|---:|")
    for name, baseline, raw, mine in (
        ("SQLite (WAL)", "sqlite3 executemany", sqlite_raw, sqlite_pw),
        ("PostgreSQL", "psycopg COPY", pg_raw, pg_pw),
    ):
        if raw is None or mine is None:
            print(f"| {name} | {baseline} | skipped | skipped | | |")
            continue
        print(f"| {name} | {baseline} | {raw:.1f} | {mine:.1f} | {mine / raw:.2f}x | {votes / mine:,.0f} |")
