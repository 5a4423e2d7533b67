"""Commands for results: ``tally``, ``reconcile``, ``pvt``, ``audit``, ``parliament``, ``repoll``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from pollwatch.audit.service import AuditReport, audit_election, repoll_election
from pollwatch.audit.views import audit_stored
from pollwatch.cli.common import DbOption, FormatOption, OutputFormat, console, emit, handled, open_db
from pollwatch.errors import InputError
from pollwatch.parliament.apportion import Rounding
from pollwatch.parliament.seats import Joins
from pollwatch.parliament.service import parliament_report
from pollwatch.storage import Database
from pollwatch.tally.inputs import ResultsInput
from pollwatch.tally.projector import Projector
from pollwatch.tally.report import Level, project, reconciliation_rows, tally_document, tally_rows
from pollwatch.tally.service import tally_election
from pollwatch.tally.views import (
    best_input,
    constituency_input,
    declared_input,
    live_tally,
    stored_reconciliation,
)

DatasetOption = Annotated[
    str | None, typer.Option("--dataset", help="Read a dataset (e.g. pakistan-2018) from files, no database.")
]
DataDirOption = Annotated[Path | None, typer.Option("--data-dir", help="Folder holding the datasets.")]
ElectionOption = Annotated[
    str | None, typer.Option("--election", help="Election slug in the database (or --dataset).")
]
AssemblyOption = Annotated[str | None, typer.Option("--assembly", help="Only this assembly (NA, PP, ...).")]


def register(app: typer.Typer) -> None:
    for name, command in (
        ("tally", tally),
        ("reconcile", reconcile),
        ("pvt", pvt),
        ("audit", audit),
        ("parliament", parliament),
        ("repoll", repoll),
    ):
        app.command(name)(command)


def stored(dataset: str | None, election: str | None, db: str | None) -> Database | None:
    """The database of a stored election (``--election``), its projections caught up with the log;
    None when the results come from dataset files (``--dataset``)."""
    if (dataset is None) == (election is None):
        raise InputError(
            "say where the results are",
            expected="exactly one of --dataset NAME or --election SLUG",
            found=f"--dataset {dataset!r} --election {election!r}",
        )
    if election is None:
        return None
    database = open_db(db)
    Projector(database).catch_up()
    return database


def load_input(dataset: str | None, data_dir: Path | None) -> ResultsInput:
    """Read an election from dataset files."""
    from pollwatch import config
    from pollwatch.datasets import read

    return ResultsInput.of(read(str(dataset), config.shared_data_dir(data_dir)))


def tally(
    dataset: DatasetOption = None,
    data_dir: DataDirOption = None,
    election: ElectionOption = None,
    db: DbOption = None,
    level: Annotated[Level, typer.Option(help="constituency, region or nation.")] = Level.CONSTITUENCY,
    constituency: Annotated[str | None, typer.Option(help="Only this constituency.")] = None,
    assembly: AssemblyOption = None,
    turnout_cap: Annotated[float, typer.Option(help="Turnout cap for 'decided under cap'.")] = 0.75,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """Tally the best current station figures: coverage, leader, margin, decided."""
    with handled():
        database = stored(dataset, election, db)
        if database is not None and election is not None:
            with database.connect() as conn:
                live = live_tally(conn, election, turnout_cap=turnout_cap, assembly=assembly)
        else:
            inp = load_input(dataset, data_dir).only(assembly)
            live = tally_election(inp, turnout_cap=turnout_cap).tally
        rows = tally_rows(live, level, constituency=constituency)
        emit(
            rows,
            fmt,
            title=f"tally ({level.value})",
            document=tally_document(live, constituency=constituency),
        )


def reconcile(
    dataset: DatasetOption = None,
    data_dir: DataDirOption = None,
    election: ElectionOption = None,
    db: DbOption = None,
    constituency: Annotated[str | None, typer.Option(help="Only this constituency.")] = None,
    state: Annotated[str | None, typer.Option(help="Only stations in this state (e.g. conflict).")] = None,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """Reconcile every copy of each station's sheet: state, best figure and conflicting fields."""
    with handled():
        database = stored(dataset, election, db)
        if database is not None and election is not None:
            with database.connect() as conn:
                items = stored_reconciliation(conn, election, constituency=constituency, state=state)
        else:
            inp = load_input(dataset, data_dir).only(None, constituency=constituency)
            items = reconciliation_rows(tally_election(inp), state=state)
        emit([_reconciliation_row(r) for r in items], fmt, title="reconciliation", document=items)


