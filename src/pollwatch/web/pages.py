"""HTML pages: the election overview listing constituencies."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from pollwatch.api.deps import ReadConn
from pollwatch.storage import structure

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


@router.get("/", response_class=HTMLResponse)
def home(request: Request, conn: ReadConn) -> HTMLResponse:
    """List elections; with one election, show its constituencies directly."""
    stored = structure.list_elections(conn)
    if len(stored) == 1:
        return election_page(request, conn, stored[0][1].slug, assembly=None)
    return templates.TemplateResponse(request, "home.html", {"elections": [e for _, e in stored]})


@router.get("/elections/{slug}", response_class=HTMLResponse)
def election_page(
    request: Request, conn: ReadConn, slug: str, assembly: str | None = Query(None)
) -> HTMLResponse:
    eid, election = structure.get_election(conn, slug)
    rows = structure.list_constituencies(conn, eid, assembly=assembly)
    assemblies = sorted({r.constituency.assembly for r in structure.list_constituencies(conn, eid)})
    totals = {
        "constituencies": len(rows),
        "registered": sum(r.constituency.registered.total or 0 for r in rows),
        "stations": sum(r.stations for r in rows),
    }
    return templates.TemplateResponse(
        request,
        "election.html",
        {
            "election": election,
            "rows": rows,
            "assemblies": assemblies,
            "assembly": assembly,
            "totals": totals,
        },
    )
