"""Accepting a sheet: resolve, check, verify its signature, store it and log it in one transaction.

:func:`write_batch` takes several submissions and writes all that are acceptable in ONE transaction
(one fsync, one log append), returning for each either its acceptance or the error that refused it;
the batching writer (:mod:`pollwatch.intake.writer`) and the CLI both go through it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import rfc8785
from sqlalchemy import Connection

from pollwatch.auth import Principal, verify_may_submit
from pollwatch.auth.devices import fingerprint, parse_public_key, verify_signature
from pollwatch.auth.roles import AuthRole
from pollwatch.errors import (
    ConflictError,
    Error,
    ForbiddenError,
    InputError,
    ProblemList,
    StorageError,
)
from pollwatch.intake.checks import Capacity, booth_capacity, check_sheet, default_form
from pollwatch.intake.format import TOTAL_FIELDS, SheetSubmission, iso, signing_body
from pollwatch.ledger import records
from pollwatch.ledger import service as ledger_service
from pollwatch.model import (
    CandidateKey,
    Channel,
    ConstituencyCode,
    Provenance,
    ResultSheet,
    Role,
    SheetKind,
    StationNumber,
    Totals,
)
from pollwatch.storage import intake as store
from pollwatch.storage import structure

SOURCE = "intake"
_CONTEXT_TTL = 60.0


@dataclass(frozen=True)
class Job:
    """One submission waiting to be written, with who sent it and through which channel."""

    sub: SheetSubmission
    principal: Principal
    channel: Channel
    received_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))


@dataclass(frozen=True)
class Accepted:
    """A stored, logged submission (``duplicate``: a retry answered with the original)."""

    submission_id: str
    leaf_index: int
    sheet_id: int
    received_at: str
    checks: tuple[str, ...] = ()
    duplicate: bool = False


@dataclass
class Cache:
    """Elections and station contexts, reused across batches (structure barely changes on the night)."""

    elections: dict[str, tuple[int, str, Capacity | None]] = field(default_factory=dict)
    contexts: dict[tuple[int, str, int | None], tuple[float, store.StationContext]] = field(
        default_factory=dict
    )
    constituencies: dict[tuple[int, str], tuple[float, store.ConstituencyContext]] = field(
        default_factory=dict
    )


@dataclass(frozen=True)
class _Prepared:
    job: Job
    ctx: store.StationContext
    record: records.LeafRecord
    sheet: ResultSheet
    content_sha256: str
    failures: tuple[str, ...]
    details: dict[str, dict[str, str]]


@dataclass(frozen=True)
class _Later:
    """A second copy of a submission in the same batch: answered with the first copy's outcome."""

    first: int


def write_batch(conn: Connection, jobs: Sequence[Job], cache: Cache | None = None) -> list[Accepted | Error]:
    """Write every acceptable job in the caller's transaction; return an outcome per job, in order.

    Lookups are made for the whole batch at once (places, earlier submissions, signatures, device
    keys) and rows are inserted with one multi-row statement per table, so a batch costs a handful of
    statements and one commit whatever its size.
    """
    cache = cache if cache is not None else Cache()
    outcomes: list[Accepted | Error | _Later | None] = [None] * len(jobs)
    ready: list[tuple[int, _Prepared]] = []
    seen: dict[tuple[str, str], tuple[int, str]] = {}
    known = _prefetch(conn, jobs, cache)
    for n, job in enumerate(jobs):
        try:
            key = (job.principal.key_id, job.sub.submission_id)
            prepared = _prepare(conn, job, cache, known)
            if isinstance(prepared, Accepted):
                outcomes[n] = prepared
                continue
            if key in seen:
                first, content = seen[key]
                _same_content(content, prepared.content_sha256, job.sub.submission_id)
                outcomes[n] = _Later(first)
                continue
            seen[key] = (n, prepared.content_sha256)
            ready.append((n, prepared))
        except Error as exc:
            outcomes[n] = exc
    if ready:
        # Sheets first: the log append takes the log lock, held until commit, so only the log and
        # the submission rows (which need the leaf indices) are written while holding it.
        sheet_ids = store.insert_sheet_batch(conn, [(p.ctx, _with_extra(p)) for _, p in ready])
        indices = ledger_service.append(conn, [p.record for _, p in ready])
        rows = []
        for (n, p), index, sheet_id in zip(ready, indices, sheet_ids, strict=True):
            outcomes[n], row = _accepted(p, index, sheet_id)
            rows.append(row)
        store.insert_submissions(conn, rows)
    return [_resolve(o, outcomes) for o in outcomes]