def pvt(
    seed: Annotated[str, typer.Option(help="The published seed of the sample.")],
    size: Annotated[int, typer.Option(help="Number of stations to sample.")],
    dataset: DatasetOption = None,
    data_dir: DataDirOption = None,
    election: ElectionOption = None,
    db: DbOption = None,
    assembly: AssemblyOption = None,
    constituency: Annotated[str | None, typer.Option(help="Project one constituency's candidates.")] = None,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """Project party (or one constituency's candidate) shares and turnout from a published-seed sample."""
    with handled():
        database = stored(dataset, election, db)
        if database is not None and election is not None:
            with database.connect() as conn:
                inp = best_input(conn, election).only(assembly)
        else:
            inp = load_input(dataset, data_dir).only(assembly)
        p = project(inp, seed=seed, size=size, constituency=constituency)
        emit(p.document["shares"], fmt, title=f"PVT seed={seed}", document=p.document)


def audit(
    dataset: DatasetOption = None,
    data_dir: DataDirOption = None,
    election: ElectionOption = None,
    db: DbOption = None,
    assembly: AssemblyOption = None,
    constituency: Annotated[str | None, typer.Option(help="Audit only this constituency.")] = None,
    kind: Annotated[list[str] | None, typer.Option(help="Only findings of this kind (repeatable).")] = None,
    save: Annotated[
        bool, typer.Option(help="Store the findings with the election (replacing an earlier audit's).")
    ] = False,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """Audit official results against the signed sheets and the country's legal rules."""
    with handled():
        if save and constituency is not None:
            raise InputError(
                "--save replaces the election's stored findings, so it needs the whole audit",
                expected="--save without --constituency",
                found=f"--constituency {constituency}",
            )
        database = stored(dataset, election, db)
        if database is not None and election is not None:
            with database.connect() as conn:
                report = audit_stored(
                    conn, election, assembly=assembly, constituency=constituency, kinds=kind or None
                )
        else:
            inp = load_input(dataset, data_dir).only(assembly)
            report = audit_election(inp, kinds=kind or None, constituency=constituency)
        if save:
            _save(report, election, db)
        rows = [
            {
                "kind": f.kind,
                "severity": f.severity.value,
                "where": f.where,
                "expected": f.expected,
                "found": f.found,
            }
            for f in report.findings
        ]
        emit(rows, fmt, title=f"audit of {report.election}", document=report.as_dict())


def parliament(
    dataset: DatasetOption = None,
    data_dir: DataDirOption = None,
    election: ElectionOption = None,
    db: DbOption = None,
    assembly: Annotated[
        str | None, typer.Option(help="Assembly code (NA, PP, ...); default: the first constituency's.")
    ] = None,
    joins: Annotated[
        Path | None, typer.Option(help="JSON {by_label: {...}, by_constituency: {...}}.")
    ] = None,
    contested: Annotated[
        list[str] | None, typer.Option(help="Party whose reserved-seat entitlement is disputed (repeatable).")
    ] = None,
    rounding: Annotated[
        Rounding, typer.Option(help="Reserved-seat rounding method.")
    ] = Rounding.LARGEST_REMAINDER,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """General seats by party, reserved seats under each legal reading, minimal winning coalitions."""
    with handled():
        database = stored(dataset, election, db)
        if database is not None and election is not None:
            with database.connect() as conn:
                inp = declared_input(conn, election)
        else:
            inp = load_input(dataset, data_dir)
        j = Joins.parse(joins.read_text()) if joins else None
        report = parliament_report(
            inp, assembly=assembly, joins=j, contested=contested or (), method=rounding
        )
        rows: list[dict[str, object]] = [
            {
                "reading": c.reading.value,
                "party": p,
                "party_name": report.party_names.get(p, p),
                "general": c.general.get(p, 0),
                "reserved": c.reserved.get(p, 0),
                "total": n,
            }
            for c in report.compositions
            for p, n in sorted(c.total.items(), key=lambda kv: (-kv[1], kv[0]))
        ] or [
            {"party": p, "party_name": report.party_names.get(p, p), "general": n}
            for p, n in report.general.by_party().most_common()
        ]
        emit(rows, fmt, title=f"{report.assembly} composition", document=report.as_dict())


def repoll(
    constituency: Annotated[str, typer.Option(help="Constituency code, e.g. NA-41.")],
    stations: Annotated[str, typer.Option(help="Station numbers or serials to re-poll, comma-separated.")],
    dataset: DatasetOption = None,
    data_dir: DataDirOption = None,
    election: ElectionOption = None,
    db: DbOption = None,
    counted: Annotated[
        bool, typer.Option(help="The declared totals include these stations' counted votes.")
    ] = False,
    turnout_cap: Annotated[float, typer.Option(help="Highest turnout assumed at the re-poll.")] = 1.0,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """Can re-polling these stations change the winner, and what swing would it take?"""
    with handled():
        database = stored(dataset, election, db)
        if database is not None and election is not None:
            with database.connect() as conn:
                inp = constituency_input(conn, election, constituency)
        else:
            inp = load_input(dataset, data_dir)
        wanted = [s.strip() for s in stations.split(",") if s.strip()]
        impact = repoll_election(inp, constituency, stations=wanted, counted=counted, turnout_cap=turnout_cap)
        rows = [
            {
                "candidate": int(c.candidate),
                "name": impact.names.get(c.candidate, ""),
                "party": impact.parties.get(c.candidate, ""),
                "needed": c.needed,
                "possible": c.possible,
                "needed_turnout": round(c.needed_turnout, 4),
            }
            for c in impact.challengers
        ]
        emit(rows, fmt, title=f"re-poll in {constituency}", document=impact.as_dict())


def _reconciliation_row(r: dict[str, Any]) -> dict[str, Any]:
    """One station as a flat row: its state and the leading candidate of its best figure, named."""
    row = {k: v for k, v in r.items() if k not in ("best_votes", "candidates", "conflicts")}
    top = max(r["candidates"] or [], key=lambda c: c["votes"], default=None)
    row["best_leader"] = top["position"] if top else None
    row["best_leader_name"] = top["name"] if top else None
    row["best_leader_party"] = top["party"] if top else None
    row["best_leader_votes"] = top["votes"] if top else None
    return row


def _save(report: AuditReport, election: str | None, db: str | None) -> None:
    if election is None:
        raise InputError(
            "--save stores findings with an election in the database",
            expected="--election SLUG",
            found="--dataset (files only)",
        )
    from pollwatch.storage.results import replace_findings

    with open_db(db).begin() as conn:
        n = replace_findings(conn, election, report.stored())
    console.print(f"stored {n} findings for {election}")
