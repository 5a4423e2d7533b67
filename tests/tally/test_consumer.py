"""A projector with a separate target (a read node's own SQLite file) following a primary's log: the
same projection as the primary's and as a batch, resumed from its cursor, rebuilt from the log alone,
batched per area, and restricted to some areas."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from typer.testing import CliRunner

from pollwatch.cli.main import app
from pollwatch.intake.testing import create_tiny_election
from pollwatch.storage import Database, projections
from pollwatch.tally import projector as projector_module
from pollwatch.tally.projector import Projector, StepReport
from pollwatch.tally.service import tally_election
from pollwatch.tally.views import list_reconciliations, live_tally
from tests.tally.test_projection import _append, _assert_same, _batch, _declare

runner = CliRunner()
_COPIES = [
    (c, s, who, (100 * s + who, 50 + c, 7), who == 1) for c in (1, 2) for s in (1, 2, 99) for who in (0, 1, 2)
]


@pytest.fixture(autouse=True)
def _structure_checked_every_step(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(projector_module, "STRUCTURE_EVERY", 0.0)


def _local(path: Path) -> Database:
    local = Database(f"sqlite:///{path}")
    local.upgrade()
    return local


@pytest.fixture
def local(tmp_path: Path) -> Iterator[Database]:
    """A read node's own database: a SQLite WAL file."""
    database = _local(tmp_path / "read-node.sqlite3")
    yield database
    database.dispose()


def _rows(db: Database, slug: str) -> tuple[Any, ...]:
    """What the read side shows: the tally and every station's reconciliation."""
    with db.connect() as conn:
        live = live_tally(conn, slug)
        stations = list_reconciliations(conn, slug, limit=1_000).stations
        return live.constituencies(), live.parties(), [s.as_dict() for s in stations]


def test_read_node_projection_equals_the_primarys_and_the_batch(db: Database, local: Database) -> None:
    create_tiny_election(db, slug="rn", constituencies=2, stations=2)
    primary, node = Projector(db), Projector(local, source=db)
    _append(db, "rn", _COPIES, [4, 9], node)
    _declare(db, "rn", {"NA-1": (300, 200, 21)})
    primary.catch_up()
    node.catch_up()
    assert _rows(local, "rn") == _rows(db, "rn")
    batch = tally_election(_batch(db, "rn"))
    with local.connect() as conn:
        assert live_tally(conn, "rn").constituencies() == batch.tally.constituencies()
    _assert_same(db, "rn")
    with local.connect() as conn:  # the node's own database holds the structure and the cursor
        assert projections.get_cursor(conn, "results") == len(_COPIES) + 1
        assert set(projections.list_constituency_ids(conn, 1)) == {"NA-1", "NA-2"}


def test_read_node_restarted_resumes_from_its_cursor(db: Database, tmp_path: Path) -> None:
    create_tiny_election(db, slug="rn", constituencies=2, stations=2)
    path = tmp_path / "node.sqlite3"
    first = _local(path)
    _append(db, "rn", _COPIES[:8], [3], Projector(first, source=db))
    with first.connect() as conn:
        applied_before = projections.get_cursor(conn, "results")
    first.dispose()  # the node is killed
    _append(db, "rn", _COPIES[8:], [], Projector(db))  # records keep arriving meanwhile
    again = _local(path)
    applied = Projector(again, source=db).catch_up()
    assert 0 < applied_before < 8
    assert applied == len(_COPIES) - applied_before  # only what it had not applied
    Projector(db).catch_up()
    assert _rows(again, "rn") == _rows(db, "rn")
    again.dispose()


def test_read_node_dropped_rebuilds_from_the_log_alone(db: Database, tmp_path: Path) -> None:
    create_tiny_election(db, slug="rn", constituencies=2, stations=2)
    path = tmp_path / "node.sqlite3"
    node = _local(path)
    _append(db, "rn", _COPIES, [2, 5, 11], Projector(node, source=db))
    Projector(node, source=db).catch_up()
    incremental = _rows(node, "rn")
    node.dispose()
    path.unlink()  # drop its file: structure, projections and cursor go with it
    fresh = _local(path)
    assert Projector(fresh, source=db).catch_up() == len(_COPIES)
    assert _rows(fresh, "rn") == incremental
    assert Projector(fresh, source=db).rebuild() == len(_COPIES)
    assert _rows(fresh, "rn") == incremental
    fresh.dispose()


def test_read_node_copies_structure_added_later(db: Database, local: Database) -> None:
    create_tiny_election(db, slug="rn", constituencies=1, stations=2)
    node = Projector(local, source=db)
    _append(db, "rn", _COPIES[:3], [], node)
    create_tiny_election(db, slug="rn-later", constituencies=1, stations=2)
    _append(db, "rn-later", _COPIES[:3], [], node)
    node.catch_up()
    Projector(db).catch_up()
    assert _rows(local, "rn-later") == _rows(db, "rn-later")


