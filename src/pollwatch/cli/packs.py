"""CLI of evidence packs: ``pollwatch pack export`` and ``pollwatch pack verify`` (docs/packs.md)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from pollwatch.cli.common import (
    DbOption,
    ElectionOption,
    FormatOption,
    OutputFormat,
    election_slug,
    handled,
    open_db,
)

# The pack's verification speaks the bundle's language: the same trust anchor and the same report.
from pollwatch.cli.ledger import QuorumOption, WitnessKeyOption, _anchor, _photo_source, _report
from pollwatch.errors import InputError

pack_app = typer.Typer(help="Evidence packs for tribunals: one constituency's case.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add this area's commands to the `pollwatch` app."""
    pack_app.command("export")(pack_export)
    pack_app.command("verify")(pack_verify)
    app.add_typer(pack_app, name="pack")


def _date(value: str | None, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise InputError(f"{option} is not a date", expected="YYYY-MM-DD", found=value) from exc


def _time(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InputError(
            "--generated-at is not a time", expected="2024-02-20T00:00:00Z", found=value
        ) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def pack_export(
    constituency: Annotated[str, typer.Argument(help="Constituency code, e.g. NA-46.")],
    out: Annotated[Path, typer.Argument(help="Directory to write (new or empty); OUT.zip is written too.")],
    lang: Annotated[str, typer.Option("--lang", help="Language of the pages: en or ur.")] = "en",
    gazette_date: Annotated[
        str | None,
        typer.Option("--gazette-date", help="Date the returned candidate was gazetted (YYYY-MM-DD)."),
    ] = None,
    generated_at: Annotated[
        str | None,
        typer.Option("--generated-at", help="The pack's stated time (default SOURCE_DATE_EPOCH, else now)."),
    ] = None,
    election: ElectionOption = None,
    db: DbOption = None,
) -> None:
    """Write one constituency's evidence pack: PDF and HTML, records, proofs, custody, keys."""
    from pollwatch.ledger.settings import load_settings
    from pollwatch.packs import export_pack

    with handled():
        election = election_slug(election, None)
        database = open_db(db)
        summary = export_pack(
            database,
            election,
            constituency,
            out,
            lang=lang,
            gazette_date=_date(gazette_date, "--gazette-date"),
            generated_at=_time(generated_at),
            photos=_photo_source(database, election),
            settings=load_settings(),
        )
    typer.echo(
        f"pack {summary.path} (and {summary.zip_path.name}): {summary.records} records, "
        f"{summary.stations} stations, {summary.photos} photos, {summary.discrepancies} discrepancies, "
        f"{summary.files} files"
    )


def pack_verify(
    pack: Annotated[Path, typer.Argument(help="Pack directory written by `pollwatch pack export`.")],
    log_key: Annotated[
        str | None,
        typer.Option("--log-key", help="The log's verifier key (vkey), obtained from the election."),
    ] = None,
    witness_key: WitnessKeyOption = None,
    quorum: QuorumOption = None,
    trust_pack_key: Annotated[
        bool, typer.Option("--trust-pack-key", help="Without --log-key, accept the key the pack ships.")
    ] = False,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """Check a pack with no server against keys you hold; print named checks; exit 1 if any failed."""
    from pollwatch.packs import verify_pack

    with handled():
        anchor = _anchor(log_key, witness_key, quorum, trust_pack_key)
    _report(verify_pack(pack, anchor), fmt, f"pack {pack}")
