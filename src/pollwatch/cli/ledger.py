"""CLI of the evidence log: keys, witnesses, checkpoints, offline bundles and receipts."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from pollwatch import config
from pollwatch.cli.common import DbOption, FormatOption, OutputFormat, emit, handled, open_db
from pollwatch.cli.log_restore import log_restore
from pollwatch.cli.log_status import log_status
from pollwatch.errors import InputError, VerificationError
from pollwatch.ledger import service
from pollwatch.ledger.bundle import PhotoSource
from pollwatch.ledger.mirror import db_fetch, dir_fetch, mirror_log, url_fetch
from pollwatch.ledger.mirror_verify import verify_mirror
from pollwatch.ledger.note import ALG_COSIGNATURE, ALG_ED25519, Verifier, load_signer, parse_vkey
from pollwatch.ledger.proof import fetch_receipt, parse_receipt, upgrade_receipt, verify_receipt
from pollwatch.ledger.publisher import collect_cosignatures
from pollwatch.ledger.settings import load_settings, log_key_path
from pollwatch.ledger.tiles import Fetch
from pollwatch.ledger.verify import BundleReport, TrustAnchor, verify_bundle
from pollwatch.storage import Database

bundle_app = typer.Typer(help="Offline bundles of the evidence log.", no_args_is_help=True)
log_app = typer.Typer(help="The evidence log: checkpoints, receipts, mirrors.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add this area's commands to the `pollwatch` app."""
    app.command("keygen")(keygen)
    app.command("witness")(witness)
    app.command("verify")(verify)
    app.command("verify-receipt")(verify_receipt_command)
    bundle_app.command("export")(bundle_export)
    app.add_typer(bundle_app, name="bundle")
    log_app.command("checkpoint")(log_checkpoint)
    log_app.command("receipt")(log_receipt)
    log_app.command("mirror")(log_mirror)
    log_app.command("verify-mirror")(log_verify_mirror)
    log_app.command("status")(log_status)  # cli/log_status.py
    log_app.command("restore")(log_restore)  # cli/log_restore.py
    app.add_typer(log_app, name="log")


def keygen(
    name: Annotated[str, typer.Argument(help="Key name: the log origin, or the witness's name.")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Private key file (refuses to overwrite).")
    ] = None,
    witness_key: Annotated[
        bool, typer.Option("--witness", help="A witness cosigning key (type 0x04).")
    ] = False,
) -> None:
    """Create an Ed25519 log or witness key; write the private key (mode 0600) and print the vkey."""
    with handled():
        default = config.home() / "keys" / "witness.key" if witness_key else log_key_path()
        path = out or default
        if path.exists():
            raise InputError(
                f"{path} already exists", remedy="choose another --out; keys are never overwritten"
            )
        signer = load_signer(path, name=name, alg=ALG_COSIGNATURE if witness_key else ALG_ED25519)
    typer.echo(signer.verifier().vkey)
    typer.echo(f"private key: {path} (keep it secret); verifier key: {path.with_suffix('.vkey')}", err=True)


def witness(
    log_key: Annotated[list[str], typer.Option("--log-key", help="Verifier key (vkey) of a log to follow.")],
    key_file: Annotated[
        Path, typer.Option("--key-file", help="This witness's private key (pollwatch keygen --witness).")
    ],
    origin: Annotated[
        list[str] | None, typer.Option("--origin", help="Origin of each log (default: the vkey's name).")
    ] = None,
    port: Annotated[int, typer.Option("--port", help="TCP port to listen on.")] = 7380,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    state: Annotated[
        Path | None, typer.Option("--state", help="State file (default beside the key).")
    ] = None,
) -> None:
    """Run a tlog-witness: cosign checkpoints proved consistent with the last one it saw."""
    from pollwatch.ledger.witness import Witness, serve

    with handled():
        signer = load_signer(key_file)
        if signer.alg != ALG_COSIGNATURE:
            raise InputError(
                "the witness key must be a cosignature key", remedy="pollwatch keygen NAME --witness"
            )
        verifiers = [parse_vkey(v) for v in log_key]
        origins = origin or [v.name for v in verifiers]
        if len(origins) != len(verifiers):
            raise InputError(
                "give one --origin per --log-key", expected=str(len(verifiers)), found=str(len(origins))
            )
        logs = dict(zip(origins, verifiers, strict=True))
        server = serve(
            Witness(signer, logs, state_file=state or key_file.with_suffix(".state.json")),
            host=host,
            port=port,
        )
    typer.echo(f"witness {signer.verifier().vkey} on http://{host}:{server.server_address[1]}/add-checkpoint")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        server.server_close()


