"""HTTP routes of evidence intake: sheets (JSON, multipart, CSV), photos, SMS webhook, submitters, devices."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool

from pollwatch.api.deps import ReadConn
from pollwatch.auth import (
    Assignment,
    AuthRole,
    Principal,
    authenticate,
    create_submitter,
    register_device,
    require_role,
    verify_may_register,
)
from pollwatch.auth.roles import SUBMITTING
from pollwatch.auth.tokens import hash_token, normalise_phone, principal_for
from pollwatch.errors import (
    AuthError,
    Error,
    InputError,
    NotFoundError,
    Problem,
    TooLargeError,
    VerificationError,
)
from pollwatch.evidence import FilesystemStore, add_evidence, check_sha256, sniff_type
from pollwatch.evidence import thumbnail as make_thumbnail
from pollwatch.intake import settings as intake_settings
from pollwatch.intake import sms
from pollwatch.intake.csvfile import parse_csv
from pollwatch.intake.format import SheetSubmission
from pollwatch.intake.ratelimit import RateLimiter
from pollwatch.intake.service import Accepted, Job, write_batch
from pollwatch.intake.settings import IntakeSettings
from pollwatch.intake.writer import Writer, get_writer
from pollwatch.model import Channel, Role
from pollwatch.storage import Database, structure
from pollwatch.storage import intake as store

router = APIRouter(tags=["intake"])
log = logging.getLogger(__name__)

_PRINCIPAL_TTL = 10.0


class IntakeState:
    """Per-app intake state: settings, limiters, the evidence store and a principal cache."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.settings: IntakeSettings = intake_settings.load()
        self.by_token = RateLimiter(*self.settings.rate_token)
        self.by_address = RateLimiter(*self.settings.rate_address)
        self.evidence = FilesystemStore(self.settings.evidence_dir)
        self._principals: dict[str, tuple[float, Principal]] = {}
        self.receipts = ReceiptWaiter(db)
        self._lock = threading.Lock()

    @property
    def writer(self) -> Writer:
        return get_writer(self.db)

    def cached_principal(self, authorization: str) -> Principal | None:
        """The principal of a token authenticated less than 10 s ago (no database access)."""
        with self._lock:
            hit = self._principals.get(hash_token(authorization))
        if hit is not None and time.monotonic() - hit[0] < _PRINCIPAL_TTL:
            return hit[1]
        return None

    def principal(self, authorization: str | None) -> Principal:
        """Authenticate (cached for a few seconds: a revoked token stops working within 10 s)."""
        key = hash_token(authorization or "")
        cached = self.cached_principal(authorization or "")
        if cached is not None:
            return cached
        with self.db.connect() as conn:
            principal = authenticate(conn, authorization)
        with self._lock:
            if len(self._principals) > 10_000:
                self._principals.clear()
            self._principals[key] = (time.monotonic(), principal)
        return principal


_STATES: dict[int, IntakeState] = {}
_STATES_LOCK = threading.Lock()


def state(request: Request) -> IntakeState:
    db: Database = request.app.state.db
    with _STATES_LOCK:
        found = _STATES.get(id(request.app))
        if found is None or found.db is not db:
            found = _STATES[id(request.app)] = IntakeState(db)
        return found


def address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def caller(
    request: Request, *, limit_address: bool = True, authorization: str | None = None
) -> Principal:
    """Rate-limit by address, authenticate, then rate-limit by token."""
    st = state(request)
    if limit_address:
        st.by_address.hit(address(request), what="address")
    header = authorization if authorization is not None else request.headers.get("authorization")
    if not header:
        raise AuthError(
            "this action needs an API token",
            where="Authorization",
            expected="Authorization: Bearer pw_...",
            found="no header",
            remedy="ask an admin or coordinator for a token (`pollwatch token create`)",
        )
    principal = st.cached_principal(header)
    if principal is None:
        principal = await run_in_threadpool(st.principal, header)
    st.by_token.hit(principal.key_id, what="token")
    return principal


