"""The projections kept from the log equal a batch recomputation from the same leaves, in any order."""

from __future__ import annotations

import datetime as dt
import itertools
import threading
import time
from collections.abc import Collection
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection

from pollwatch.audit.service import audit_election
from pollwatch.audit.views import Auditor, audit_of_election
from pollwatch.intake.testing import create_tiny_election
from pollwatch.ledger import records
from pollwatch.ledger import service as ledger
from pollwatch.storage import Database, projections
from pollwatch.storage import log as log_store
from pollwatch.storage.results import load_election
from pollwatch.tally.inputs import ResultsInput
from pollwatch.tally.leaves import sheet_from_leaf
from pollwatch.tally.projector import Projector
from pollwatch.tally.service import tally_election
from pollwatch.tally.views import get_reconciliation, list_reconciliations, live_tally

_T0 = dt.datetime(2026, 2, 8, 17, tzinfo=dt.UTC)
_SLUGS = (f"proj-{n}" for n in itertools.count())
_SUBMITTERS = ("key-a", "key-b", "key-c", "official")


def _record(
    slug: str,
    n: int,
    copy: tuple[int, int, int, tuple[int, int, int], bool],
    earlier: dict[tuple[int, int, int], int],
) -> records.LeafRecord:
    constituency, station, who, votes, correct = copy
    key = (constituency, station, who)
    supersedes = earlier.get(key) if correct else None
    submitter = _SUBMITTERS[who]
    return records.sheet_record(
        election=slug, submission_id=f"sub-{n:06d}", kind="station_count", form="Form-45",
        constituency=f"NA-{constituency}", station=str(station),
        votes={str(i + 1): v for i, v in enumerate(votes)},
        totals={"valid": sum(votes), "rejected": 1}, submitter_key=submitter,
        role="official" if submitter == "official" else "agent", organisation="" if who == 0 else f"Org{who}",
        captured_at=(_T0 + dt.timedelta(minutes=n)).isoformat(),
        received_at=(_T0 + dt.timedelta(minutes=n)).isoformat(),
        photo_sha256=None, signature=None, supersedes=supersedes, checks=(),
    )  # fmt: skip


def _append(
    db: Database,
    slug: str,
    copies: list[tuple[int, int, int, tuple[int, int, int], bool]],
    cuts: list[int],
    projector: Projector,
    *,
    turns: list[Projector] | None = None,
) -> None:
    """Append the copies in transactions cut after the indices ``cuts``, a step of ``projector`` (or of
    the projectors of ``turns`` in turn) after each."""
    earlier: dict[tuple[int, int, int], int] = {}
    steps = itertools.cycle(turns or [projector])
    pending: list[tuple[tuple[int, int, int], records.LeafRecord]] = []
    for n, copy in enumerate(copies):
        pending.append(((copy[0], copy[1], copy[2]), _record(slug, n, copy, earlier)))
        if n in cuts or n == len(copies) - 1:
            with db.begin() as conn:
                indices = ledger.append(conn, [r for _, r in pending])
            for (key, _), index in zip(pending, indices, strict=True):
                earlier[key] = index
            pending = []
            next(steps).step(batch=1 + n % 7)


def _declare(db: Database, slug: str, totals: dict[str, tuple[int, int, int]]) -> None:
    """Append each constituency's official Form-47 (constituency level)."""
    with db.begin() as conn:
        ledger.append(
            conn,
            [
                records.LeafRecord(
                    "official",
                    {
                        "election": slug,
                        "submission_id": f"form47-{code}",
                        "kind": "provisional",
                        "form": "Form-47",
                        "label": "provisional",
                        "constituency": code,
                        "station": None,
                        "votes": {str(i + 1): v for i, v in enumerate(votes)},
                        "totals": {},
                        "submitter_key": "ecp",
                        "role": "official",
                        "organisation": "ECP",
                        "received_at": _T0.isoformat(),
                        "checks": [],
                        "source": {"url": "https://example.org/form47", "sha256": "0" * 64},
                    },
                )  # fmt: skip
                for code, votes in totals.items()
            ],
        )


def _batch(db: Database, slug: str) -> ResultsInput:
    with db.connect() as conn:
        election, constituencies, stations, candidates, parties, _ = load_election(conn, slug)
        entries = list(log_store.iter_entries(conn))
    sheets = []
    for index, data in entries:
        record = records.parse_leaf(data)
        if record.body.get("election") == slug:
            sheet = sheet_from_leaf(index, record.type, record.body)
            assert sheet is not None
            sheets.append(sheet)
    return ResultsInput(election, constituencies, stations, candidates, parties, sheets)


