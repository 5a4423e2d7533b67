"""Commands that create and fill the database: ``init``, ``elections``, ``constituencies``."""

from __future__ import annotations

from typing import Annotated

import typer

from pollwatch.cli.common import (
    AliasCommand,
    DbOption,
    ElectionAlias,
    ElectionOption,
    FormatOption,
    OutputFormat,
    console,
    election_slug,
    emit,
    handled,
    open_db,
)
from pollwatch.storage import structure


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("elections")(elections)
    app.command("constituencies", cls=AliasCommand)(constituencies)


def init(db: DbOption = None) -> None:
    """Create the database (or bring it up to date) by applying every migration."""
    with handled():
        database = open_db(db, migrate=True)
        console.print(f"database ready: {database.safe_url}")


def elections(db: DbOption = None, fmt: FormatOption = OutputFormat.TABLE) -> None:
    """List the elections stored in the database."""
    with handled():
        database = open_db(db)
        with database.connect() as conn:
            rows = [
                {
                    "slug": e.slug,
                    "country": e.country,
                    "date": e.date.isoformat(),
                    "name": e.name,
                    "rule_pack": e.rule_pack,
                }
                for _, e in structure.list_elections(conn)
            ]
        emit(rows, fmt, title="elections")


def constituencies(
    election_arg: ElectionAlias = None,
    election: ElectionOption = None,
    assembly: Annotated[str | None, typer.Option(help="Only this assembly (NA, PP, ...).")] = None,
    db: DbOption = None,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """List an election's constituencies with registered voters, stations and candidates."""
    with handled():
        election = election_slug(election, election_arg)
        database = open_db(db)
        with database.connect() as conn:
            eid, _ = structure.get_election(conn, election)
            rows = [
                {
                    "code": s.constituency.code,
                    "assembly": s.constituency.assembly,
                    "name": s.constituency.name,
                    "region": s.constituency.region,
                    "registered": s.constituency.registered.total,
                    "stations": s.stations,
                    "candidates": s.candidates,
                }
                for s in structure.list_constituencies(conn, eid, assembly=assembly)
            ]
        emit(rows, fmt, title=f"{election} constituencies")
