"""Commands that serve pollwatch over HTTP: ``serve`` and ``demo``."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from pollwatch import config
from pollwatch.cli.common import DbOption, console, handled, open_db
from pollwatch.demo import prepare_demo
from pollwatch.storage import Database

HostOption = Annotated[str, typer.Option(help="Address to listen on.")]
PortOption = Annotated[int, typer.Option(help="Port to listen on.")]
WorkersOption = Annotated[
    int,
    typer.Option(min=1, max=64, help="Worker processes (2 on a 2-core machine doubles intake throughput)."),
]


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.command("demo")(demo)


def serve(
    db: DbOption = None, host: HostOption = "127.0.0.1", port: PortOption = 8000, workers: WorkersOption = 1
) -> None:
    """Serve the API (OpenAPI at /docs) and the web pages."""
    with handled():
        database = open_db(db)
    _serve(database, host, port, workers)


def demo(db: DbOption = None, host: HostOption = "127.0.0.1", port: PortOption = 8000) -> None:
    """Load the real 2018 election and a synthetic election night on its stations, then serve them."""
    with handled():
        database = open_db(db, migrate=True)
        for line in prepare_demo(database, data_dir=config.shared_data_dir(), say=console.print):
            console.print(line)
    _serve(database, host, port, 1)


def _serve(database: Database, host: str, port: int, workers: int) -> None:
    import uvicorn

    from pollwatch.api.app import create_app

    console.print(
        f"serving {database.safe_url} on http://{host}:{port}/  (API docs: http://{host}:{port}/docs)"
    )
    from pollwatch.api.protocol import GuardedProtocol, timeouts

    timeouts()  # refuse bad POLLWATCH_*_TIMEOUT settings before listening
    if workers == 1:
        uvicorn.run(create_app(database), host=host, port=port, log_level="warning", http=GuardedProtocol)
        return
    # Worker processes import the app themselves; they find the database through the environment.
    os.environ["POLLWATCH_DATABASE_URL"] = database.url
    uvicorn.run(
        "pollwatch.api.app:create_app_from_environment",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        log_level="warning",
        http=GuardedProtocol,  # header and body timeouts for slow clients (api/protocol.py)
    )
