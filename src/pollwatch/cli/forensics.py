"""``pollwatch forensics``: run the forensic tests on a dataset or a stored election, report, calibrate."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from pollwatch.cli.common import DbOption, FormatOption, OutputFormat, console, emit, handled, open_db
from pollwatch.errors import InputError
from pollwatch.forensics import DESCRIPTIONS, TESTS, StationTable, load_dataset
from pollwatch.forensics.calibration import CalibrationSettings, calibrate, write, write_json
from pollwatch.forensics.calibration import note as calibration_note
from pollwatch.forensics.checks import cross_race
from pollwatch.forensics.eforensics import Estimator as EforensicsEstimator
from pollwatch.forensics.eforensics import Model as EforensicsModel
from pollwatch.forensics.integer import NullMode, Weighting, integer_percentages
from pollwatch.forensics.result import ForensicResult
from pollwatch.forensics.sources import from_store
from pollwatch.forensics.spikes import Kernel, spikes

forensics_app = typer.Typer(
    name="forensics",
    help="Statistical election forensics with calibrated nulls (see docs/forensics.md).",
    no_args_is_help=True,
)

DatasetOption = Annotated[
    str | None,
    typer.Option("--dataset", help="NAME[:PART], e.g. russia-kobak:2011 (see `forensics datasets`)."),
]
DataDirOption = Annotated[
    Path | None, typer.Option("--data-dir", help="Folder of the shared datasets; default POLLWATCH_DATA_DIR.")
]
ElectionOption = Annotated[str | None, typer.Option("--election", help="Slug of an election in the store.")]
ReplicatesOption = Annotated[int, typer.Option("--replicates", help="Monte Carlo replicates / resamples.")]
SeedOption = Annotated[int, typer.Option("--seed", help="Random seed.")]


def register(app: typer.Typer) -> None:
    app.add_typer(forensics_app, name="forensics")


def _table(dataset: str | None, data_dir: Path | None, election: str | None, db: str | None) -> StationTable:
    if bool(dataset) == bool(election):
        raise InputError(
            "say which data to analyse",
            expected="exactly one of --dataset NAME[:PART] or --election SLUG (with --db)",
            found=f"--dataset {dataset!r}, --election {election!r}",
        )
    if election:
        return from_store(open_db(db), election)
    assert dataset is not None
    return load_dataset(dataset, data_dir=data_dir)


def _print(result: ForensicResult, fmt: OutputFormat) -> None:
    summary = result.summary()
    summary["calibration"] = calibration_note(result.test)
    rows = [{"field": k, "value": _cell(v)} for k, v in summary.items()]
    emit(rows, fmt, title=f"{result.test}: {result.dataset}", document=summary)


def _cell(value: Any) -> str:
    text = f"{value:.6g}" if isinstance(value, float) else str(value)
    return text if len(text) <= 300 else text[:300] + " ..."


def _generic(name: str) -> Callable[..., None]:
    def command(
        dataset: DatasetOption = None,
        data_dir: DataDirOption = None,
        election: ElectionOption = None,
        db: DbOption = None,
        replicates: ReplicatesOption = 1000,
        seed: SeedOption = 42,
        fmt: FormatOption = OutputFormat.TABLE,
    ) -> None:
        with handled():
            _print(TESTS[name](_table(dataset, data_dir, election, db), replicates, seed), fmt)

    command.__doc__ = f"Run `{name}`: {DESCRIPTIONS[name]}."
    return command


@forensics_app.command("integer-percentages")
def integer_command(
    dataset: DatasetOption = None,
    data_dir: DataDirOption = None,
    election: ElectionOption = None,
    db: DbOption = None,
    replicates: ReplicatesOption = 1000,
    seed: SeedOption = 42,
    mode: Annotated[NullMode, typer.Option("--mode", help="exact | binomial | legacy (Kobak's loop).")] = (
        NullMode.EXACT
    ),
    weighting: Annotated[Weighting, typer.Option("--weighting", help="What one station counts for.")] = (
        Weighting.STATIONS
    ),
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """Excess of whole-number turnout / leader share against the binomial null (Kobak et al. 2016)."""
    with handled():
        table = _table(dataset, data_dir, election, db)
        _print(
            integer_percentages(table, replicates=replicates, seed=seed, mode=mode, weighting=weighting), fmt
        )


@forensics_app.command("spikes")
def spikes_command(
    dataset: DatasetOption = None,
    data_dir: DataDirOption = None,
    election: ElectionOption = None,
    db: DbOption = None,
    replicates: ReplicatesOption = 1000,
    seed: SeedOption = 1,
    kernel: Annotated[
        Kernel, typer.Option("--kernel", help="r-density (as the spikes package) or exact.")
    ] = (Kernel.R_DENSITY),
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """Resampled kernel density spikes in the leader's share (Rozenas 2017); prints fraud_pct."""
    with handled():
        table = _table(dataset, data_dir, election, db)
        _print(spikes(table, resamples=replicates, seed=seed, kernel=kernel), fmt)


