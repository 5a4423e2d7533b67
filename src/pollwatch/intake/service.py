"""The submission core: any record kind through roles, signature, idempotency, privacy, store and log.

:func:`write_batch` takes several submissions of any registered kind (:mod:`pollwatch.intake.kinds`)
and writes all that are acceptable in ONE transaction (one fsync, one log append), returning for each
either its acceptance or the error that refused it; the batching writer
(:mod:`pollwatch.intake.writer`), the API, the web form, SMS and the CLI all go through it. A kind
supplies its schema, validation, leaf and rows; everything in this module is done once for all kinds:

1. the election and the roles check (the record's role is the token's; agents only where assigned);
2. the device signature (Ed25519 over ``signed_bytes`` of the kind's body; the key registered to the
   caller and not revoked), and that a signature is not replayed;
3. idempotency by (submitter key, submission id): a resend of the same content is answered with the
   original leaf, different content is a conflict. The content compared is the body as the submitter
   sent it: a ``captured_at`` the server filled in with the arrival time is not part of it;
4. the personal-data walk and canonical bytes of the leaf (:func:`pollwatch.ledger.records.canonical_bytes`);
5. the kind's rows, the log append and the ``submissions`` rows in the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

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
    ReplayError,
    StorageError,
    UnenrolledKeyError,
)
from pollwatch.intake import kinds
from pollwatch.intake.format import SheetSubmission, iso
from pollwatch.intake.kinds.base import (
    Batch,
    Cache,
    Draft,
    RecordInput,
    RecordKind,
    Signer,
    verify_captured_at,
)
from pollwatch.intake.kinds.photo import log_stored_photos
from pollwatch.ledger import records
from pollwatch.ledger import service as ledger_service
from pollwatch.model import Channel
from pollwatch.storage import devices as device_store
from pollwatch.storage import submissions as submission_store

SOURCE = "intake"

__all__ = ["Accepted", "Cache", "Job", "refused", "write_batch", "write_one"]


@dataclass(frozen=True, init=False)
class Job:
    """One submission waiting to be written, with who sent it and through which channel.

    ``Job(sheet, principal, channel)`` as ever for a sheet; ``Job(record=..., principal=..., channel=...)``
    for a record of any registered kind (the kind is found from the record's schema).
    """

    record: Any
    principal: Principal
    channel: Channel
    received_at: dt.datetime

    def __init__(
        self,
        sub: Any = None,
        principal: Principal | None = None,
        channel: Channel = Channel.API,
        received_at: dt.datetime | None = None,
        *,
        record: Any = None,
    ) -> None:
        if (sub is None) == (record is None) or principal is None:
            raise TypeError("Job needs one record (sub= or record=) and a principal")
        object.__setattr__(self, "record", record if record is not None else sub)
        object.__setattr__(self, "principal", principal)
        object.__setattr__(self, "channel", channel)
        object.__setattr__(self, "received_at", received_at or dt.datetime.now(dt.UTC))

    @property
    def sub(self) -> SheetSubmission:
        """The record as a sheet (the older name; TypeError for a record of another kind)."""
        if not isinstance(self.record, SheetSubmission):
            raise TypeError(f"this job holds a {type(self.record).__name__}, not a sheet")
        return self.record


@dataclass(frozen=True)
class Accepted:
    """A stored, logged submission (``duplicate``: a retry answered with the original).

    ``sheet_id`` is the id of the record's own row: its ``sheets`` row for sheets and official results.
    """

    submission_id: str
    leaf_index: int
    sheet_id: int
    received_at: str
    checks: tuple[str, ...] = ()
    duplicate: bool = False
    kind: str = "sheet"


@dataclass(frozen=True)
class _Prepared:
    job: Job
    kind: RecordKind
    draft: Draft
    leaf: records.LeafRecord
    data: bytes
    content_sha256: str


@dataclass(frozen=True)
class _Later:
    """A second copy of a submission in the same batch: answered with the first copy's outcome."""

    first: int


@dataclass(frozen=True)
class _Known:
    """What the database already holds about a batch, fetched in one query per kind."""

    submissions: dict[tuple[str, str], submission_store.SubmissionRow]
    signatures: set[str]
    devices: dict[str, int]


def write_batch(conn: Connection, jobs: Sequence[Job], cache: Cache | None = None) -> list[Accepted | Error]:
    """Write every acceptable job in the caller's transaction; return an outcome per job, in order.

    Lookups are made for the whole batch at once (places, earlier submissions, signatures, device
    keys) and rows are inserted with one multi-row statement per table, so a batch costs a handful of
    statements and one commit whatever its size.
    """
    batch = Batch(conn, cache if cache is not None else Cache())
    outcomes: list[Accepted | Error | _Later | None] = [None] * len(jobs)
    ready: list[tuple[int, _Prepared]] = []
    seen: dict[tuple[str, str], tuple[int, str]] = {}
    known = _prefetch(batch, jobs)
    for n, job in enumerate(jobs):
        try:
            key = (job.principal.key_id, job.record.submission_id)
            prepared = _prepare(batch, job, known)
            if isinstance(prepared, Accepted):
                outcomes[n] = prepared
                continue
            if key in seen:
                first, content = seen[key]
                _same_content(content, prepared.content_sha256, job.record.submission_id)
                outcomes[n] = _Later(first)
                continue
            seen[key] = (n, prepared.content_sha256)
            ready.append((n, prepared))
        except Error as exc:
            outcomes[n] = exc
    if ready:
        _store(conn, ready, outcomes)
    return [_resolve(o, outcomes) for o in outcomes]


def _store(conn: Connection, ready: list[tuple[int, _Prepared]], outcomes: list[Any]) -> None:
    # The kinds' rows first: the log append takes the log lock, held until commit, so only the log
    # and the submission rows (which need the leaf indices) are written while holding it.
    ids: dict[int, tuple[int | None, int | None]] = {}
    by_kind: dict[str, list[tuple[int, _Prepared]]] = {}
    for n, p in ready:
        by_kind.setdefault(p.kind.name, []).append((n, p))
    for group in by_kind.values():
        made = group[0][1].kind.rows(conn, [(p.job, p.draft) for _, p in group])
        ids.update(zip((n for n, _ in group), made, strict=True))
    indices = ledger_service.append(conn, [p.leaf for _, p in ready], encoded=[p.data for _, p in ready])
    rows = []
    for (n, p), index in zip(ready, indices, strict=True):
        record_id, sheet_id = ids[n]
        outcomes[n], row = _accepted(p, index, record_id, sheet_id)
        rows.append(row)
    submission_store.insert_submissions(conn, rows)
    named = [
        (p.job.record.election, p.job.record.photo_sha256, i)
        for (_, p), i in zip(ready, indices, strict=True)
    ]
    log_stored_photos(conn, named)


def _prefetch(batch: Batch, jobs: Sequence[Job]) -> _Known:
    by_kind: dict[str, tuple[RecordKind, list[Any]]] = {}
    devices = set()
    for job in jobs:
        try:
            kind = kinds.kind_of(job.record)
        except TypeError:
            continue  # refused when the job itself is prepared
        by_kind.setdefault(kind.name, (kind, []))[1].append(job.record)
        if job.record.device_key is not None:
            try:
                devices.add(fingerprint(parse_public_key(job.record.device_key)))
            except Error:
                continue
    for kind, recs in by_kind.values():
        kind.prefetch(batch, recs)
    submissions, signatures = submission_store.list_submissions(
        batch.conn,
        {(j.principal.key_id, j.record.submission_id) for j in jobs},
        {j.record.signature for j in jobs if j.record.signature},
    )
    return _Known(submissions, signatures, device_store.list_device_owners(batch.conn, devices))


def _resolve(outcome: object, outcomes: list[Accepted | Error | _Later | None]) -> Accepted | Error:
    if isinstance(outcome, _Later):
        first = outcomes[outcome.first]
        assert isinstance(first, Accepted)
        return Accepted(first.submission_id, first.leaf_index, first.sheet_id, first.received_at,
                        first.checks, duplicate=True, kind=first.kind)  # fmt: skip
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


def _prepare(batch: Batch, job: Job, known: _Known) -> _Prepared | Accepted:
    rec: RecordInput = job.record
    kind = _kind(job)
    info = batch.election(rec.election)  # an unknown election is refused before anything else
    verify_captured_at(rec.captured_at, info=info, received_at=job.received_at)
    _check_role(rec, job.principal)
    place = kind.place(rec)
    verify_may_submit(
        job.principal, election=rec.election, constituency=place.constituency,
        station_serial=place.station_serial, roles=kind.roles,
        what="result sheets" if kind.name == "sheet" else f"{kind.name} records",
    )  # fmt: skip
    signer = _signer(batch.conn, rec, job.principal, job.received_at, known)
    draft = kind.draft(batch, job, signer)
    signed = _encode(lambda: records.signed_bytes(draft.body, kind.leaf_type))
    content = _content_sha256(rec, draft, signed, kind.leaf_type)
    existing = known.submissions.get((job.principal.key_id, rec.submission_id))
    if existing is not None:
        _same_content(existing.content_sha256, content, rec.submission_id)
        row_id = existing.record_id if existing.record_id is not None else existing.sheet_id
        return Accepted(rec.submission_id, existing.leaf_index, row_id or 0, iso(existing.received_at),
                        duplicate=True, kind=existing.kind)  # fmt: skip
    if rec.signature is not None:
        verify_signature(parse_public_key(signer.submitter_key), signed, rec.signature)
        if rec.signature in known.signatures:
            raise ReplayError(
                "this signature was already used by another submission (a replay)",
                where="signature",
                remedy="sign each submission freshly on the device",
            )
    leaf = kind.leaf(draft, received_at=iso(job.received_at), signature=rec.signature)
    data = records.canonical_bytes(leaf)  # the personal-data walk; refuses this record alone
    return _Prepared(job, kind, draft, leaf, data, content)


def _kind(job: Job) -> RecordKind:
    try:
        return kinds.kind_of(job.record)
    except TypeError as exc:
        raise InputError("not a record of a registered kind", found=type(job.record).__name__) from exc


def _encode(make: Any) -> bytes:
    try:
        data: bytes = make()
    except (rfc8785.CanonicalizationError, ValueError) as exc:
        raise InputError(
            "the sheet has text that cannot be encoded", expected="valid Unicode text", found=str(exc)[:100]
        ) from exc
    return data


def _content_sha256(rec: RecordInput, draft: Draft, signed: bytes, leaf_type: str) -> str:
    """What idempotency compares: the signed body, but with ``captured_at`` as the submitter sent it.

    An unsigned record without ``captured_at`` gets the arrival time in its leaf; a resend arrives
    later, so comparing that would call the same content different.
    """
    if rec.captured_at is not None or "captured_at" not in draft.body:
        return hashlib.sha256(signed).hexdigest()
    as_sent = _encode(lambda: records.signed_bytes({**draft.body, "captured_at": None}, leaf_type))
    return hashlib.sha256(as_sent).hexdigest()


def _check_role(rec: RecordInput, principal: Principal) -> None:
    if principal.role is AuthRole.ADMIN:
        return
    if rec.role.value != principal.role.value:
        raise ForbiddenError(
            "the record's role does not match your token",
            where="role",
            expected=principal.role.value,
            found=rec.role.value,
        )
    if rec.organisation and rec.organisation != principal.organisation:
        raise ForbiddenError(
            "the sheet's organisation does not match your token",
            where="organisation",
            expected=principal.organisation,
            found=rec.organisation,
        )


def _signer(
    conn: Connection, rec: RecordInput, principal: Principal, received: dt.datetime, known: _Known
) -> Signer:
    """The submitter key for the leaf (the device key when the record is signed) and captured_at text."""
    if rec.signature is None and rec.device_key is None:
        return Signer(principal.key_id, iso(rec.captured_at or received))
    problems = ProblemList()
    if rec.signature is None or rec.device_key is None:
        problems.add("a signed sheet needs both device_key and signature", where="signature")
    if rec.captured_at is None:
        problems.add("a signed sheet needs the captured_at it signed", where="captured_at")
    problems.raise_if_any("the signature fields are incomplete; nothing was written")
    assert rec.device_key is not None
    assert rec.captured_at is not None
    key_fingerprint = fingerprint(parse_public_key(rec.device_key))
    owner = known.devices.get(key_fingerprint)
    if owner != principal.submitter_id:
        if rec.signature in known.signatures:  # a signed leaf is public: another account sent it again
            raise ReplayError(
                "this signature was already used by another submission (a replay)",
                where="signature",
                expected="a record signed by a device enrolled to you",
                found=rec.signature[:24] + "...",
                remedy="sign each submission freshly on the device",
            )
        stored = device_store.get_device_key(conn, key_fingerprint)
        if stored is not None and stored.revoked and stored.owner.id == principal.submitter_id:
            raise UnenrolledKeyError(
                "this device key was revoked; nothing was written",
                where="device_key",
                expected="a device key registered to you and not revoked",
                found=f"revoked key {key_fingerprint}",
                remedy="register the new phone's key with `POST /api/v1/devices` and sign with it",
            )
        raise UnenrolledKeyError(
            "the device key is not registered to you",
            where="device_key",
            expected="a device key registered with `POST /api/v1/devices` by this token",
            found=rec.device_key,
        )
    return Signer(rec.device_key, iso(rec.captured_at))


def _accepted(
    p: _Prepared, index: int, record_id: int | None, sheet_id: int | None
) -> tuple[Accepted, dict[str, object]]:
    rec = p.job.record
    row = {
        "election_id": p.draft.election_id,
        "submitter_key": p.job.principal.key_id,
        "submission_id": rec.submission_id,
        "content_sha256": p.content_sha256,
        "signature": rec.signature,
        "kind": p.kind.name,
        "sheet_id": sheet_id,
        "record_id": record_id,
        "leaf_index": index,
        "photo_sha256": rec.photo_sha256 or "",
        "channel": p.job.channel.value,
        "received_at": p.job.received_at,
    }
    accepted = Accepted(rec.submission_id, index, record_id or 0, iso(p.job.received_at), p.draft.checks,
                        kind=p.kind.name)  # fmt: skip
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
