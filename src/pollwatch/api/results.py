"""Read endpoints for results: tally, reconciliation, projection, audit, parliament and re-poll."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query

from pollwatch.api.deps import ExpensiveConn, ReadConn, get_db
from pollwatch.audit.service import repoll_election
from pollwatch.audit.views import audit_document
from pollwatch.background import server_jobs
from pollwatch.parliament.apportion import Rounding
from pollwatch.parliament.seats import Joins
from pollwatch.parliament.service import parliament_report
from pollwatch.storage import Database
from pollwatch.tally.report import Level, project, tally_document, tally_rows
from pollwatch.tally.views import (
    best_input,
    constituency_input,
    declared_input,
    get_structure,
    list_reconciliations,
    live_tally,
)

router = APIRouter(prefix="/api/v1/elections/{slug}", tags=["results"])

Assembly = Annotated[str | None, Query(max_length=16, description="Only this assembly (NA, PP, ...).")]


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Keep the results projections and audits following the log while the app serves (unless a
    separate process does: :mod:`pollwatch.background`)."""
    with server_jobs(app.state.db):
        yield


@router.get("/tally")
def get_tally(
    slug: str,
    conn: ReadConn,
    assembly: Assembly = None,
    constituency: Annotated[str | None, Query(max_length=32)] = None,
    level: Level | None = None,
    turnout_cap: Annotated[float, Query(gt=0, le=1)] = 0.75,
) -> dict[str, Any]:
    """Coverage, leader, margin and decidedness per constituency, and votes and seats per party,
    from the projections (one constituency's row for ``level=constituency&constituency=...``)."""
    if level is Level.CONSTITUENCY and constituency is not None:
        one = live_tally(conn, slug, turnout_cap=turnout_cap, constituency=constituency)
        return {"level": level.value, "rows": tally_rows(one, level)}
    live = live_tally(
        conn,
        slug,
        turnout_cap=turnout_cap,
        assembly=assembly,
        constituency=constituency,
        only_constituency=False,
    )
    if level is not None:
        return {"level": level.value, "rows": tally_rows(live, level, constituency=constituency)}
    return tally_document(live, constituency=constituency)


@router.get("/reconciliation")
def get_reconciliation(
    slug: str,
    conn: ReadConn,
    constituency: Annotated[str | None, Query(max_length=32)] = None,
    station: Annotated[int | None, Query(ge=0, le=2**31, description="Serial in the polling scheme")] = None,
    state: Annotated[str | None, Query(max_length=32)] = None,
    after: Annotated[int, Query(ge=0, le=2**62, description="`next_after` of the previous page")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Stations' copies reconciled (state, the rule's choice, the conflicting fields), a page at a time."""
    page = list_reconciliations(
        conn, slug, constituency=constituency, serial=station, state=state, after=after, limit=limit
    )
    ballots = get_structure(conn, slug).ballots
    return {
        "stations": [r.as_dict(ballots=ballots) for r in page.stations],
        "next_after": page.next_after,
        "as_of": page.as_of,
    }


@router.get("/pvt")
def get_pvt(
    slug: str,
    conn: ExpensiveConn,
    seed: Annotated[str, Query(min_length=1, max_length=256)],
    size: Annotated[int, Query(gt=0, le=10_000_000)],
    assembly: Assembly = None,
    constituency: Annotated[str | None, Query(max_length=32)] = None,
) -> dict[str, Any]:
    """Party (or one constituency's candidate) shares and turnout projected from the published-seed
    sample, against the official result."""
    return project(
        best_input(conn, slug).only(assembly), seed=seed, size=size, constituency=constituency
    ).document


@router.get("/audit")
def get_audit(
    slug: str,
    db: Annotated[Database, Depends(get_db)],
    assembly: Assembly = None,
    constituency: Annotated[str | None, Query(max_length=32)] = None,
    kind: Annotated[list[str] | None, Query()] = None,
) -> dict[str, object]:
    """Every finding of the official-result audit and the rule pack's legal checks (one constituency's
    when ``constituency`` is given, current to its latest leaf); the whole election's answer names under
    ``stale`` the constituencies whose stored audit is older than their latest leaf."""
    return audit_document(db, slug, constituency=constituency, kinds=kind or None, assembly=assembly)


@router.get("/parliament")
def get_parliament(
    slug: str,
    conn: ExpensiveConn,
    assembly: Annotated[str | None, Query(max_length=16)] = None,
    contested: Annotated[list[str] | None, Query()] = None,
    joins: Annotated[str | None, Query(max_length=100_000, description="JSON Joins document")] = None,
    rounding: Rounding = Rounding.LARGEST_REMAINDER,
) -> dict[str, object]:
    """General seats by party, reserved seats under each reading and minimal winning coalitions."""
    j = Joins.parse(joins) if joins else None
    report = parliament_report(
        declared_input(conn, slug), assembly=assembly, joins=j, contested=contested or (), method=rounding
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
        constituency_input(conn, slug, constituency),
        constituency,
        stations=wanted,
        counted=counted,
        turnout_cap=turnout_cap,
    )
    return impact.as_dict()
