"""Commands for real data: ``import``, ``findings``, ``export`` and ``winners``."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from pollwatch import config
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
from pollwatch.datasets import GROUPS, NAMES, ImportReport, import_dataset
from pollwatch.datasets._registry import members
from pollwatch.datasets.export import ExportFormat, export_election
from pollwatch.datasets.winners import list_winners
from pollwatch.storage import datasets as stored
from pollwatch.storage import structure


def register(app: typer.Typer) -> None:
    app.command("import")(import_)
    app.command("findings", cls=AliasCommand)(findings)
    app.command("export", cls=AliasCommand)(export)
    app.command("winners", cls=AliasCommand)(winners)


_DATASET_HELP = f"One of {', '.join(NAMES)}; a group ({', '.join(GROUPS)}); or generic:<folder or .json>."


def import_(
    dataset: Annotated[str, typer.Argument(help=_DATASET_HELP)],
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="Folder holding one folder per dataset; default POLLWATCH_DATA_DIR."),
    ] = None,
    db: DbOption = None,
) -> None:
    """Import a real dataset (idempotent: the same files again write nothing)."""
    with handled():
        members(dataset)  # an unknown name fails before any database is created
        database = open_db(db, migrate=True)
        folder = config.shared_data_dir(data_dir)
        bar = _Bar()
        try:
            report = import_dataset(database, dataset, folder, progress=bar)
        finally:
            bar.stop()
        _summary(report)


class _Bar:
    """A rich progress bar that appears only when an import is still running after a second."""

    def __init__(self) -> None:
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self.task = self.progress.add_task("import", total=1)
        self.timer = threading.Timer(1.0, self.progress.start)
        self.timer.daemon = True
        self.timer.start()

    def __call__(self, stage: str, done: int, total: int) -> None:
        self.progress.update(self.task, description=stage, completed=done, total=max(total, 1))

    def stop(self) -> None:
        self.timer.cancel()
        self.timer.join()
        self.progress.stop()


def _summary(report: ImportReport) -> None:
    parts = report.parts or (report,)
    for part in parts:
        line = f"{part.dataset} -> {part.election}: {part.status}"
        if part.status == "already imported":
            line += " (same content SHA-256; nothing written)"
        console.print(line, highlight=False)
        for sub in part.parts:
            console.print(f"  (needed {sub.dataset}: {sub.status})", highlight=False)
    counts = {k: v for k, v in report.counts.items() if isinstance(v, int)}
    emit([{"what": k, "count": v} for k, v in counts.items()], OutputFormat.TABLE, title="counts")
    kinds = report.findings_by_kind
    if kinds:
        rows = [{"finding": k, "count": n} for k, n in kinds.items()]
        emit(rows, OutputFormat.TABLE, title="findings by kind")


def findings(
    election_arg: ElectionAlias = None,
    election: ElectionOption = None,
    kind: Annotated[str | None, typer.Option("--kind", help="Only findings of this kind.")] = None,
    db: DbOption = None,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """List the data-quality findings of an election (what imports noticed and did not fix)."""
    with handled():
        election = election_slug(election, election_arg)
        database = open_db(db)
        with database.connect() as conn:
            election_id, _ = structure.get_election(conn, election)
            rows = stored.list_findings_by_kind(conn, election_id, kind=kind)
        emit(rows, fmt, title=f"{election} findings" + (f" ({kind})" if kind else ""))


def export(
    out: Annotated[Path, typer.Option("--out", help="Folder to write one file per table into.")],
    election_arg: ElectionAlias = None,
    election: ElectionOption = None,
    fmt: Annotated[ExportFormat, typer.Option("--format", help="File format.")] = ExportFormat.CSV,
    db: DbOption = None,
) -> None:
    """Export an election as open data (constituencies, stations, candidates, parties, sheets, votes)."""
    with handled():
        election = election_slug(election, election_arg)
        database = open_db(db)
        with database.connect() as conn:
            written = export_election(conn, election, fmt=fmt, out=out)
        for table, path in written.items():
            console.print(f"{table}: {path}", highlight=False)


def winners(
    assembly: Annotated[str, typer.Option("--assembly", help="Assembly code: NA, PP, PS, PK, PB, ...")],
    election_arg: ElectionAlias = None,
    election: ElectionOption = None,
    label: Annotated[
        str | None, typer.Option("--label", help="Which final snapshot, when there are several.")
    ] = None,
    db: DbOption = None,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """Each contest's winner on the final result sheets, and seats per party."""
    with handled():
        election = election_slug(election, election_arg)
        database = open_db(db)
        with database.connect() as conn:
            seats = list_winners(conn, election, assembly=assembly, label=label)
        rows: list[dict[str, Any]] = [
            {
                "constituency": w.constituency,
                "name": w.name,
                "winner": w.candidate,
                "party": w.party,
                "votes": w.votes,
                "margin": w.margin,
                "tied": w.tied,
            }
            for w in seats.winners
        ]
        parties = [{"party": p, "seats": n} for p, n in seats.by_party.items()]
        document = {
            "election": seats.election,
            "assembly": seats.assembly,
            "label": seats.label,
            "contests": len(seats.winners),
            "seats_by_party": seats.by_party,
            "winners": rows,
        }
        if fmt is OutputFormat.TABLE:
            emit(rows, fmt, title=f"{election} {assembly} winners ({seats.label})")
            emit(parties, fmt, title=f"{len(seats.winners)} contests: seats by party")
        else:
            emit(rows, fmt, document=document)
