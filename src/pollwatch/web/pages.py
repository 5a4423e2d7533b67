"""The home page: the list of elections, or the nation's page when only one is stored."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from pollwatch.api.deps import ReadConn
from pollwatch.storage import structure
from pollwatch.web import dashboard

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
@router.get("/ur/", response_class=HTMLResponse)
@router.get("/ur", response_class=HTMLResponse)
def home(request: Request, conn: ReadConn) -> Response:
    """List elections; with one election, show its national page directly."""
    stored = [e for _, e in structure.list_elections(conn)]
    if len(stored) == 1:
        return dashboard.nation(request, conn, str(stored[0].slug))
    return dashboard.render_page(
        request, conn, template="home.html", depth="area", build=lambda: {"elections": stored}
    )
