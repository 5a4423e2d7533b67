"""A read node: the public results reads served from projections it keeps in a database of its own.

Its consumer (:class:`~pollwatch.tally.projector.Projector` with a separate source) follows the log of
the primary or of a replica by index and writes the projections, the copied election structure and
its cursor to the node's own database (a SQLite WAL file by default); the routes here read only that
database. The node holds no key and takes no writes: any other method than GET or HEAD is refused
(405) with the error envelope, and intake, the log and the publisher are not mounted at all.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pollwatch.api import elections, errors, results
from pollwatch.api.edge import SecurityHeaders, complete_openapi
from pollwatch.background import ResultsJobs
from pollwatch.errors import Error
from pollwatch.storage import Database

_READS = frozenset({"GET", "HEAD", "OPTIONS"})
_NAMED = (b"x-pollwatch-node", b"read")


def create_read_app(db: Database, *, source: Database, areas: Collection[str] = ()) -> FastAPI:
    """The read node's app on its own migrated database ``db``, following ``source``'s log."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        jobs = ResultsJobs(db, source=source, areas=areas)
        jobs.start()
        try:
            yield
        finally:
            jobs.stop()

    app = FastAPI(
        title="pollwatch read node",
        summary="The public results reads, from projections this node keeps.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.db = db
    app.state.source = source
    errors.install(app)
    app.include_router(elections.router)
    app.include_router(results.router)
    app.openapi = complete_openapi(app)  # type: ignore[method-assign]
    app.add_middleware(ReadsOnly)
    app.add_middleware(SecurityHeaders)
    return app


class WriteRefused(Error):
    status = 405
    code = "method_not_allowed"


class ReadsOnly:
    """Refuse every request that could write (405 with the error envelope): a read node takes none.
    Every answer names the tier that gave it (``X-Pollwatch-Node: read``), for operators behind a
    balancer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in _READS:
            error = WriteRefused(
                f"a read node takes no {scope['method']} requests",
                remedy="send submissions to an API node; a read node serves the public results reads only",
            )
            response = errors.envelope_response(error, {"Allow": "GET, HEAD", "X-Pollwatch-Node": "read"})
            await response(scope, receive, send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def named(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()), _NAMED]}
            await send(message)

        await self.app(scope, receive, named)