async def read_body(request: Request, limit: int) -> bytes:
    """Read the body, refusing it (413) as soon as it passes ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit, declared)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit, f"more than {limit}")
        chunks.append(chunk)
    body = b"".join(chunks)
    request._body = body  # later request.form() parses from this
    return body


def _too_large(limit: int, found: str) -> TooLargeError:
    return TooLargeError(
        "the request body is too large; nothing was written",
        where="body",
        expected=f"at most {limit} bytes",
        found=f"{found} bytes",
    )


def error_dict(error: Error) -> dict[str, Any]:
    return dict(error.envelope()["error"])


# ---------------------------------------------------------------- routes

_JSON_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/SheetSubmission"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["submission"],
                    "properties": {
                        "submission": {"type": "string", "description": "the SheetSubmission as JSON"},
                        "photo": {"type": "string", "format": "binary"},
                    },
                }
            },
        },
    }
}


class SheetAccepted(BaseModel):
    """The answer to an accepted sheet: where it is in the log and the receipt proving it."""

    submission_id: str
    leaf_index: int
    received_at: str
    checks: list[str]
    duplicate: bool
    receipt: str | None = None
    receipt_url: str
    photo_sha256: str | None = None


class CsvAccepted(BaseModel):
    accepted: int
    sheets: list[SheetAccepted]


@router.post(
    "/api/v1/sheets",
    response_model=SheetAccepted,
    openapi_extra=_JSON_SCHEMA,
    summary="Submit one result sheet (JSON, or multipart with the photo)",
    responses={201: {"model": SheetAccepted}},
    status_code=201,
)
async def post_sheet(request: Request, receipt: bool = True) -> SheetAccepted:
    """Store and log one sheet; answer after it is durable, with its leaf index and receipt."""
    st = state(request)
    principal = await caller(request)
    content_type = request.headers.get("content-type", "")
    photo: bytes | None = None
    if content_type.startswith("multipart/form-data"):
        await read_body(request, st.settings.max_body_bytes + st.settings.max_photo_bytes)
        raw, photo = await _multipart(request)
    else:
        raw = await read_body(request, st.settings.max_body_bytes)
    sub = parse_submission(raw)
    if photo is not None:
        digest = await run_in_threadpool(store_photo, st, photo, sub.photo_sha256)
        if sub.photo_sha256 is None:
            sub = sub.model_copy(update={"photo_sha256": digest})
    accepted = await st.writer.submit_async(Job(sub, principal, Channel.API))
    return await answer(st, accepted, want_receipt=receipt, photo=sub.photo_sha256)


class BatchItem(BaseModel):
    """The outcome of one sheet of a batch: its acceptance, or the error envelope that refused it."""

    accepted: SheetAccepted | None = None
    error: dict[str, Any] | None = None


class BatchAccepted(BaseModel):
    accepted: int
    refused: int
    results: list[BatchItem]


MAX_BATCH = 500


@router.post(
    "/api/v1/sheets/batch",
    response_model=BatchAccepted,
    summary="Submit up to 500 sheets at once (a phone's offline queue); each is accepted or refused alone",
)
async def post_batch(request: Request, receipt: bool = False) -> BatchAccepted:
    """Each sheet is checked, stored and logged as if sent alone; one refusal does not stop the others."""
    st = state(request)
    principal = await caller(request)
    require_role(principal, SUBMITTING, "submit result sheets")
    raw = await read_body(request, st.settings.max_body_bytes * 16)
    subs = parse_batch(raw)
    jobs = [Job(s, principal, Channel.API) for s in subs]
    outcomes = await asyncio.gather(*(st.writer.submit_async(j) for j in jobs), return_exceptions=True)
    results = []
    for outcome in outcomes:
        if isinstance(outcome, Accepted):
            results.append(BatchItem(accepted=await answer(st, outcome, want_receipt=receipt, photo=None)))
        elif isinstance(outcome, Error):
            results.append(BatchItem(error=outcome.envelope()["error"]))
        else:
            raise outcome
    accepted = sum(1 for r in results if r.accepted is not None)
    return BatchAccepted(accepted=accepted, refused=len(results) - accepted, results=results)


def parse_batch(raw: bytes) -> list[SheetSubmission]:
    """Parse a JSON array of submissions, naming every problem by its position (422, nothing written)."""
    try:
        items = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(
            "the body is not JSON", expected="a JSON array of sheets", found=str(exc)[:100]
        ) from exc
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_BATCH:
        raise InputError(
            "a batch is a JSON array of 1 to 500 sheets",
            where="body",
            found=type(items).__name__ if not isinstance(items, list) else f"{len(items)} items",
        )
    subs, problems = [], []
    for n, item in enumerate(items):
        try:
            subs.append(SheetSubmission.model_validate(item))
        except ValidationError as exc:
            problems += [
                Problem(
                    str(e["msg"]),
                    where=f"[{n}]." + ".".join(str(p) for p in e["loc"]),
                    expected=str(e["type"]),
                    found=repr(e.get("input"))[:80],
                )
                for e in exc.errors()
            ]
    if problems:
        raise InputError(
            "some sheets of the batch are not valid; nothing was written", problems=problems[:100]
        )
    return subs


async def _multipart(request: Request) -> tuple[bytes, bytes | None]:
    form = await request.form(max_files=1, max_fields=4)
    field = form.get("submission")
    if field is None:
        raise InputError("the multipart body needs a 'submission' field", where="submission")
    raw = field.encode() if isinstance(field, str) else await field.read()
    upload = form.get("photo")
    if upload is None or isinstance(upload, str):
        return raw, None
    return raw, await upload.read()


def parse_submission(raw: bytes) -> SheetSubmission:
    """Parse a JSON body into a submission, naming every problem (422)."""
    try:
        return SheetSubmission.model_validate_json(raw)
    except ValidationError as exc:
        raise InputError(
            "the sheet is not valid; nothing was written",
            problems=[
                Problem(
                    str(e["msg"]),
                    where=".".join(str(p) for p in e["loc"]) or "body",
                    expected=str(e["type"]),
                    found=repr(e.get("input"))[:120],
                )
                for e in exc.errors()
            ],
        ) from exc


def store_photo(st: IntakeState, data: bytes, expected: str | None) -> str:
    full = expected if expected is not None and len(expected) == 64 else None
    digest, info = add_evidence(
        st.evidence, data, expected_sha256=full, max_bytes=st.settings.max_photo_bytes,
        max_pixels=st.settings.max_photo_pixels,
    )  # fmt: skip
    if expected is not None and not digest.startswith(expected):
        raise VerificationError(
            "the photo does not match the sheet's photo hash", expected=expected, found=digest
        )
    with st.db.begin() as conn:
        if store.get_photo(conn, digest) is None:
            link_prefixed_sheets(conn, digest)
        store.record_photo(conn, sha256=digest, media_type=info.media_type, size=len(data), width=info.width,
                           height=info.height)  # fmt: skip
    return digest


def link_prefixed_sheets(conn: Connection, digest: str) -> None:
    """Log a ``photo`` leaf giving the full hash of a photo that sheets named only by prefix (SMS)."""
    from pollwatch.ledger import service as ledger
    from pollwatch.ledger.records import LeafRecord

    by_election: dict[str, list[int]] = {}
    for slug, index in store.list_prefix_references(conn, digest):
        by_election.setdefault(slug, []).append(index)
    records = [
        LeafRecord("photo", {"election": slug, "photo_sha256": digest, "sheets": indices})
        for slug, indices in sorted(by_election.items())
    ]
    if records:
        ledger.append(conn, records)


async def answer(
    st: IntakeState, accepted: Accepted, *, want_receipt: bool, photo: str | None
) -> SheetAccepted:
    text = None
    if want_receipt:
        await st.receipts.wait(accepted.leaf_index, st.settings.receipt_wait)
        text = await run_in_threadpool(_receipt, st.db, accepted.leaf_index, 0.0)
    return SheetAccepted(
        submission_id=accepted.submission_id,
        leaf_index=accepted.leaf_index,
        received_at=accepted.received_at,
        checks=list(accepted.checks),
        duplicate=accepted.duplicate,
        receipt=text,
        receipt_url=f"/api/v1/receipts/{accepted.leaf_index}",
        photo_sha256=photo,
    )


def _receipt(db: Database, index: int, wait: float) -> str | None:
    from pollwatch.ledger import service as ledger

    try:
        return ledger.get_receipt(db, index, wait_seconds=wait)
    except Error:
        return None  # not yet covered by a checkpoint: fetch it later from receipt_url


def _checkpoint_size(db: Database) -> int:
    from pollwatch.ledger import service as ledger

    return int(ledger.latest_checkpoint(db).split("\n", 2)[1])


class ReceiptWaiter:
    """Lets many requests wait for the next checkpoint without holding a thread each."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.size = 0
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._task: asyncio.Task[None] | None = None

    async def wait(self, index: int, timeout: float) -> None:
        """Return once a checkpoint covers ``index`` (or after ``timeout`` seconds)."""
        if index < self.size:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((index, future))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._poll())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(future), timeout)

    async def _poll(self) -> None:
        while self._waiters:
            try:
                self.size = await run_in_threadpool(_checkpoint_size, self.db)
            except Exception:  # the ledger may be busy; keep waiting
                log.exception("reading the latest checkpoint failed")
            keep = []
            for index, future in self._waiters:
                if future.done():
                    continue
                if index < self.size:
                    future.set_result(None)
                else:
                    keep.append((index, future))
            self._waiters = keep
            await asyncio.sleep(0.05)