@dataclass(frozen=True)
class _Known:
    """What the database already holds about a batch, fetched in one query per kind."""

    submissions: dict[tuple[str, str], store.SubmissionRow]
    signatures: set[str]
    devices: dict[str, int]
    owners: dict[int, str]
    """Submitter key of each leaf a job says it supersedes."""


def _prefetch(conn: Connection, jobs: Sequence[Job], cache: Cache) -> _Known:
    now = time.monotonic()
    missing: dict[int, set[tuple[str, int | None]]] = {}
    for job in jobs:
        try:
            election_id = _election(conn, job.sub.election, cache)[0]
        except Error:
            continue  # reported when the job itself is prepared
        place = (job.sub.constituency, None if job.sub.station is None else int(job.sub.station))
        hit = cache.contexts.get((election_id, *place))
        if hit is None or now - hit[0] >= _CONTEXT_TTL:
            missing.setdefault(election_id, set()).add(place)
    for election_id, places in missing.items():
        ballots = _constituencies(conn, cache, election_id, {code for code, _ in places}, now)
        for place, ctx in store.list_station_contexts(conn, election_id, places, ballots).items():
            cache.contexts[(election_id, *place)] = (now, ctx)
    devices = set()
    for job in jobs:
        if job.sub.device_key is not None:
            try:
                devices.add(fingerprint(parse_public_key(job.sub.device_key)))
            except Error:
                continue
    submissions, signatures = store.list_submissions(
        conn,
        {(j.principal.key_id, j.sub.submission_id) for j in jobs},
        {j.sub.signature for j in jobs if j.sub.signature},
    )
    return _Known(
        submissions=submissions,
        signatures=signatures,
        devices=store.list_device_owners(conn, devices),
        owners=store.list_leaf_owners(conn, {j.sub.supersedes for j in jobs if j.sub.supersedes is not None}),
    )


def _constituencies(
    conn: Connection, cache: Cache, election_id: int, codes: set[str], now: float
) -> dict[str, store.ConstituencyContext]:
    """Constituencies and their ballots, from the cache while fresh (they barely change on the night)."""
    out: dict[str, store.ConstituencyContext] = {}
    for code in codes:
        hit = cache.constituencies.get((election_id, code))
        if hit is not None and now - hit[0] < _CONTEXT_TTL:
            out[code] = hit[1]
    for code, found in store.list_constituency_contexts(conn, election_id, codes - set(out)).items():
        cache.constituencies[(election_id, code)] = (now, found)
        out[code] = found
    return out


def _resolve(outcome: object, outcomes: list[Accepted | Error | _Later | None]) -> Accepted | Error:
    if isinstance(outcome, _Later):
        first = outcomes[outcome.first]
        assert isinstance(first, Accepted)
        return Accepted(first.submission_id, first.leaf_index, first.sheet_id, first.received_at,
                        first.checks, duplicate=True)  # fmt: skip
    assert isinstance(outcome, Accepted | Error)
    return outcome


def _same_content(stored: str, new: str, submission_id: str) -> None:
    if stored != new:
        raise ConflictError(
            "this submission_id was already used for a different sheet",
            where="submission_id",
            expected=f"the same content as the first submission (sha256 {stored[:16]}...)",
            found=f"different content (sha256 {new[:16]}...) under {submission_id}",
            remedy="generate a new submission_id for a new sheet; to correct a sheet, set supersedes",
        )


