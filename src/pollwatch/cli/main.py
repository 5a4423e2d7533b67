"""Entry point: ``pollwatch COMMAND``; every command has ``--help``."""

from __future__ import annotations

import typer

from pollwatch.cli import (
    data,
    enrol,
    forensics,
    imports,
    intake,
    ledger,
    observe,
    packs,
    projections,
    results,
    server,
    site,
    synth,
)

app = typer.Typer(
    name="pollwatch",
    help="Independent, verifiable election results: import, tally, audit, verify.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
for module in (
    data,
    imports,
    synth,
    intake,
    enrol,
    ledger,
    observe,
    packs,
    projections,
    results,
    forensics,
    server,
    site,
):
    module.register(app)

if __name__ == "__main__":  # pragma: no cover
    app()
