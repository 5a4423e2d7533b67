"""`pollwatch log restore`: append a mirror's missing entries to a restored database (runbook step 3)."""

from __future__ import annotations

from typing import Annotated

import typer

from pollwatch.cli.common import DbOption, handled, open_db
from pollwatch.ledger.note import parse_vkey
from pollwatch.ledger.restore import RestoreSummary, restore_log
from pollwatch.ledger.trust import TrustAnchor


def log_restore(
    mirror: Annotated[str, typer.Argument(help="Mirror directory, or the URL of a mirror or of /log.")],
    log_key: Annotated[
        str, typer.Option("--log-key", help="The log's verifier key (vkey) you hold; never the mirror's.")
    ],
    witness_key: Annotated[
        list[str] | None, typer.Option("--witness-key", help="A witness vkey you trust (repeatable).")
    ] = None,
    quorum: Annotated[
        int | None, typer.Option("--quorum", help="Witnesses that must have cosigned (default: all given).")
    ] = None,
    db: DbOption = None,
) -> None:
    """Append the entries a restored database lacks from a mirror, re-creating each record's rows, in one
    transaction; refuse a split view, a bad signature or quorum, or a tree that misses the checkpoint's
    root. Then run `pollwatch projections rebuild`."""
    from pollwatch.cli.ledger import fetch_from

    with handled():
        key = parse_vkey(log_key)
        witnesses = [parse_vkey(v) for v in witness_key or []]
        TrustAnchor(key, tuple(witnesses), quorum)  # refuses an impossible quorum before any work
        summary = restore_log(
            open_db(db), fetch_from(mirror), log_key=key, witnesses=witnesses, quorum=quorum
        )
    typer.echo(describe(summary))


def describe(s: RestoreSummary) -> str:
    """One paragraph saying what the restore did."""
    if s.ahead:
        return (
            f"the database is ahead of the mirror (size {s.before} > {s.size}) and agrees with it; "
            "nothing to restore"
        )
    lines = [
        f"log size {s.before} -> {s.size}: appended {s.appended} entries, re-created the rows of "
        f"{s.records} records ({s.log_only} leaves have no rows)",
        f"checkpoint of size {s.size} "
        + ("stored as the latest" if s.checkpoint_stored else "already the latest")
        + f"; cosigned by {', '.join(s.cosigned_by) or 'no witness checked (no --witness-key)'}",
    ]
    if s.unknown_devices:
        lines.append(
            f"{len(s.unknown_devices)} signing device(s) not registered here (their records keep the "
            "device key as submitter): " + ", ".join(s.unknown_devices[:5])
        )
    if s.appended:
        lines.append("next: pollwatch projections rebuild")
    return "\n".join(lines)
