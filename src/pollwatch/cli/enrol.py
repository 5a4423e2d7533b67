"""``pollwatch enrol``: a one-time QR code with which an agent's or observer's phone enrols itself."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from pollwatch.auth.enrol import create_enrolment, payload_text, qr_svg
from pollwatch.cli.common import DbOption, ElectionOption, open_db, run
from pollwatch.ledger.settings import load_settings


def register(app: typer.Typer) -> None:
    app.command("enrol")(enrol_command)


def enrol_command(
    submitter: Annotated[str, typer.Option(help="Key id of the agent, observer or coordinator (sub_...).")],
    server: Annotated[str, typer.Option(help="The address phones reach this server at.")],
    election: ElectionOption = None,
    hours: Annotated[float, typer.Option(min=0.1, max=24 * 30, help="How long the code works.")] = 72.0,
    qr: Annotated[Path | None, typer.Option(help="Write the QR code as an SVG file here.")] = None,
    db: DbOption = None,
) -> None:
    """Make a one-time enrolment code for a submitter's phone and print its QR payload (the app generates
    its own key; the code gets it a token once, for ``--hours``)."""
    if not election:
        raise typer.BadParameter("say which election with --election SLUG")

    def work() -> dict[str, object]:
        database = open_db(db)
        log_key = load_settings().signer.verifier().vkey
        with database.begin() as conn:
            _, payload = create_enrolment(conn, submitter=submitter, election=election, server=server,
                                          log_key=log_key, now=dt.datetime.now(dt.UTC),
                                          valid_for=dt.timedelta(hours=hours))  # fmt: skip
        if qr is not None:
            qr.write_text(qr_svg(payload), encoding="utf-8")
        return payload

    typer.echo(payload_text(run(work)))
