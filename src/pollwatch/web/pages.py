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
    """The national page of the app's home election (``app.state.home_election``, the demo's night) or
    of the only election stored; else the list of elections."""
    stored = [e for _, e in structure.list_elections(conn)]
    home_slug = getattr(request.app.state, "home_election", None)
    request.state.page_vary = f"{home_slug}:{','.join(sorted(str(e.slug) for e in stored))}"
    if home_slug is not None and any(str(e.slug) == home_slug for e in stored):
        return dashboard.nation(request, conn, str(home_slug))
    if len(stored) == 1:
        return dashboard.nation(request, conn, str(stored[0].slug))
    return dashboard.render_page(
        request, conn, template="home.html", depth="area", build=lambda _: {"elections": stored}
    )