def bundle_export(
    out: Annotated[Path, typer.Argument(help="Directory to write (new or empty).")],
    election: Annotated[
        str | None, typer.Option("--election", help="Election slug: its tallies and photo policy.")
    ] = None,
    db: DbOption = None,
) -> None:
    """Write a self-contained offline bundle: entries, tiles, checkpoints, keys, photos or hashes, tallies."""
    from pollwatch.ledger.bundle import export_bundle

    with handled():
        database = open_db(db)
        photos = _photo_source(database, election)
        summary = export_bundle(database, out, election=election, photos=photos, settings=load_settings())
    typer.echo(
        f"bundle {summary.path}: {summary.size} entries, {summary.checkpoints} checkpoints, "
        f"{summary.photos} photos of {summary.photo_hashes} hashes"
    )


def _photo_source(database: Database, election: str | None) -> PhotoSource | None:
    """The evidence store when the election publishes photos, else None (hashes only)."""
    if election is None:
        return None
    from pollwatch.evidence import open_evidence_store
    from pollwatch.intake import settings as intake_settings
    from pollwatch.storage import photos as photo_store
    from pollwatch.storage import structure

    with database.connect() as conn:
        election_id, _ = structure.get_election(conn, election)
        publish = photo_store.get_publish_photos(conn, election_id)
    return open_evidence_store(intake_settings.load().evidence_dir) if publish else None


WitnessKeyOption = Annotated[
    list[str] | None,
    typer.Option(
        "--witness-key", help="A witness vkey you trust (repeatable); replaces the copy's own list."
    ),
]
QuorumOption = Annotated[
    int | None, typer.Option("--quorum", help="Witnesses that must have cosigned (default: all given).")
]


def _anchor(
    log_key: str | None, witness_key: list[str] | None, quorum: int | None, trust: bool
) -> TrustAnchor:
    return TrustAnchor(
        log_key=parse_vkey(log_key) if log_key else None,
        witnesses=tuple(parse_vkey(v) for v in witness_key or []),
        quorum=quorum,
        trust_shipped_key=trust,
    )


def _report(report: BundleReport, fmt: OutputFormat, title: str) -> None:
    """Print what was trusted, the named checks and what the copy lacks; exit 1 if any check failed."""
    rows = [
        {
            "check": c.name,
            "result": "passed" if c.passed else "FAILED",
            "expected": c.expected,
            "found": c.found,
        }
        for c in report.checks
    ]
    trust = report.checks[0].found if report.checks else ""
    if fmt is OutputFormat.TABLE:
        typer.echo(f"trusted: {trust}")
    document = {"ok": report.ok, "trusted": trust, "checks": rows, "absent": list(report.absent)}
    emit(rows, fmt, title=title, document=document)
    if fmt is OutputFormat.TABLE:
        absent = report.absent
        typer.echo("complete: nothing referenced is absent" if not absent else f"absent ({len(absent)}):")
        for item in absent[:200]:
            typer.echo(f"  {item}")
        if len(absent) > 200:
            typer.echo(f"  ... and {len(absent) - 200} more (--format json lists all)")
    if not report.ok:
        raise typer.Exit(1)


