"""The FastAPI application: API under /api/v1, pages at /, one error envelope everywhere."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from pollwatch import collector
from pollwatch.api import elections, errors, fieldapp, forensics, intake, ledger, observe, results
from pollwatch.api.edge import DeclaredContentTypes, SecurityHeaders, complete_openapi
from pollwatch.api.intake.state import lifespan as intake_lifespan
from pollwatch.storage import Database
from pollwatch.web import dashboard, pages, published, snapshots
from pollwatch.web import fieldapp as web_fieldapp
from pollwatch.web import intake as web_intake
from pollwatch.web import observe as web_observe

_STATIC = Path(__file__).resolve().parents[1] / "web" / "static"


def create_app(db: Database) -> FastAPI:
    """Build the app around an open, migrated database."""
    app = FastAPI(
        title="pollwatch",
        summary="Independent, verifiable election results.",
        version="0.1.0",
        lifespan=_lifespan,
        docs_url=None,  # served by web/dashboard.py from pinned local assets, never a CDN
        redoc_url=None,
    )
    app.state.db = db
    errors.install(app)
    for module in (elections, intake, ledger, results, forensics, observe, fieldapp):
        app.include_router(module.router)
    app.include_router(dashboard.router)
    app.include_router(pages.router)
    app.include_router(published.router)
    app.include_router(snapshots.router)
    app.include_router(web_intake.router)
    app.include_router(web_observe.router)
    app.include_router(web_fieldapp.router)
    app.mount("/static", StaticFiles(directory=_STATIC), name="static")
    app.openapi = complete_openapi(app)  # type: ignore[method-assign]
    app.add_middleware(DeclaredContentTypes, fastapi=app)
    app.add_middleware(SecurityHeaders)
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """The checkpoint publisher and the results projector run while the app serves."""
    async with ledger.lifespan(app), results.lifespan(app), intake_lifespan(app), dashboard.lifespan(app):
        yield


def create_app_from_environment() -> FastAPI:
    """The app on ``POLLWATCH_DATABASE_URL``: what each uvicorn worker process imports (``--workers``)."""
    db = Database()
    db.require_current()
    app = create_app(db)
    app.openapi()  # now, not in the first request that checks a body's declared media type (about 1 s)
    collector.set_for_serving()
    return app