@router.post(
    "/api/v1/sheets/csv",
    response_model=CsvAccepted,
    status_code=201,
    openapi_extra={
        "requestBody": {"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}}
    },
    summary="Submit many sheets as CSV (all or nothing on structural problems)",
)
async def post_csv(request: Request, election: str | None = None) -> CsvAccepted:
    """Bulk upload; every row is a sheet; rows are written in one transaction."""
    st = state(request)
    principal = await caller(request)
    require_role(principal, SUBMITTING, "submit result sheets")
    raw = await read_body(request, st.settings.max_body_bytes * 16)
    subs = parse_csv(
        raw, role=Role(model_role(principal)), organisation=principal.organisation, election=election
    )
    jobs = [Job(s, principal, Channel.CSV) for s in subs]
    outcomes = await run_in_threadpool(_write_all, st.db, jobs)
    sheets = [await answer(st, a, want_receipt=False, photo=None) for a in outcomes]
    return CsvAccepted(accepted=len(sheets), sheets=sheets)


def model_role(principal: Principal) -> str:
    return principal.role.value if principal.role.value in {r.value for r in Role} else Role.PUBLIC.value


def _write_all(db: Database, jobs: list[Job]) -> list[Accepted]:
    with db.begin() as conn:
        outcomes = write_batch(conn, jobs)
        problems = [
            Problem(e.message, where=f"row {n + 2}" + (f" ({e.problems[0].where})" if e.problems else ""),
                    expected=e.problems[0].expected if e.problems else "",
                    found=e.problems[0].found if e.problems else "")
            for n, e in enumerate(outcomes) if isinstance(e, Error)
        ]  # fmt: skip
        if problems:
            conn.rollback()
            raise InputError("some rows were refused; nothing was written", problems=problems)
    return [a for a in outcomes if isinstance(a, Accepted)]


class PhotoStored(BaseModel):
    sha256: str
    media_type: str
    size: int
    referenced: bool


@router.put(
    "/api/v1/photos/{sha256}",
    response_model=PhotoStored,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
    summary="Upload the photo of a sheet already submitted by its hash",
)
async def put_photo(request: Request, sha256: str) -> PhotoStored:
    """Store the bytes whose SHA-256 is ``sha256`` (the hash was sent with the sheet, maybe by SMS)."""
    st = state(request)
    principal = await caller(request)
    require_role(principal, SUBMITTING, "upload photos")
    check_sha256(sha256)
    data = await read_body(request, st.settings.max_photo_bytes)
    with_hash = await run_in_threadpool(_referenced, st.db, sha256)
    if not with_hash:
        raise NotFoundError(
            "no submitted sheet names this photo hash",
            where="sha256",
            expected="the SHA-256 (or its first 16 hex digits) sent with a sheet",
            found=sha256,
            remedy="submit the sheet first, then its photo",
        )
    digest = await run_in_threadpool(store_photo, st, data, sha256)
    info = sniff_type(data)
    return PhotoStored(sha256=digest, media_type=info, size=len(data), referenced=True)


router.add_api_route(
    "/api/v1/photos/{sha256}", put_photo, methods=["POST"], response_model=PhotoStored,
    openapi_extra=put_photo.__dict__.get("openapi_extra"), include_in_schema=False,
)  # fmt: skip


def _referenced(db: Database, sha256: str) -> bool:
    with db.connect() as conn:
        return bool(store.photo_referenced(conn, sha256))


@router.get(
    "/api/v1/photos/{sha256}",
    response_class=Response,
    responses={
        200: {"content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}, "application/pdf": {}}}
    },
    summary="A stored photo, when its election publishes photos (or to a submitting role)",
)
async def get_photo(request: Request, sha256: str, thumbnail: bool = False) -> Response:
    st = state(request)
    check_sha256(sha256)
    meta, published = await run_in_threadpool(_photo_meta, st.db, sha256)
    if not published:
        principal = await caller(request)
        require_role(
            principal, (AuthRole.ADMIN, AuthRole.COORDINATOR, AuthRole.OBSERVER), "see unpublished photos"
        )
    data = await run_in_threadpool(st.evidence.get, sha256)
    if thumbnail and meta["media_type"].startswith("image/"):
        return Response(await run_in_threadpool(make_thumbnail, data), media_type="image/jpeg")
    return Response(data, media_type=meta["media_type"])


def _photo_meta(db: Database, sha256: str) -> tuple[dict[str, Any], bool]:
    with db.connect() as conn:
        meta = store.get_photo(conn, sha256)
        if meta is None:
            raise NotFoundError("no such photo", where="sha256", found=sha256)
        elections = store.photo_referenced(conn, sha256)
        return meta, any(store.get_publish_photos(conn, e) for e in elections)


class SmsInbound(BaseModel):
    """What an SMS gateway posts: the sender's number and the text. The number is never logged."""

    model_config = ConfigDict(extra="ignore")

    sender: Annotated[str, StringConstraints(min_length=3, max_length=32)]
    text: Annotated[str, StringConstraints(max_length=20_000)]
    election: Annotated[str, StringConstraints(max_length=64)] | None = None


class SmsReply(BaseModel):
    accepted: bool
    reply: str
    leaf_index: int | None = None


@router.post("/api/v1/sms/inbound", response_model=SmsReply, summary="Webhook for an SMS gateway")
async def sms_inbound(request: Request, message: SmsInbound, election: str | None = None) -> SmsReply:
    """Parse an SMS, store the sheet as its registered sender, and say what to reply."""
    st = state(request)
    gateway = await caller(request, limit_address=False)
    require_role(gateway, (AuthRole.GATEWAY, AuthRole.ADMIN), "deliver SMS")
    slug = message.election or election
    try:
        sender, sub = await run_in_threadpool(_sms_submission, st.db, message, slug)
        st.by_token.hit(sender.key_id, what="sender")
        accepted = await st.writer.submit_async(Job(sub, sender, Channel.SMS))
    except Error as exc:
        return SmsReply(accepted=False, reply=sms.reply_error(exc))
    text = sms.reply_ok(
        sub.constituency, sub.station, accepted.leaf_index, accepted.checks, accepted.duplicate
    )
    return SmsReply(accepted=True, reply=text, leaf_index=accepted.leaf_index)


def _sms_submission(db: Database, message: SmsInbound, slug: str | None) -> tuple[Principal, SheetSubmission]:
    if not slug:
        raise InputError(
            "the gateway did not say which election", where="election", remedy="configure ?election="
        )
    with db.connect() as conn:
        row = store.get_submitter(conn, phone=normalise_phone(message.sender))
        if row is None:
            raise AuthError("this number is not registered", remedy="ask your coordinator to register it")
        sender = principal_for(conn, row)
        _, election = structure.get_election(conn, slug)
        device = store.get_latest_device_key(conn, row.id)
    parsed = sms.parse_sms(
        message.text, election=slug, rule_pack=election.rule_pack, role=Role(model_role(sender)),
        organisation=sender.organisation, submitter_key=sender.key_id, device_key=device,
    )  # fmt: skip
    return sender, parsed.submission


class SubmitterIn(BaseModel):
    """Register a submitter. Personal fields stay in an access-controlled table, never in the log."""

    model_config = ConfigDict(extra="forbid")

    role: AuthRole
    organisation: Annotated[str, StringConstraints(max_length=200)] = ""
    name: Annotated[str, StringConstraints(max_length=200)] = ""
    phone: Annotated[str, StringConstraints(max_length=32)] | None = None
    election: Annotated[str, StringConstraints(max_length=64)] = ""
    constituencies: list[Annotated[str, StringConstraints(max_length=32)]] = []
    stations: list[Annotated[str, StringConstraints(pattern=r"^[^:]{1,32}:[0-9]{1,6}$")]] = Field(
        [], description="CONSTITUENCY:SERIAL stations an agent may report on"
    )


class SubmitterCreated(BaseModel):
    key_id: str
    role: str
    organisation: str
    token: str


@router.post(
    "/api/v1/submitters",
    response_model=SubmitterCreated,
    status_code=201,
    summary="Register a submitter and issue a token (admin; coordinator for own organisation)",
)
async def post_submitter(request: Request, item: SubmitterIn) -> SubmitterCreated:
    principal = await caller(request)
    verify_may_register(principal, role=item.role, organisation=item.organisation)
    st = state(request)
    key_id, token = await run_in_threadpool(_create_submitter, st.db, item)
    return SubmitterCreated(key_id=key_id, role=item.role.value, organisation=item.organisation, token=token)


def _create_submitter(db: Database, item: SubmitterIn) -> tuple[str, str]:
    assignments = [Assignment(item.election, c) for c in item.constituencies]
    for spec in item.stations:
        code, _, serial = spec.rpartition(":")
        assignments.append(Assignment(item.election, code, int(serial)))
    phone = normalise_phone(item.phone) if item.phone else None
    with db.begin() as conn:
        return create_submitter(conn, role=item.role, organisation=item.organisation, name=item.name,
                                phone=phone, assignments=assignments)  # fmt: skip


class DeviceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    public_key: Annotated[str, StringConstraints(max_length=64)] = Field(
        description="ed25519:<base64 of the 32-byte public key>"
    )


class DeviceRegistered(BaseModel):
    device_key: str


@router.post("/api/v1/devices", response_model=DeviceRegistered, status_code=201,
             summary="Register the caller's Ed25519 device key")  # fmt: skip
async def post_device(request: Request, item: DeviceIn) -> DeviceRegistered:
    principal = await caller(request)
    require_role(principal, SUBMITTING, "register device keys")
    st = state(request)

    def _register() -> str:
        with st.db.begin() as conn:
            return register_device(conn, submitter_id=principal.submitter_id, public_key=item.public_key)

    return DeviceRegistered(device_key=await run_in_threadpool(_register))


class DeviceKey(BaseModel):
    public_key: str
    role: str
    organisation: str
    revoked: bool


@router.get("/api/v1/device-keys", response_model=list[DeviceKey], summary="Registered device keys (public)")
def get_device_keys(conn: ReadConn) -> list[DeviceKey]:
    """Public keys with role and organisation only, so anyone can check signed sheets."""
    return [
        DeviceKey(**{k: v for k, v in d.items() if k != "fingerprint"}) for d in store.list_device_keys(conn)
    ]


class PhotoPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    publish_photos: bool


@router.put(
    "/api/v1/photo-policy/{election}",
    response_model=PhotoPolicy,
    summary="Publish photos or only hashes (admin)",
)
async def put_photo_policy(request: Request, election: str, policy: PhotoPolicy) -> PhotoPolicy:
    principal = await caller(request)
    require_role(principal, (AuthRole.ADMIN,), "set the photo policy")
    st = state(request)

    def _set() -> None:
        with st.db.begin() as conn:
            election_id, _ = structure.get_election(conn, election)
            store.set_publish_photos(conn, election_id, policy.publish_photos)

    await run_in_threadpool(_set)
    return policy


@router.get(
    "/api/v1/photo-policy/{election}", response_model=PhotoPolicy, summary="Whether photos are published"
)
def get_photo_policy(conn: ReadConn, election: str) -> PhotoPolicy:
    election_id, _ = structure.get_election(conn, election)
    return PhotoPolicy(publish_photos=store.get_publish_photos(conn, election_id))