def _prepare(conn: Connection, job: Job, cache: Cache, known: _Known) -> _Prepared | Accepted:
    sub, principal = job.sub, job.principal
    election_id, rule_pack, capacity = _election(conn, sub.election, cache)
    serial = None if sub.station is None else int(sub.station)
    _check_role(sub, principal)
    verify_may_submit(principal, election=sub.election, constituency=sub.constituency, station_serial=serial)
    ctx = _context(conn, election_id, sub, cache)
    form = sub.form or default_form(rule_pack, sub.kind)
    submitter_key, captured = _signer(conn, sub, principal, job.received_at, known)
    body = signing_body(
        sub, form=form, submitter_key=submitter_key, organisation=principal.organisation, captured_at=captured
    )
    try:
        signed = records.signed_bytes(body)
    except (rfc8785.CanonicalizationError, ValueError) as exc:
        raise InputError(
            "the sheet has text that cannot be encoded", expected="valid Unicode text", found=str(exc)[:100]
        ) from exc
    content = hashlib.sha256(signed).hexdigest()
    existing = known.submissions.get((principal.key_id, sub.submission_id))
    if existing is not None:
        _same_content(existing.content_sha256, content, sub.submission_id)
        return Accepted(sub.submission_id, existing.leaf_index, existing.sheet_id, iso(existing.received_at),
                        duplicate=True)  # fmt: skip
    if sub.signature is not None:
        verify_signature(parse_public_key(submitter_key), signed, sub.signature)
        if sub.signature in known.signatures:
            raise ConflictError(
                "this signature was already used by another submission (a replay)",
                where="signature",
                remedy="sign each submission freshly on the device",
            )
    _check_supersedes(sub, principal, known)
    votes = {int(k): v for k, v in sub.votes.items()}
    failures = check_sheet(
        votes, body["totals"], registered=ctx.registered, booths=ctx.booths, capacity=capacity,
        ballot=frozenset(ctx.candidates),
    )  # fmt: skip
    names = tuple(f.name for f in failures)
    received = iso(job.received_at)
    record = records.sheet_record(**body, received_at=received, signature=sub.signature, checks=names)
    details = {f.name: {"expected": f.expected, "found": f.found} for f in failures}
    sheet = _sheet(sub, ctx, form=form, submitter_key=submitter_key, principal=principal, job=job)
    return _Prepared(job, ctx, record, sheet, content, names, details)


def _check_supersedes(sub: SheetSubmission, principal: Principal, known: _Known) -> None:
    """A correction points at an earlier sheet of the same submitter (an admin may correct any)."""
    if sub.supersedes is None:
        return
    owner = known.owners.get(sub.supersedes)
    if owner is None or (owner != principal.key_id and principal.role is not AuthRole.ADMIN):
        raise InputError(
            "supersedes must name the leaf of one of your earlier sheets",
            where="supersedes",
            expected="the leaf_index of a sheet you submitted",
            found=str(sub.supersedes),
        )


def _election(conn: Connection, slug: str, cache: Cache) -> tuple[int, str, Capacity | None]:
    if slug not in cache.elections:
        election_id, election = structure.get_election(conn, slug)
        cache.elections[slug] = (election_id, election.rule_pack, booth_capacity(election.rule_pack))
    return cache.elections[slug]


def _check_role(sub: SheetSubmission, principal: Principal) -> None:
    if principal.role is AuthRole.ADMIN:
        return
    if sub.role.value != principal.role.value:
        raise ForbiddenError(
            "the sheet's role does not match your token",
            where="role",
            expected=principal.role.value,
            found=sub.role.value,
        )
    if sub.organisation and sub.organisation != principal.organisation:
        raise ForbiddenError(
            "the sheet's organisation does not match your token",
            where="organisation",
            expected=principal.organisation,
            found=sub.organisation,
        )


def _context(conn: Connection, election_id: int, sub: SheetSubmission, cache: Cache) -> store.StationContext:
    problems = ProblemList()
    level = sub.kind.level.value
    if level == "station" and sub.station is None:
        problems.add("a station-level sheet needs its station", where="station", expected="a station serial")
    # A consolidated statement may be sent row by row (Pakistan's Form-48 lists every station).
    if level == "constituency" and sub.station is not None and sub.kind is not SheetKind.CONSOLIDATED:
        problems.add("a constituency-level sheet has no station", where="station", found=sub.station)
    problems.raise_if_any("the sheet does not say where it is from; nothing was written")
    key = (election_id, sub.constituency, None if sub.station is None else int(sub.station))
    hit = cache.contexts.get(key)
    if hit is not None and time.monotonic() - hit[0] < _CONTEXT_TTL:
        ctx = hit[1]
    else:
        found = store.get_station_context(
            conn, election_id=election_id, constituency=sub.constituency,
            station_serial=None if sub.station is None else int(sub.station), station_number=None,
        )  # fmt: skip
        if found is None:
            what = "station" if sub.station is not None else "constituency"
            if sub.station is not None and not _constituency_known(conn, election_id, sub.constituency):
                what = "constituency"
            raise InputError(
                f"unknown {what}; nothing was written",
                where=what,
                expected=f"a {what} of election {sub.election}",
                found=sub.constituency + ("" if sub.station is None else f" station {sub.station}"),
            )
        ctx = found
        cache.contexts[key] = (time.monotonic(), ctx)
    unknown = sorted(int(k) for k in sub.votes if CandidateKey(int(k)) not in ctx.candidates)
    for position in unknown:
        problems.add(
            "unknown candidate",
            where=f"votes.{position}",
            expected="a ballot position on this ballot",
            found=str(position),
        )
    problems.raise_if_any("the sheet names candidates that are not on the ballot; nothing was written")
    return ctx


