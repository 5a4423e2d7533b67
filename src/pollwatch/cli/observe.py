"""``pollwatch observe``: deploy observers, draw the PVT sample for them, and follow the mission."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from pollwatch.cli.common import DbOption, ElectionOption, FormatOption, OutputFormat, emit, open_db, run
from pollwatch.observe import mission
from pollwatch.observe.report import write_report

observe_app = typer.Typer(
    help="Observation missions: deployment, PVT sample, who reported (docs/observation.md).",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(observe_app, name="observe")


def _election(slug: str | None) -> str:
    if not slug:
        raise typer.BadParameter("say which election with --election SLUG")
    return slug


@observe_app.command("deploy")
def observe_deploy(
    file: Annotated[Path, typer.Argument(help="CSV: observer,constituency,station,shift.", exists=True)],
    election: ElectionOption = None,
    db: DbOption = None,
) -> None:
    """Deploy observers (by key id) to stations and shifts; all rows or none."""
    slug = _election(election)

    def work() -> int:
        database = open_db(db)
        wanted = mission.read_deployments(file.read_text(encoding="utf-8"))
        with database.begin() as conn:
            return mission.deploy(conn, slug, wanted, now=dt.datetime.now(dt.UTC))

    typer.echo(f"deployed {run(work):,} observers")


@observe_app.command("pvt-sample")
def observe_pvt_sample(
    seed: Annotated[str, typer.Option(help="The published seed the PVT draws with.")],
    size: Annotated[int, typer.Option(min=1, help="Stations in the sample.")],
    election: ElectionOption = None,
    db: DbOption = None,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """Flag the deployments at the PVT sample's stations; list sampled stations nobody covers."""
    slug = _election(election)

    def work() -> dict[str, object]:
        with open_db(db).begin() as conn:
            return mission.mark_pvt_sample(conn, slug, seed=seed, size=size)

    found = run(work)
    emit([found], fmt, title="PVT sample", document=found)


@observe_app.command("status")
def observe_status(
    election: ElectionOption = None,
    organisation: Annotated[str | None, typer.Option(help="Only this organisation's observers.")] = None,
    db: DbOption = None,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """Who is deployed where, what each reported, who is silent past a form's due time (names shown:
    this is the coordinators' view, never published)."""
    slug = _election(election)

    def work() -> dict[str, object]:
        with open_db(db).connect() as conn:
            return mission.mission_status(conn, slug, organisation=organisation, now=dt.datetime.now(dt.UTC))

    found = run(work)
    rows = found["deployments"]
    assert isinstance(rows, list)
    emit(rows, fmt, title=f"observers of {slug}", document=found)


@observe_app.command("report")
def observe_report(
    out: Annotated[Path, typer.Argument(help="Folder for report.html, report.pdf and report.json.")],
    election: ElectionOption = None,
    lang: Annotated[str, typer.Option("--lang", help="en or ur.")] = "en",
    db: DbOption = None,
) -> None:
    """A delegation's report: deployment, checklist figures with their denominators, incidents, cases and
    shutdowns, as HTML and PDF; report.json lists the log entries behind every figure."""
    slug = _election(election)
    files = run(lambda: write_report(open_db(db), slug, out, lang=lang))
    typer.echo(f"wrote {files.html}, {files.pdf} and {files.data}")