@forensics_app.command("eforensics")
def eforensics_command(
    dataset: DatasetOption = None,
    data_dir: DataDirOption = None,
    election: ElectionOption = None,
    db: DbOption = None,
    model: Annotated[
        EforensicsModel, typer.Option("--model", help="qbl (the package's default: unit effects) or bl.")
    ] = EforensicsModel.QBL,
    bootstrap: Annotated[int, typer.Option("--bootstrap", help="Bootstrap refits for pi's intervals.")] = 0,
    seed: SeedOption = 1,
    estimator: Annotated[
        EforensicsEstimator,
        typer.Option(
            "--estimator", help="ml, or mcmc: also the posterior under the package's priors (qbl; minutes)."
        ),
    ] = EforensicsEstimator.ML,
    draws: Annotated[
        int, typer.Option("--draws", help="MCMC draws per chain, after half as many warm-up.")
    ] = 2000,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """Fit the eforensics mixture (no, incremental, extreme fraud) by maximum likelihood (Mebane et al.)."""
    from pollwatch.forensics.eforensics import eforensics

    with handled():
        table = _table(dataset, data_dir, election, db)
        result = eforensics(
            table, model=model, bootstrap=bootstrap, seed=seed, estimator=estimator, draws=draws
        )
        summary = result.summary()
        rows = [{"field": k, "value": _cell(v)} for k, v in summary.items()]
        emit(rows, fmt, title=f"eforensics: {result.dataset}", document=summary)


for _name in TESTS:
    if _name not in ("integer-percentages", "spikes"):
        forensics_app.command(_name)(_generic(_name))


@forensics_app.command("cross-race")
def cross_race_command(
    dataset: DatasetOption = None,
    other: Annotated[str | None, typer.Option("--other", help="The concurrent race, NAME[:PART].")] = None,
    data_dir: DataDirOption = None,
    tolerance: Annotated[int, typer.Option(help="Ballot difference still accepted.")] = 0,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """Stations where two concurrent races report different numbers of ballots (same station order)."""
    with handled():
        first = _table(dataset, data_dir, None, None)
        second = _table(other, data_dir, None, None)
        _print(cross_race(first, second, tolerance=tolerance), fmt)


@forensics_app.command("datasets")
def datasets_command(fmt: FormatOption = OutputFormat.TABLE) -> None:
    """List the dataset names --dataset accepts."""
    from pollwatch.forensics.loaders import RUSSIA_YEARS

    rows = [
        {"dataset": "russia-kobak", "parts": ", ".join(RUSSIA_YEARS)},
        {"dataset": "uganda-uedp", "parts": "2011, 2016, 2021"},
        {"dataset": "venezuela-2024-actas", "parts": "v1"},
        {"dataset": "albania-2013-eftoolkit", "parts": "(none)"},
        {"dataset": "austria-nrw-ooe-tirol", "parts": "ooe-2002..2019, tirol-1994..2019"},
        {"dataset": "rozenas-spikes", "parts": "canada2011, russia2011"},
        {"dataset": "dc2010-eforensics", "parts": "(none)"},
    ]
    emit(rows, fmt, title="forensic datasets")


@forensics_app.command("battery")
def battery_command(
    dataset: DatasetOption = None,
    data_dir: DataDirOption = None,
    election: ElectionOption = None,
    db: DbOption = None,
    replicates: ReplicatesOption = 1000,
    seed: SeedOption = 42,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """Run every test and print one line each (JSON: every result in full)."""
    from pollwatch.forensics import run_battery

    with handled():
        results = run_battery(_table(dataset, data_dir, election, db), replicates=replicates, seed=seed)
        rows = [
            {
                "test": r.test,
                "flagged": r.flagged,
                "note": getattr(r, "reason", "") or calibration_note(r.test),
            }
            for r in results
        ]
        emit(rows, fmt, title="forensic battery", document=[r.summary() for r in results])


@forensics_app.command("report")
def report_command(
    out: Annotated[Path, typer.Option("--out", help="HTML file to write.")],
    dataset: DatasetOption = None,
    data_dir: DataDirOption = None,
    election: ElectionOption = None,
    db: DbOption = None,
    replicates: ReplicatesOption = 1000,
    seed: SeedOption = 42,
) -> None:
    """Write a self-contained HTML report: every test, its result, caveats, calibration and plots."""
    from pollwatch.forensics import run_battery
    from pollwatch.reports import render_report

    with handled():
        table = _table(dataset, data_dir, election, db)
        html = render_report(table, run_battery(table, replicates=replicates, seed=seed))
        out.write_text(html, encoding="utf-8")
        console.print(f"wrote {out} ({len(html) // 1024} KiB)")


@forensics_app.command("calibrate")
def calibrate_command(
    out: Annotated[
        Path, typer.Option("--out", help="Markdown file whose calibration block is replaced.")
    ] = Path("docs/forensics.md"),
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the machine-readable calibration here.")
    ] = None,
    elections: Annotated[int, typer.Option(help="Clean synthetic elections.")] = 20,
    power_elections: Annotated[int, typer.Option(help="Synthetic elections per manipulation rung.")] = 20,
    stations: Annotated[int, typer.Option(help="Stations per synthetic election.")] = 5000,
    replicates: ReplicatesOption = 200,
    seed: SeedOption = 1000,
) -> None:
    """Measure false-positive rates and power and write the table into --out (takes minutes)."""
    with handled():
        settings = CalibrationSettings(
            elections=elections,
            power_elections=power_elections,
            stations=stations,
            replicates=replicates,
            seed=seed,
        )
        cal = calibrate(settings, progress=lambda msg: console.print(msg))
        write(cal, out)
        if json_out is not None:
            write_json(cal, json_out)
        console.print(f"wrote the calibration table into {out}")