def _assert_same(db: Database, slug: str) -> None:
    batch = tally_election(_batch(db, slug))
    with db.connect() as conn:
        live = live_tally(conn, slug)
        assert live.constituencies() == batch.tally.constituencies()
        assert live.parties() == batch.tally.parties()
        page = list_reconciliations(conn, slug, limit=10_000)
    # The projection also names each station by its printed number from the polling scheme, which a
    # batch over sheets alone leaves out: compare everything else.
    projected = sorted(
        ({**r.as_dict(), "number": None} for r in page.stations),
        key=lambda d: (str(d["constituency"]), str(d["serial"] or d["number"])),
    )
    expected = sorted(
        (r.as_dict() for r in batch.stations if r.versions),
        key=lambda d: (str(d["constituency"]), str(d["serial"] or d["number"])),
    )
    assert projected == expected


copy_strategy = st.tuples(
    st.integers(1, 2),
    st.sampled_from([1, 2, 3, 99]),  # 99 is a station only the sheets name
    st.integers(0, 3),
    st.tuples(st.integers(0, 400), st.integers(0, 400), st.integers(0, 400)),
    st.booleans(),
)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(copies=st.lists(copy_strategy, min_size=1, max_size=30), cuts=st.lists(st.integers(0, 29), max_size=6))
def test_projection_equals_batch_in_any_arrival_order(
    db: Database, copies: list[tuple[int, int, int, tuple[int, int, int], bool]], cuts: list[int]
) -> None:
    slug = next(_SLUGS)
    create_tiny_election(db, slug=slug, constituencies=2, stations=3)
    projector = Projector(db)
    _append(db, slug, copies, cuts, projector)
    _declare(db, slug, {"NA-1": (400, 300, 200), "NA-2": (0, 0, 0)})
    projector.catch_up()
    _assert_same(db, slug)
    expected = audit_election(_batch(db, slug)).as_dict()["findings"]
    with db.connect() as conn:
        found = audit_of_election(conn, slug)
    assert found["stale"] == []
    findings = found["findings"]
    assert isinstance(findings, list)
    assert isinstance(expected, list)
    assert sorted(map(repr, findings)) == sorted(map(repr, expected))
    auditor = Auditor(db)
    auditor.refresh(limit=1_000)  # stores every stale audit (of this and earlier examples)
    auditor.stop()  # gives the lease up for the next example's auditor
    with db.connect() as conn:
        stored = audit_of_election(conn, slug, budget=0.0)
    assert stored["stale"] == []
    assert stored["findings"] == found["findings"]


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    copies=st.lists(copy_strategy, min_size=1, max_size=30),
    cuts=st.lists(st.integers(0, 29), max_size=10),
    turns=st.lists(st.integers(0, 2), min_size=1, max_size=6),
)
def test_projectors_taking_turns_equal_the_batch(
    db: Database,
    copies: list[tuple[int, int, int, tuple[int, int, int], bool]],
    cuts: list[int],
    turns: list[int],
) -> None:
    """Each projector remembers the station rows it wrote; when another one moved the cursor meanwhile
    (or it remembers only one row) it must read them again, and the projection stays the batch's."""
    slug = next(_SLUGS)
    create_tiny_election(db, slug=slug, constituencies=2, stations=3)
    projectors = [Projector(db), Projector(db), Projector(db, remember=1)]
    _append(db, slug, copies, cuts, projectors[0], turns=[projectors[t] for t in turns])
    projectors[turns[-1]].catch_up()
    _assert_same(db, slug)


