"""``pollwatch site export DIR``: the dashboard as static files for a plain file server or a mirror."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pollwatch.cli.common import DbOption, console, handled, open_db

site_app = typer.Typer(help="The public dashboard (docs/dashboard.md).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(site_app, name="site")


@site_app.command("export")
def site_export(
    directory: Annotated[Path, typer.Argument(help="Folder to write the static site into.")],
    db: DbOption = None,
    max_pages: Annotated[
        int | None, typer.Option(min=1, help="Stop after this many pages (default: every page).")
    ] = None,
) -> None:
    """Write every dashboard page (English and Urdu) and its assets as static files, with snapshot.json
    (SHA-256 of every file and the checkpoint the pages show)."""
    from fastapi.testclient import TestClient

    from pollwatch.api.app import create_app
    from pollwatch.site.export import STATIC_HEADER, export_site

    with handled():
        database = open_db(db)
        client = TestClient(create_app(database))  # in-process: no port, no background publisher

        def fetch(path: str) -> tuple[int, str, bytes]:
            response = client.get(path, headers={STATIC_HEADER: "1"})
            return response.status_code, response.headers.get("content-type", ""), response.content

        report = export_site(fetch, directory, max_pages=max_pages)
    console.print(
        f"wrote {report.pages:,} pages and {report.assets:,} assets ({report.bytes / 1e6:.1f} MB) to "
        f"{report.directory}; serve it with any static file server (`python -m http.server -d DIR`)"
    )
    for line in report.skipped[:20]:
        console.print(f"  skipped {line}")