class _Idle:
    """Stands for a projector that is not running."""

    def step(self, *, batch: int | None = None) -> int:
        return 0


def test_a_step_writes_each_touched_row_once_per_area(sqlite_db: Database) -> None:
    create_tiny_election(sqlite_db, slug="rn", constituencies=2, stations=3)
    projector = Projector(sqlite_db)
    # Six copies of two stations of NA-1 and one copy of NA-2, in one step.
    copies = [(1, s, who, (10, 20, 30), False) for s in (1, 2) for who in (0, 1, 2)] + [
        (2, 1, 0, (1, 2, 3), False)
    ]
    _append(sqlite_db, "rn", copies, [], cast(Projector, _Idle()))
    projector.catch_up()
    assert projector.last == StepReport(leaves=7, areas=2, stations=3, constituencies=2)
    _assert_same(sqlite_db, "rn")


def test_a_consumer_restricted_to_areas_applies_only_theirs(db: Database, local: Database) -> None:
    create_tiny_election(db, slug="rn", constituencies=2, stations=2)
    node = Projector(local, source=db, areas={"NA-2"})
    _append(db, "rn", _COPIES, [], node)
    node.catch_up()
    Projector(db).catch_up()
    with local.connect() as conn:
        mine = live_tally(conn, "rn", constituency="NA-2").constituencies()
        assert live_tally(conn, "rn", constituency="NA-1").constituencies()[0].stations_reported == 0
    with db.connect() as conn:
        assert mine == live_tally(conn, "rn", constituency="NA-2").constituencies()


def test_projections_commands_take_a_read_nodes_database_apart_from_the_log(
    db: Database, local: Database
) -> None:
    """``pollwatch projections`` on a read node: --db names the log, --projections the node's database;
    the node's database alone is refused rather than shown ahead of its own (empty) log."""
    create_tiny_election(db, slug="rn", constituencies=2, stations=2)
    primary = Projector(db)
    _append(db, "rn", _COPIES, [], primary)
    primary.catch_up()
    log_url, node_url = (d.engine.url.render_as_string(hide_password=False) for d in (db, local))
    status = ["projections", "status", "--db", log_url, "--projections", node_url, "--format", "json"]
    before = json.loads(runner.invoke(app, status).stdout)
    assert before == [{"log_size": len(_COPIES), "applied": 0, "behind": len(_COPIES)}]
    caught = runner.invoke(app, ["projections", "catch-up", "--db", log_url, "--projections", node_url])
    assert caught.exit_code == 0, caught.output
    assert json.loads(runner.invoke(app, status).stdout)[0]["behind"] == 0
    assert _rows(local, "rn") == _rows(db, "rn")
    alone = runner.invoke(app, ["projections", "status", "--db", node_url])
    assert alone.exit_code == 1
    assert "--projections" in alone.output
    rebuilt = runner.invoke(app, ["projections", "rebuild", "--db", log_url, "--projections", node_url])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert f"rebuilt from {len(_COPIES)} leaves" in rebuilt.output
    assert _rows(local, "rn") == _rows(db, "rn")


@pytest.mark.parametrize(("rate", "paused"), [(1_000.0, True), (50.0, False)])
def test_the_projector_yields_while_leaves_arrive_faster_than_its_busy_rate(
    sqlite_db: Database, monkeypatch: pytest.MonkeyPatch, rate: float, paused: bool
) -> None:
    """Above ``busy_rate`` its thread works ``busy_duty`` of the time: after a step of 0.05 s at a 10 %
    duty it pauses 0.45 s; below, it takes the next step at once."""
    projector = Projector(sqlite_db, busy_rate=100.0, busy_duty=0.1)
    pauses: list[float | None] = []
    steps: list[int] = []

    def step(*, batch: int | None = None) -> int:
        window = projector.pace.window
        projector.pace.observe(0, now=0.0)
        projector.pace.observe(int(rate * window), now=window)  # `rate` leaves a second, one window long
        time.sleep(0.05)
        steps.append(1)
        if not paused or len(steps) >= 3:
            projector._stop.set()  # one step shows it took no pause; three end a projector that never pauses
        return 500

    def wait(timeout: float | None = None) -> bool:
        pauses.append(timeout)
        projector._stop.set()
        return True

    monkeypatch.setattr(projector, "step", step)
    monkeypatch.setattr(projector._stop, "wait", wait)
    projector._run()
    if paused:
        assert len(pauses) == 1
        assert pauses[0] is not None
        assert 0.05 * 9 <= pauses[0] < 2.0
    else:
        assert pauses == []