def verify(
    bundle: Annotated[Path, typer.Argument(help="Bundle directory written by `pollwatch bundle export`.")],
    log_key: Annotated[
        str | None,
        typer.Option("--log-key", help="The log's verifier key (vkey), obtained from the election."),
    ] = None,
    witness_key: WitnessKeyOption = None,
    quorum: QuorumOption = None,
    trust_bundle_key: Annotated[
        bool,
        typer.Option("--trust-bundle-key", help="Without --log-key, accept the key the bundle ships."),
    ] = False,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """Check a bundle with no server against keys you hold; print named checks; exit 1 if any failed.

    Without --log-key the check only shows that the bundle agrees with itself, and fails unless
    --trust-bundle-key is given.
    """
    with handled():
        anchor = _anchor(log_key, witness_key, quorum, trust_bundle_key)
    _report(verify_bundle(bundle, anchor), fmt, f"bundle {bundle}")


def verify_receipt_command(
    receipt: Annotated[Path, typer.Argument(help="tlog-proof receipt file.")],
    log_key: Annotated[str, typer.Option("--log-key", help="The log's verifier key (vkey).")],
    witness_key: Annotated[
        list[str] | None, typer.Option("--witness-key", help="A witness vkey (repeatable).")
    ] = None,
    quorum: Annotated[
        int | None, typer.Option("--quorum", help="Witnesses needed (default: all given).")
    ] = None,
    entry: Annotated[
        Path | None, typer.Option("--entry", help="The entry's bytes (default: the one in the receipt).")
    ] = None,
    upgrade_from: Annotated[
        str | None,
        typer.Option(
            "--upgrade-from",
            help="The log's URL: fetch its newest receipt for this entry (with the witnesses' cosignatures"
            " that arrived since) and, if it verifies, save it as RECEIPT.upgraded.",
        ),
    ] = None,
) -> None:
    """Check one receipt offline: log signature, witness quorum, inclusion of the entry."""
    with handled():
        witnesses = [parse_vkey(v) for v in witness_key or []]
        text = receipt.read_text()
        if upgrade_from is not None:
            text = upgrade_receipt(text, fetch_receipt(upgrade_from, parse_receipt(text).index))
        data = entry.read_bytes() if entry is not None else None
        need = len(witnesses) if quorum is None else quorum
        try:
            report = verify_receipt(
                text, entry=data, log_key=parse_vkey(log_key), witnesses=witnesses, quorum=need
            )
        except VerificationError:
            typer.echo("receipt: FAILED", err=True)
            raise
    if upgrade_from is not None:
        saved = receipt.with_name(receipt.name + ".upgraded")
        saved.write_text(text)
        typer.echo(f"upgraded receipt saved as {saved}", err=True)
    typer.echo(
        f"receipt: passed: entry {report.index} is in {report.checkpoint.origin}"
        + f" at size {report.checkpoint.size}"
        + "".join(f"; cosigned by {name} at {t}" for name, t in sorted(report.witnesses.items()))
    )


def log_checkpoint(db: DbOption = None) -> None:
    """Sign a checkpoint now if the log grew, and print the latest checkpoint."""
    with handled():
        database = open_db(db)
        settings = load_settings()
        with service.signing_allowed(database) as allowed:  # on PostgreSQL, not while a publisher leads
            if allowed:
                service.sign_checkpoint(database, settings, allow_empty=True)
                collect_cosignatures(database, settings)
        sys.stdout.write(service.latest_checkpoint(database, settings, may_sign=False))


def log_receipt(
    index: Annotated[int, typer.Argument(help="Leaf index.")],
    db: DbOption = None,
) -> None:
    """Print the tlog-proof receipt of one entry."""
    with handled():
        database = open_db(db)
        sys.stdout.write(service.get_receipt(database, index, wait_seconds=0, settings=load_settings()))


def log_mirror(
    out: Annotated[Path, typer.Argument(help="Directory of the static tree: new, or a mirror to update.")],
    source: Annotated[
        str | None,
        typer.Option("--from", help="Copy from the log's URL (https://host/log) or a mirror directory."),
    ] = None,
    log_key: Annotated[
        str | None, typer.Option("--log-key", help="The log's verifier key (vkey); required with --from.")
    ] = None,
    witness_key: WitnessKeyOption = None,
    quorum: QuorumOption = None,
    db: DbOption = None,
) -> None:
    """Write or update a static tlog-tiles copy of /log/ that any web server can serve as a mirror.

    With --witness-key, a checkpoint without --quorum valid cosignatures is refused and only the
    cosignatures that verify are copied.
    """
    with handled():
        fetch, key = _mirror_source(source, log_key, db)
        witnesses = [parse_vkey(v) for v in witness_key or []]
        summary = mirror_log(fetch, out, log_key=key, witnesses=witnesses, quorum=quorum)
    cosigned = ", ".join(summary.cosigned_by) if witnesses else "not checked (no --witness-key)"
    typer.echo(
        f"mirror {summary.path}: size {summary.size}, {len(summary.written)} tiles written, "
        f"{summary.kept} kept, checkpoint {'written' if summary.checkpoint_written else 'unchanged'}; "
        f"log key {key.name} {key.fingerprint}; cosigned by {cosigned or 'none'}"
    )


def _mirror_source(source: str | None, log_key: str | None, db: str | None) -> tuple[Fetch, Verifier]:
    """The files to mirror and the key that must have signed them."""
    if source is None:
        settings = load_settings()
        key = parse_vkey(log_key) if log_key else settings.signer.verifier()
        return db_fetch(open_db(db), settings), key
    if not log_key:
        raise InputError("--from needs --log-key", remedy="pass the log's published verifier key (vkey)")
    return fetch_from(source), parse_vkey(log_key)


def fetch_from(source: str) -> Fetch:
    """The files of a mirror directory or of a mirror's or the log's URL."""
    if source.startswith(("http://", "https://")):
        return url_fetch(source)
    if not Path(source).is_dir():
        raise InputError(
            "no such mirror directory or URL", expected="a directory or https://host/log", found=source
        )
    return dir_fetch(Path(source))


def log_verify_mirror(
    source: Annotated[str, typer.Argument(help="Mirror directory, or the URL of a mirror or of /log.")],
    log_key: Annotated[str, typer.Option("--log-key", help="The log's verifier key (vkey).")],
    witness_key: WitnessKeyOption = None,
    quorum: QuorumOption = None,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """Check a mirror from its files alone: signature, witness quorum, every tile and entry, earlier
    checkpoints; exit 1 if any failed."""
    with handled():
        fetch, key = fetch_from(source), parse_vkey(log_key)
        witnesses = [parse_vkey(v) for v in witness_key or []]
        TrustAnchor(key, tuple(witnesses), quorum)  # refuses an impossible quorum before any work
    _report(verify_mirror(fetch, log_key=key, witnesses=witnesses, quorum=quorum), fmt, f"mirror {source}")
