"""`pollwatch log status`: the log's size, latest checkpoint and each witness's record."""

from __future__ import annotations

import typer

from pollwatch.cli.common import DbOption, FormatOption, OutputFormat, emit, handled, open_db
from pollwatch.ledger.settings import load_public_settings
from pollwatch.storage.log import WitnessFailure


def log_status(db: DbOption = None, fmt: FormatOption = OutputFormat.TABLE) -> None:
    """Show the log's size, its latest checkpoint and each witness: last cosigned, recent failures."""
    from pollwatch.ledger.status import get_status

    with handled():
        with open_db(db).connect() as conn:
            status = get_status(conn, load_public_settings())
    rows = [
        {
            "witness": w.name,
            "fingerprint": w.fingerprint,
            "url": w.url,
            "cosigned latest": "yes" if w.cosigned_latest else "NO",
            "last cosigned size": "" if w.last_cosigned_size is None else w.last_cosigned_size,
            "last failure": _failure_text(w.failures[0]) if w.failures else "",
        }
        for w in status.witnesses
    ]
    failures = [
        {"witness": f.witness, "size": f.size, "url": f.url, "reason": f.reason, "attempts": f.attempts,
         "last_at": f.last_at.isoformat()}
        for f in status.recent_failures
    ]  # fmt: skip
    document = {
        "origin": status.origin,
        "size": status.size,
        "checkpoint_size": status.checkpoint_size,
        "witnesses": rows,
        "recent_failures": failures,
    }
    if fmt is OutputFormat.TABLE:
        typer.echo(
            f"log {status.origin}: {status.size} entries, latest checkpoint size {status.checkpoint_size}"
        )
        if not status.witnesses:
            typer.echo("no witnesses configured (POLLWATCH_WITNESSES)")
    emit(rows, fmt, title="witnesses", document=document)
    if fmt is OutputFormat.TABLE and failures:
        typer.echo("recent witness failures (newest first):")
        for f in status.recent_failures:
            typer.echo(f"  {_failure_text(f)}")


def _failure_text(f: WitnessFailure) -> str:
    return f"{f.witness} at size {f.size}: {f.reason} ({f.attempts}x, last {f.last_at:%Y-%m-%d %H:%M:%S})"
