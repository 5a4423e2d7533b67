"""CLI commands of evidence intake: tokens, submitters, device keys, revocation, CSV, records, photos."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pollwatch.auth import (
    Assignment,
    AuthRole,
    Principal,
    create_submitter,
    register_device,
    revoke_device,
    revoke_submitter,
)
from pollwatch.auth.phones import election_country, parse_phone
from pollwatch.cli.common import (
    AliasCommand,
    DbOption,
    ElectionAlias,
    ElectionOption,
    FormatOption,
    OutputFormat,
    election_slug,
    emit,
    handled,
    open_db,
)
from pollwatch.errors import Error, InputError, NotFoundError, Problem
from pollwatch.intake.csvfile import parse_csv
from pollwatch.intake.service import Accepted, Job, write_batch
from pollwatch.model import Channel, Role
from pollwatch.storage import Database, structure
from pollwatch.storage import devices as device_store
from pollwatch.storage import photos as photo_store
from pollwatch.storage import submitters as submitter_store

RoleOption = Annotated[
    AuthRole, typer.Option("--role", help="admin, coordinator, agent, observer, gateway or official.")
]
OrgOption = Annotated[str, typer.Option("--org", help="Party or observer organisation.")]
ElectionOpt = Annotated[str, typer.Option("--election", help="Election slug the assignments apply to.")]
ConstituencyOpt = Annotated[
    list[str] | None, typer.Option("--constituency", help="Constituency an agent may report on (repeat).")
]
StationOpt = Annotated[
    list[str] | None, typer.Option("--station", help="CONSTITUENCY:SERIAL station an agent may report on.")
]
OPERATOR = "cli-operator"


def register(app: typer.Typer) -> None:
    token = typer.Typer(help="API tokens (stored hashed; the secret is printed once).", no_args_is_help=True)
    token.command("create")(token_create)
    token.command("revoke")(token_revoke)
    app.add_typer(token, name="token")
    submitter = typer.Typer(help="Submitters: agents, observers and their devices.", no_args_is_help=True)
    submitter.command("add")(submitter_add)
    submitter.command("device")(submitter_device)
    app.add_typer(submitter, name="submitter")
    device = typer.Typer(help="Ed25519 device keys: list and revoke (register: `submitter device`).",
                         no_args_is_help=True)  # fmt: skip
    device.command("list")(device_list)
    device.command("revoke")(device_revoke)
    app.add_typer(device, name="device")
    app.command("submit-csv")(submit_csv)
    app.command("submit-records")(submit_records)
    app.command("photo-policy", cls=AliasCommand)(photo_policy)


def _assignments(
    election: str, constituency: list[str] | None, station: list[str] | None
) -> list[Assignment]:
    out = [Assignment(election, c) for c in constituency or []]
    for spec in station or []:
        code, _, serial = spec.rpartition(":")
        if not code or not serial.isdigit():
            raise InputError("bad --station", where="--station", expected="CONSTITUENCY:SERIAL", found=spec)
        out.append(Assignment(election, code, int(serial)))
    return out


def token_create(
    role: RoleOption,
    org: OrgOption = "",
    election: ElectionOpt = "",
    constituency: ConstituencyOpt = None,
    station: StationOpt = None,
    label: Annotated[str, typer.Option(help="A note for operators (not personal data).")] = "",
    db: DbOption = None,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """Create a pseudonymous submitter with a token; print the key id and the token (once)."""
    with handled():
        database = open_db(db)
        with database.begin() as conn:
            key_id, secret = create_submitter(
                conn,
                role=role,
                organisation=org,
                assignments=_assignments(election, constituency, station),
                label=label,
            )
    emit([{"key_id": key_id, "role": role.value, "organisation": org, "token": secret}], fmt)


def submitter_add(
    role: RoleOption,
    org: OrgOption = "",
    name: Annotated[str, typer.Option(help="Kept in an access-controlled table, never published.")] = "",
    phone: Annotated[str | None, typer.Option(help="For SMS; never published or logged.")] = None,
    election: ElectionOpt = "",
    constituency: ConstituencyOpt = None,
    station: StationOpt = None,
    db: DbOption = None,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """Register a submitter (agent, observer...) with contact details; print key id and token."""
    with handled():
        database = open_db(db)
        with database.begin() as conn:
            country = election_country(conn, election) if phone else None
            key_id, secret = create_submitter(
                conn,
                role=role,
                organisation=org,
                name=name,
                phone=parse_phone(phone, country=country) if phone else None,
                assignments=_assignments(election, constituency, station),
            )
    emit([{"key_id": key_id, "role": role.value, "organisation": org, "token": secret}], fmt)


def submitter_device(
    key_id: Annotated[str, typer.Argument(help="The submitter's key id (sub-...).")],
    public_key: Annotated[str, typer.Argument(help="ed25519:<base64 of the 32-byte public key>.")],
    db: DbOption = None,
) -> None:
    """Register an Ed25519 device key for a submitter."""
    with handled():
        database = open_db(db)
        with database.begin() as conn:
            row = submitter_store.get_submitter(conn, key_id=key_id)
            if row is None:
                raise NotFoundError("no such submitter", where="KEY_ID", found=key_id)
            device = register_device(conn, submitter_id=row.id, public_key=public_key)
    typer.echo(device)


def token_revoke(
    key_id: Annotated[str, typer.Argument(help="The submitter's key id (sub-...).")],
    db: DbOption = None,
) -> None:
    """Revoke every token of a submitter (a lost phone, a leaked token); nothing is deleted."""
    with handled():
        database = open_db(db)
        with database.begin() as conn:
            done = revoke_submitter(conn, key_id, by=None)
    who = f"{done.key_id} ({done.role}{', ' + done.organisation if done.organisation else ''})"
    typer.echo(f"revoked {done.tokens_revoked} active token(s) of {who}")
    typer.echo("running servers refuse them within 10 s")


def device_list(
    key_id: Annotated[str, typer.Argument(help="The submitter's key id (sub-...).")],
    db: DbOption = None,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """List a submitter's device keys with their fingerprints (what `device revoke` takes)."""
    with handled():
        database = open_db(db)
        with database.connect() as conn:
            row = submitter_store.get_submitter(conn, key_id=key_id)
            if row is None:
                raise NotFoundError("no such submitter", where="KEY_ID", found=key_id)
            devices = device_store.list_submitter_devices(conn, row.id)
    if fmt is not OutputFormat.TABLE:
        rows = [
            {"fingerprint": d.fingerprint, "public_key": d.public_key, "registered": d.created_at.isoformat(),
             "revoked": d.revoked}
            for d in devices
        ]  # fmt: skip
        emit(rows, fmt)
        return
    typer.echo(f"{len(devices)} device key(s) of {key_id}")
    for d in devices:  # one line each: a table would cut the fingerprint an operator must copy
        state = "revoked" if d.revoked else "active"
        typer.echo(f"{d.fingerprint}  {state:7}  {d.created_at:%Y-%m-%d %H:%M}  {d.public_key}")


