"""``pollwatch projections``: how far the results projections have followed the log, and rebuilding them."""

from __future__ import annotations

import time
from typing import Annotated, TypedDict

import typer

from pollwatch.cli.common import DbOption, FormatOption, OutputFormat, emit, open_db, run
from pollwatch.storage import Database
from pollwatch.tally.projector import Projector, status

projections_app = typer.Typer(
    help="The results projections kept from the log (docs/results.md).", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(projections_app, name="projections")


ProjectionsOption = Annotated[
    str | None,
    typer.Option(
        "--projections",
        help="The database holding the projections when it is not --db's: a read node's own "
        "(its --projections); --db is then the log it follows.",
    ),
]


@projections_app.command("status")
def projections_status(
    db: DbOption = None, projections: ProjectionsOption = None, fmt: FormatOption = OutputFormat.TABLE
) -> None:
    """Leaves in the log and leaves applied to the projections."""
    found = run(lambda: status(**_target(db, projections)))
    emit([found], fmt, title="results projections")


@projections_app.command("catch-up")
def projections_catch_up(db: DbOption = None, projections: ProjectionsOption = None) -> None:
    """Apply every leaf not yet applied (a running server or read node does this by itself)."""
    started = time.perf_counter()
    applied = run(lambda: Projector(**_target(db, projections)).catch_up())
    typer.echo(f"applied {applied:,} leaves in {time.perf_counter() - started:.1f} s")


@projections_app.command("rebuild")
def projections_rebuild(db: DbOption = None, projections: ProjectionsOption = None) -> None:
    """Drop every projection row and replay the whole log (the projections hold no evidence of their own)."""
    started = time.perf_counter()
    applied = run(lambda: Projector(**_target(db, projections)).rebuild())
    typer.echo(f"rebuilt from {applied:,} leaves in {time.perf_counter() - started:.1f} s")


class _Target(TypedDict):
    db: Database
    source: Database | None


def _target(db: str | None, projections: str | None) -> _Target:
    """The projections' database and, when it is not the log's, the log's (the ``source``)."""
    log = open_db(db)
    return {"db": log, "source": None} if projections is None else {"db": open_db(projections), "source": log}
