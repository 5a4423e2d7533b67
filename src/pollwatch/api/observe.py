"""Observation reads: an election's checklist forms, the incident taxonomy, the incidents reported.
Checklists and incidents are submitted as records (``POST /api/v1/records/checklist`` and ``/incident``)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from pollwatch.api.deps import ReadConn
from pollwatch.api.intake.state import caller
from pollwatch.observe import mission, views

router = APIRouter(prefix="/api/v1", tags=["observation"])


@router.get("/elections/{slug}/forms")
def get_forms(slug: str, conn: ReadConn) -> dict[str, Any]:
    """The current observation forms of the election's country, with questions in English and Urdu."""
    return views.forms_document(conn, slug)


@router.get("/incident-categories")
def get_incident_categories() -> dict[str, Any]:
    """The incident taxonomy: codes, groups, numeric SMS codes, English and Urdu."""
    return views.categories_document()


@router.get("/elections/{slug}/incidents")
def get_incidents(
    slug: str,
    conn: ReadConn,
    category: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict[str, Any]:
    """Incidents reported, newest first (submitters by pseudonymous key and organisation only)."""
    return views.incidents_document(conn, slug, category=category, limit=limit)


@router.get("/elections/{slug}/cases")
def get_cases(slug: str, conn: ReadConn) -> dict[str, Any]:
    """Cases of repression with their status history; people by reference, named only where published."""
    return views.cases_document(conn, slug)


@router.get("/elections/{slug}/shutdowns")
def get_shutdowns(slug: str, conn: ReadConn) -> dict[str, Any]:
    """Internet and phone shutdowns (STOP-style records)."""
    return views.shutdowns_document(conn, slug)


@router.get("/elections/{slug}/timeline")
def get_timeline(slug: str, conn: ReadConn) -> dict[str, Any]:
    """Incidents, case events and shutdowns in time order, each naming its leaf."""
    return views.timeline_document(conn, slug)


@router.get("/elections/{slug}/mission")
async def get_mission(slug: str, request: Request) -> dict[str, Any]:
    """Deployments, reports, silent observers, conflicts and accuracy: an admin's view of every
    organisation, a coordinator's of their own (names included: never public)."""
    principal = await caller(request)
    now = dt.datetime.now(dt.UTC)
    return await run_in_threadpool(mission.mission_for, request.app.state.db, slug, principal, now=now)