def _constituency_known(conn: Connection, election_id: int, code: str) -> bool:
    found = store.get_station_context(
        conn, election_id=election_id, constituency=code, station_serial=None, station_number=None
    )
    return found is not None


def _signer(
    conn: Connection, sub: SheetSubmission, principal: Principal, received: dt.datetime, known: _Known
) -> tuple[str, str]:
    """Return (submitter key for the leaf, captured_at text): the device key when the sheet is signed."""
    if sub.signature is None and sub.device_key is None:
        return principal.key_id, iso(sub.captured_at or received)
    problems = ProblemList()
    if sub.signature is None or sub.device_key is None:
        problems.add("a signed sheet needs both device_key and signature", where="signature")
    if sub.captured_at is None:
        problems.add("a signed sheet needs the captured_at it signed", where="captured_at")
    problems.raise_if_any("the signature fields are incomplete; nothing was written")
    assert sub.device_key is not None
    assert sub.captured_at is not None
    key_fingerprint = fingerprint(parse_public_key(sub.device_key))
    owner = known.devices.get(key_fingerprint)
    if owner != principal.submitter_id:
        stored = store.get_device_key(conn, key_fingerprint)
        if stored is not None and stored.revoked and stored.owner.id == principal.submitter_id:
            raise ForbiddenError(
                "this device key was revoked; nothing was written",
                where="device_key",
                expected="a device key registered to you and not revoked",
                found=f"revoked key {key_fingerprint}",
                remedy="register the new phone's key with `POST /api/v1/devices` and sign with it",
            )
        raise ForbiddenError(
            "the device key is not registered to you",
            where="device_key",
            expected="a device key registered with `POST /api/v1/devices` by this token",
            found=sub.device_key,
        )
    return sub.device_key, iso(sub.captured_at)


def _sheet(
    sub: SheetSubmission,
    ctx: store.StationContext,
    *,
    form: str,
    submitter_key: str,
    principal: Principal,
    job: Job,
) -> ResultSheet:
    return ResultSheet(
        kind=sub.kind,
        form=form,
        constituency=ConstituencyCode(sub.constituency),
        votes={CandidateKey(int(k)): v for k, v in sub.votes.items()},
        totals=Totals(**{name: getattr(sub.totals, name) for name in TOTAL_FIELDS}),
        provenance=Provenance(
            source=SOURCE,
            channel=job.channel,
            role=Role(sub.role.value),
            organisation=principal.organisation,
            submitter_key=submitter_key,
            received_at=job.received_at,
            captured_at=sub.captured_at or job.received_at,
            evidence_sha256=(sub.photo_sha256,) if sub.photo_sha256 else (),
        ),
        station=None if ctx.station_number is None else StationNumber(ctx.station_number),
        station_serial=ctx.station_serial,
    )


def _with_extra(p: _Prepared) -> ResultSheet:
    """The sheet row's extra: its submission and checks (its leaf index is in the submissions table)."""
    sub = p.job.sub
    extra: dict[str, object] = {"submission_id": sub.submission_id, "checks": list(p.failures)}
    if p.details:
        extra["check_details"] = p.details
    if sub.supersedes is not None:
        extra["supersedes"] = sub.supersedes
    return ResultSheet(**{**vars(p.sheet), "extra": extra})


def _accepted(p: _Prepared, index: int, sheet_id: int) -> tuple[Accepted, dict[str, object]]:
    sub = p.job.sub
    row = {
        "election_id": p.ctx.election_id,
        "submitter_key": p.job.principal.key_id,
        "submission_id": sub.submission_id,
        "content_sha256": p.content_sha256,
        "signature": sub.signature,
        "sheet_id": sheet_id,
        "leaf_index": index,
        "photo_sha256": sub.photo_sha256 or "",
        "channel": p.job.channel.value,
        "received_at": p.job.received_at,
    }
    accepted = Accepted(sub.submission_id, index, sheet_id, iso(p.job.received_at), p.failures)
    return accepted, row


def write_one(conn: Connection, job: Job, cache: Cache | None = None) -> Accepted:
    """Write one job in the caller's transaction, raising its error if it is refused."""
    outcome = write_batch(conn, [job], cache)[0]
    if isinstance(outcome, Error):
        raise outcome
    return outcome


def refused(exc: BaseException) -> Error:
    """Wrap an unexpected exception as a pollwatch Error for a waiting caller."""
    if isinstance(exc, Error):
        return exc
    return StorageError(
        "the submission could not be stored; nothing was written",
        found=type(exc).__name__,
        remedy="retry with the same submission_id (retries are idempotent)",
    )
