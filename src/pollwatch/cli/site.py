"""``pollwatch site export DIR``: the dashboard as static files for a plain file server or a mirror."""

from __future__ import annotations

import os
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
    """Write every dashboard page (English and Urdu), its assets and its open data (CSV and JSON of
    stations, sheets, tallies and findings) as static files, with snapshot.json (SHA-256 of every file
    and the checkpoint the pages show)."""
    from pollwatch.site.export import export_site
    from pollwatch.site.opendata import write_open_data
    from pollwatch.web.inprocess import site_factory

    with handled():
        database = open_db(db)
        directory.mkdir(parents=True, exist_ok=True)
        with database.reads() as conn:
            write_open_data(conn, directory)
        report = export_site(site_factory(database)(directory / "data"), directory, max_pages=max_pages)
    console.print(
        f"wrote {report.pages:,} pages and {report.assets:,} assets ({report.bytes / 1e6:.1f} MB) to "
        f"{report.directory}; serve it with any static file server (`python -m http.server -d DIR`)"
    )
    for line in report.skipped[:20]:
        console.print(f"  skipped {line}")


@site_app.command("snapshots")
def site_snapshots(
    directory: Annotated[
        Path, typer.Argument(help="Folder to keep snapshots in (DIR/current is the latest).")
    ],
    db: DbOption = None,
    every: Annotated[float, typer.Option(min=0, help="At most one snapshot per this many seconds.")] = 60.0,
    once: Annotated[bool, typer.Option(help="Write one snapshot of the latest checkpoint and stop.")] = False,
) -> None:
    """Follow the log's checkpoints and write the dashboard and its open data as a static snapshot at
    new ones (what the results process does when POLLWATCH_SNAPSHOT_DIR is set)."""
    from pollwatch.objects.settings import backend, open_object_store
    from pollwatch.site.snapshots import SnapshotWriter
    from pollwatch.web.inprocess import site_factory

    with handled():
        database = open_db(db)
        objects = open_object_store(directory) if backend() == "s3" else None  # S3: every snapshot too
        writer = SnapshotWriter(database, directory, site_factory(database), every=every, objects=objects)
        if once:
            written = writer.write_once()
            if written is None:
                console.print(f"no new checkpoint since the snapshot in {writer.current}")
            else:
                console.print(
                    f"wrote snapshot {written.checkpoint:,} ({written.report.pages:,} pages rendered, "
                    f"{written.report.reused:,} files taken unchanged) to {written.directory}"
                )
            return
        console.print(f"writing snapshots into {directory} (the latest is {writer.current}); Ctrl-C stops")
        # Started by the results process: stop with it (it sets its own pid here).
        parent = os.environ.get("POLLWATCH_BACKGROUND_PARENT", "")
        try:
            writer.run(alive=lambda: not parent.isdigit() or os.getppid() == int(parent))
        except KeyboardInterrupt:
            writer.stop()


@site_app.command("pages")
def site_pages(
    directory: Annotated[Path, typer.Argument(help="The folder of pages shared by the server's processes.")],
    db: DbOption = None,
) -> None:
    """Render the dashboard pages that the server's workers ask for into the folder they read them from
    (what the results process of `pollwatch serve` runs; it stops with that process)."""
    from pollwatch.site.shelf import Shelf, serve_wanted
    from pollwatch.web.inprocess import page_renderer

    with handled():
        database = open_db(db)
        shelf = Shelf(directory)
        parent = os.environ.get("POLLWATCH_BACKGROUND_PARENT", "")
        try:
            serve_wanted(
                shelf, page_renderer(database, shelf),
                alive=lambda: not parent.isdigit() or os.getppid() == int(parent),
            )  # fmt: skip
        except KeyboardInterrupt:
            pass
