"""Read endpoints for results: tally, reconciliation, projection, audit, parliament and re-poll."""

from __future__ import annotations

import threading
from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import Connection

from pollwatch.api.deps import ReadConn
from pollwatch.audit.service import audit_election, repoll_election
from pollwatch.parliament.apportion import Rounding
from pollwatch.parliament.seats import Joins
from pollwatch.parliament.service import parliament_report
from pollwatch.storage.results import load_election, results_version
from pollwatch.tally.inputs import ResultsInput
from pollwatch.tally.report import Level, project, reconciliation_rows, tally_document, tally_rows
from pollwatch.tally.service import tally_election

router = APIRouter(prefix="/api/v1/elections/{slug}", tags=["results"])

Assembly = Annotated[str | None, Query(max_length=16, description="Only this assembly (NA, PP, ...).")]


_CACHE: dict[tuple[str, str], tuple[tuple[int, int, int, int], ResultsInput]] = {}
_CACHE_SIZE = 4
_LOCK = threading.Lock()


def _input(conn: Connection, slug: str) -> ResultsInput:
    """The election's results, reloaded only when a sheet, station or candidate was added."""
    key = (f"{id(conn.engine)}:{conn.engine.url.render_as_string(hide_password=True)}", slug)
    version = results_version(conn, slug)
    with _LOCK:
        hit = _CACHE.get(key)
    if hit is not None and hit[0] == version:
        return hit[1]
    election, constituencies, stations, candidates, parties, sheets = load_election(conn, slug)
    inp = ResultsInput(election, constituencies, stations, candidates, parties, sheets)
    with _LOCK:
        if len(_CACHE) >= _CACHE_SIZE and key not in _CACHE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = (version, inp)
    return inp


@router.get("/tally")
def get_tally(
    slug: str,
    conn: ReadConn,
    assembly: Assembly = None,
    constituency: Annotated[str | None, Query(max_length=32)] = None,
    level: Level | None = None,
    turnout_cap: Annotated[float, Query(gt=0, le=1)] = 0.75,
) -> dict[str, Any]:
    """Coverage, leader, margin and decidedness per constituency, and votes and seats per party."""
    live = tally_election(_input(conn, slug).only(assembly), turnout_cap=turnout_cap).tally
    if level is not None:
        return {"level": level.value, "rows": tally_rows(live, level, constituency=constituency)}
    return tally_document(live, constituency=constituency)


@router.get("/reconciliation")
def get_reconciliation(
    slug: str,
    conn: ReadConn,
    constituency: Annotated[str | None, Query(max_length=32)] = None,
    state: Annotated[str | None, Query(max_length=32)] = None,
) -> list[dict[str, object]]:
    """Every station's copies reconciled: state, the rule's choice (candidates named) and the conflicts."""
    inp = _input(conn, slug).only(None, constituency=constituency)
    return reconciliation_rows(tally_election(inp), state=state)


@router.get("/pvt")
def get_pvt(
    slug: str,
    conn: ReadConn,
    seed: Annotated[str, Query(min_length=1, max_length=256)],
    size: Annotated[int, Query(gt=0, le=10_000_000)],
    assembly: Assembly = None,
    constituency: Annotated[str | None, Query(max_length=32)] = None,
) -> dict[str, Any]:
    """Party (or one constituency's candidate) shares and turnout projected from the published-seed
    sample, against the official result."""
    return project(
        _input(conn, slug).only(assembly), seed=seed, size=size, constituency=constituency
    ).document


@router.get("/audit")
def get_audit(
    slug: str,
    conn: ReadConn,
    assembly: Assembly = None,
    kind: Annotated[list[str] | None, Query()] = None,
    constituency: Annotated[str | None, Query(max_length=32)] = None,
) -> dict[str, object]:
    """Every finding of the official-result audit and the rule pack's legal checks."""
    inp = _input(conn, slug).only(assembly)
    return audit_election(inp, kinds=kind or None, constituency=constituency).as_dict()


@router.get("/parliament")
def get_parliament(
    slug: str,
    conn: ReadConn,
    assembly: Annotated[str | None, Query(max_length=16)] = None,
    contested: Annotated[list[str] | None, Query()] = None,
    joins: Annotated[str | None, Query(max_length=100_000, description="JSON Joins document")] = None,
    rounding: Rounding = Rounding.LARGEST_REMAINDER,
) -> dict[str, object]:
    """General seats by party, reserved seats under each reading and minimal winning coalitions."""
    j = Joins.parse(joins) if joins else None
    report = parliament_report(
        _input(conn, slug), assembly=assembly, joins=j, contested=contested or (), method=rounding
    )
    return report.as_dict()


@router.get("/repoll")
def get_repoll(
    slug: str,
    conn: ReadConn,
    constituency: Annotated[str, Query(max_length=32)],
    stations: Annotated[str, Query(max_length=10_000, description="Comma-separated numbers or serials")],
    counted: bool = False,
    turnout_cap: Annotated[float, Query(gt=0, le=1)] = 1.0,
) -> dict[str, object]:
    """Whether re-polling the named stations can change the declared winner, and the swing needed."""
    wanted = [s.strip() for s in stations.split(",") if s.strip()]
    impact = repoll_election(
        _input(conn, slug), constituency, stations=wanted, counted=counted, turnout_cap=turnout_cap
    )
    return impact.as_dict()
