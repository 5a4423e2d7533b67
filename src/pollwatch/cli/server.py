"""Commands that serve pollwatch over HTTP: ``serve``."""

from __future__ import annotations

from typing import Annotated

import typer

from pollwatch.cli.common import DbOption, console, handled, open_db


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)


def serve(
    db: DbOption = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Serve the API (OpenAPI at /docs) and the web pages."""
    import uvicorn

    from pollwatch.api.app import create_app

    with handled():
        database = open_db(db)
    console.print(f"serving {database.safe_url} on http://{host}:{port}/")
    uvicorn.run(create_app(database), host=host, port=port, log_level="info")