def device_revoke(
    fingerprint: Annotated[
        str, typer.Argument(help="64 hex digits (`pollwatch device list`), or the ed25519:... key.")
    ],
    db: DbOption = None,
) -> None:
    """Revoke one device key: sheets it signs are refused from now on; nothing is deleted."""
    with handled():
        database = open_db(db)
        with database.begin() as conn:
            done = revoke_device(conn, fingerprint, by=None)
    state = "was already revoked" if done.already_revoked else "revoked"
    typer.echo(f"device key {done.fingerprint} of {done.owner_key_id} {state}")


def submit_csv(
    file: Annotated[Path, typer.Argument(help="CSV of sheets (layout in docs/intake.md).", exists=True)],
    election: Annotated[str | None, typer.Option(help="Election for rows without one.")] = None,
    submitter: Annotated[
        str, typer.Option(help="Submit as this key id (default: the CLI operator).")
    ] = OPERATOR,
    db: DbOption = None,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """Validate, store and log every sheet of a CSV in one transaction (all or nothing)."""
    with handled():
        database = open_db(db)
        principal = _principal(database, submitter)
        role = Role.ADMIN if principal.role is AuthRole.ADMIN else Role(principal.role.value)
        subs = parse_csv(file.read_bytes(), role=role, organisation=principal.organisation, election=election)
        accepted = _write_all(database, [Job(s, principal, Channel.CSV) for s in subs], first_row=2)
    rows = [
        {"submission_id": a.submission_id, "leaf_index": a.leaf_index, "checks": ",".join(a.checks)}
        for a in accepted
    ]
    emit(rows, fmt, title=f"{len(rows)} sheets accepted")


def submit_records(
    kind: Annotated[str, typer.Argument(help="Record kind: official, sheet, photo, ...")],
    file: Annotated[
        Path, typer.Argument(help="A JSON array of records, or one JSON record per line.", exists=True)
    ],
    submitter: Annotated[
        str, typer.Option(help="Submit as this key id (default: the CLI operator).")
    ] = OPERATOR,
    db: DbOption = None,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """Validate, store and log records of any kind in one transaction (all or nothing)."""
    from pollwatch.intake import kinds
    from pollwatch.intake.records import parse_records

    with handled():
        found = kinds.get_kind(kind)
        records = parse_records(found.schema, file.read_bytes())
        database = open_db(db)
        principal = _principal(database, submitter)
        jobs = [Job(record=r, principal=principal, channel=Channel.IMPORT) for r in records]
        accepted = _write_all(database, jobs, first_row=1)
    rows = [
        {"submission_id": a.submission_id, "kind": a.kind, "leaf_index": a.leaf_index,
         "checks": ",".join(a.checks), "duplicate": a.duplicate}
        for a in accepted
    ]  # fmt: skip
    emit(rows, fmt, title=f"{len(rows)} {kind} records accepted")


def _principal(database: Database, submitter: str) -> Principal:
    """The principal of a submitter key id; the CLI operator (an admin) is created on first use."""
    from pollwatch.auth.tokens import principal_for

    with database.begin() as conn:
        row = submitter_store.get_submitter(conn, key_id=submitter)
        if row is None and submitter == OPERATOR:
            row = submitter_store.create_submitter(conn, key_id=OPERATOR, role="admin", organisation="")
        if row is None:
            raise NotFoundError("no such submitter", where="--submitter", found=submitter)
        return principal_for(conn, row)


def _write_all(database: Database, jobs: list[Job], *, first_row: int) -> list[Accepted]:
    """Write every job in one transaction, or none: each refusal is listed by its row."""
    with database.begin() as conn:
        outcomes = write_batch(conn, jobs)
        accepted = [o for o in outcomes if isinstance(o, Accepted)]
        errors = [(n, o) for n, o in enumerate(outcomes) if isinstance(o, Error)]
        if errors:
            conn.rollback()
            raise InputError(
                f"{len(errors)} rows were refused; nothing was written",
                problems=[
                    Problem(
                        e.message,
                        where=f"row {n + first_row}" + (f" {e.problems[0].where}" if e.problems else ""),
                        expected=e.problems[0].expected if e.problems else "",
                        found=e.problems[0].found if e.problems else "",
                    )
                    for n, e in errors[:50]
                ],
            )
    return accepted


def photo_policy(
    election_arg: ElectionAlias = None,
    election: ElectionOption = None,
    publish: Annotated[
        bool | None, typer.Option("--publish/--no-publish", help="Publish photo files.")
    ] = None,
    db: DbOption = None,
) -> None:
    """Show or set whether an election publishes photo files (otherwise only their hashes)."""
    with handled():
        election = election_slug(election, election_arg)
        database = open_db(db)
        with database.begin() as conn:
            election_id, _ = structure.get_election(conn, election)
            if publish is not None:
                photo_store.set_publish_photos(conn, election_id, publish)
            current = photo_store.get_publish_photos(conn, election_id)
    typer.echo(f"{election}: photos {'published' if current else 'not published (hashes only)'}")
