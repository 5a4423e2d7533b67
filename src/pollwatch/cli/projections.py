"""``pollwatch projections``: how far the results projections have followed the log, and rebuilding them."""

from __future__ import annotations

import time

import typer

from pollwatch.cli.common import DbOption, FormatOption, OutputFormat, emit, open_db, run
from pollwatch.tally.projector import Projector, status

projections_app = typer.Typer(
    help="The results projections kept from the log (docs/results.md).", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(projections_app, name="projections")


@projections_app.command("status")
def projections_status(db: DbOption = None, fmt: FormatOption = OutputFormat.TABLE) -> None:
    """Leaves in the log and leaves applied to the projections."""
    found = run(lambda: status(open_db(db)))
    emit([found], fmt, title="results projections")


@projections_app.command("catch-up")
def projections_catch_up(db: DbOption = None) -> None:
    """Apply every leaf not yet applied (a running server does this by itself)."""
    started = time.perf_counter()
    applied = run(lambda: Projector(open_db(db)).catch_up())
    typer.echo(f"applied {applied:,} leaves in {time.perf_counter() - started:.1f} s")


@projections_app.command("rebuild")
def projections_rebuild(db: DbOption = None) -> None:
    """Drop every projection row and replay the whole log (the projections hold no evidence of their own)."""
    started = time.perf_counter()
    applied = run(lambda: Projector(open_db(db)).rebuild())
    typer.echo(f"rebuilt from {applied:,} leaves in {time.perf_counter() - started:.1f} s")
