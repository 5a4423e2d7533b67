"""``pollwatch synth``: create a synthetic election with optional injected manipulation."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from pollwatch.cli.common import DbOption, console, election_slug, handled, open_db
from pollwatch.errors import InputError
from pollwatch.synth import (
    Manipulation,
    ManipulationKind,
    SynthConfig,
    contests_from_store,
    from_universe,
    generate,
    store,
)


def register(app: typer.Typer) -> None:
    app.command("synth")(synth)


def parse_manipulation(text: str) -> Manipulation:
    """Parse ``kind:share[:strength]``, e.g. ``ballot_stuffing:0.05:0.5``."""
    parts = text.split(":")
    kinds = ", ".join(k.value for k in ManipulationKind)
    if len(parts) not in (2, 3) or parts[0] not in {k.value for k in ManipulationKind}:
        raise InputError(
            "cannot read --manipulate",
            where="--manipulate",
            found=text,
            expected=f"KIND:SHARE[:STRENGTH] with KIND one of {kinds}",
        )
    try:
        numbers = [float(p) for p in parts[1:]]
    except ValueError as exc:
        raise InputError(
            "share and strength must be numbers",
            where="--manipulate",
            found=text,
            expected="e.g. withheld:0.02 or ballot_stuffing:0.05:0.5",
        ) from exc
    return Manipulation(ManipulationKind(parts[0]), *numbers)


def synth(
    new_election: Annotated[
        str | None, typer.Option("--election", help="Slug of the new election; default synth-SEED.")
    ] = None,
    slug: Annotated[
        str | None, typer.Option("--slug", hidden=True, help="Old spelling of --election.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same election.")] = 0,
    stations: Annotated[int, typer.Option(help="Number of stations (without --universe).")] = 10_000,
    constituencies: Annotated[int, typer.Option(help="Number of constituencies (without --universe).")] = 50,
    candidates: Annotated[int, typer.Option(help="Candidates per constituency (without --universe).")] = 6,
    universe: Annotated[
        str | None,
        typer.Option(help="Build on a stored real election (e.g. pk-2018): its stations and totals."),
    ] = None,
    assembly: Annotated[
        str, typer.Option(help="Assembly of the real election to use with --universe.")
    ] = "NA",
    manipulate: Annotated[
        list[str] | None,
        typer.Option(
            help="Inject KIND:SHARE[:STRENGTH]; repeatable. Kinds: "
            + ", ".join(k.value for k in ManipulationKind)
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Generate a synthetic election (deterministic by --seed) and store it with its ground truth."""
    with handled():
        manipulations = tuple(parse_manipulation(m) for m in manipulate or [])
        database = open_db(db)
        slug = election_slug(new_election, slug) if new_election or slug else f"synth-{seed}"
        if universe:
            config = SynthConfig(seed=seed, manipulations=manipulations)
            election = from_universe(contests_from_store(database, universe, assembly=assembly), config)
            country, rule_pack, date = "PK", "pakistan", dt.date(2018, 7, 25)
        else:
            config = SynthConfig(
                seed=seed,
                n_stations=stations,
                n_constituencies=constituencies,
                n_candidates=candidates,
                manipulations=manipulations,
            )
            election = generate(config)
            country, rule_pack, date = "XX", "generic", dt.date(2030, 1, 1)
        with console.status(f"writing {election.n_stations:,} stations and every copy of their sheets"):
            result = store(
                database,
                election,
                slug=slug,
                country=country,
                rule_pack=rule_pack,
                date=date,
                name=f"Synthetic election {slug}" + (f" on the {universe} stations" if universe else ""),
            )
        console.print(
            f"stored {slug}: {result.stations:,} stations, {result.sheets:,} sheets; "
            f"ground truth in {result.truth_path}"
        )