def test_a_projector_applies_a_stations_next_copy_without_reading_its_row(
    sqlite_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    slug = next(_SLUGS)
    create_tiny_election(sqlite_db, slug=slug, constituencies=1, stations=2)
    read: list[set[str]] = []
    real = projections.get_station_rows

    def counting(conn: Connection, keys: Collection[str]) -> dict[str, dict[str, Any]]:
        read.append(set(keys))
        return real(conn, keys)

    monkeypatch.setattr(projections, "get_station_rows", counting)
    mine, other = Projector(sqlite_db), Projector(sqlite_db)
    _append(sqlite_db, slug, [(1, 1, 1, (10, 20, 30), False)], [], mine)
    _append(sqlite_db, slug, [(1, 1, 2, (10, 20, 30), False)], [], mine)
    assert read[-1] == set()  # it remembered the station's row and parsed copies
    _append(sqlite_db, slug, [(1, 1, 3, (10, 20, 31), False)], [], other)
    _append(sqlite_db, slug, [(1, 1, 0, (10, 20, 31), False)], [], mine)
    assert read[-1] != set()  # the other projector wrote since: read again
    _assert_same(sqlite_db, slug)


def test_rebuild_gives_the_same_projection(db: Database) -> None:
    slug = next(_SLUGS)
    create_tiny_election(db, slug=slug, constituencies=2, stations=3)
    projector = Projector(db)
    copies = [(1, s, who, (100 * s + who, 50, 7), who == 1) for s in (1, 2, 3, 99) for who in (0, 1, 1, 2, 3)]
    _append(db, slug, copies, [3, 9], projector)
    projector.catch_up()
    with db.connect() as conn:
        before = (
            live_tally(conn, slug).constituencies(),
            list_reconciliations(conn, slug, limit=100).stations,
        )
    applied = projector.rebuild()
    assert applied == len(copies)
    with db.connect() as conn:
        after = (
            live_tally(conn, slug).constituencies(),
            list_reconciliations(conn, slug, limit=100).stations,
        )
    assert after == before
    _assert_same(db, slug)


def test_the_audit_reads_the_declared_results_from_the_log(sqlite_db: Database) -> None:
    slug = next(_SLUGS)
    create_tiny_election(sqlite_db, slug=slug, constituencies=2, stations=2)
    projector = Projector(sqlite_db)
    _append(sqlite_db, slug, [(1, s, w, (100, 50, 10), False) for s in (1, 2) for w in (1, 2)], [], projector)
    _declare(sqlite_db, slug, {"NA-1": (150, 100, 20)})  # signed sums: 200, 100, 20
    projector.catch_up()
    with sqlite_db.connect() as conn:
        found = audit_of_election(conn, slug, kinds={"official_total_differs"})
    assert [(f["kind"], f["where"]) for f in found["findings"]] == [("official_total_differs", "NA-1")]


def test_a_correction_by_the_same_submitter_replaces_its_copy(sqlite_db: Database) -> None:
    slug = next(_SLUGS)
    create_tiny_election(sqlite_db, slug=slug)
    projector = Projector(sqlite_db)
    typo = (1, 1, 1, (300, 200, 100), False)
    fixed = (1, 1, 1, (300, 200, 10), True)
    _append(sqlite_db, slug, [typo, fixed], [0], projector)
    projector.catch_up()
    with sqlite_db.connect() as conn:
        r = get_reconciliation(conn, slug, "NA-1", 1)
        tally = live_tally(conn, slug, constituency="NA-1").constituencies()[0]
    assert r.state.value == "single_source"
    assert r.best is not None
    assert dict(r.best.sheet.votes) == {1: 300, 2: 200, 3: 10}
    assert tally.votes == (300, 200, 10)


def test_a_correction_by_someone_else_is_one_more_copy(sqlite_db: Database) -> None:
    slug = next(_SLUGS)
    create_tiny_election(sqlite_db, slug=slug)
    projector = Projector(sqlite_db)
    with sqlite_db.begin() as conn:
        first = ledger.append(conn, [_record(slug, 0, (1, 1, 1, (300, 200, 100), False), {})])[0]
        other = _record(slug, 1, (1, 1, 2, (300, 200, 10), True), {(1, 1, 2): first})
        ledger.append(conn, [other])
    projector.catch_up()
    with sqlite_db.connect() as conn:
        r = get_reconciliation(conn, slug, "NA-1", 1)
    assert r.state.value == "conflict"


def test_missing_stations_are_listed_and_pages_continue(sqlite_db: Database) -> None:
    slug = next(_SLUGS)
    create_tiny_election(sqlite_db, slug=slug, constituencies=1, stations=5)
    projector = Projector(sqlite_db)
    _append(sqlite_db, slug, [(1, s, 1, (10, 20, 30), False) for s in (1, 2, 3)], [], projector)
    projector.catch_up()
    with sqlite_db.connect() as conn:
        first = list_reconciliations(conn, slug, limit=2)
        assert first.next_after is not None
        rest = list_reconciliations(conn, slug, after=first.next_after, limit=2)
        missing = list_reconciliations(conn, slug, state="missing")
        unknown = pytest.raises(Exception, match="no such station")
        with unknown:
            get_reconciliation(conn, slug, "NA-1", 42)
    assert [r.serial for r in first.stations + rest.stations] == [1, 2, 3]
    assert rest.next_after is None
    assert [r.serial for r in missing.stations] == [4, 5]
    assert first.as_of == 3


def test_two_projectors_starting_on_a_fresh_database_do_not_collide(db: Database) -> None:
    """Both find no cursor row and both create it: the second waits for the first's lock instead of
    failing on the unique key (seen on PostgreSQL with two server processes starting at once)."""
    if db.dialect != "postgresql":
        pytest.skip("SQLite's first UPDATE already takes the write lock: no race to show")
    from pollwatch.storage import projections as proj_store

    first = db.engine.connect()
    first_tx = first.begin()
    assert proj_store.lock_cursor(first, "race") == 0  # created, not yet committed
    found: list[int | BaseException] = []

    def second() -> None:
        try:
            with db.begin() as conn:
                found.append(proj_store.lock_cursor(conn, "race"))
        except BaseException as exc:  # the failure this test is about
            found.append(exc)

    thread = threading.Thread(target=second)
    thread.start()
    time.sleep(0.5)  # the second now waits on the first's uncommitted row
    first_tx.commit()
    first.close()
    thread.join(timeout=10)
    assert found == [0]
