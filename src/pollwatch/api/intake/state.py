"""Shared intake state: settings, rate limiters, the principal cache, body reading and receipt waiting."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from pollwatch.auth import Principal, authenticate, csrf
from pollwatch.auth.tokens import hash_token, require_header
from pollwatch.errors import Error, TooLargeError
from pollwatch.evidence import open_evidence_store
from pollwatch.intake import settings as intake_settings
from pollwatch.intake.gateways import load_gateways
from pollwatch.intake.gateways.core import forget_old_deliveries
from pollwatch.intake.gateways.outbox import OutboxWorker
from pollwatch.intake.gateways.service import needs_outbox
from pollwatch.intake.ratelimit import RateLimiter
from pollwatch.intake.records import parse_record
from pollwatch.intake.settings import IntakeSettings
from pollwatch.intake.writer import Writer, get_writer
from pollwatch.model import Role
from pollwatch.storage import Database

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)
BODY_MODELS: list[type[BaseModel]] = []
"""Models read by hand (:func:`read_model`) whose schemas the OpenAPI spec defines in components."""

_PRINCIPAL_TTL = 10.0


class IntakeState:
    """Per-app intake state: settings, limiters, the evidence store and a principal cache."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.settings: IntakeSettings = intake_settings.load()
        self.by_token = RateLimiter(*self.settings.rate_token)
        self.by_address = RateLimiter(*self.settings.rate_address)
        self.evidence = open_evidence_store(self.settings.evidence_dir)
        self._principals: dict[str, tuple[float, Principal]] = {}
        self.receipts = ReceiptWaiter(db)
        self._lock = threading.Lock()
        self._csrf_path = csrf.secret_path()
        self._csrf_secret: bytes | None = None
        self._sms_gateways: dict[str, dict[str, Any]] | None = None
        self.outbox: OutboxWorker | None = None

    @property
    def writer(self) -> Writer:
        return get_writer(self.db)

    @property
    def sms_gateways(self) -> dict[str, dict[str, Any]]:
        """The SMS adapters of the gateways file, read once per process at start (restart to reload)."""
        with self._lock:
            if self._sms_gateways is None:
                self._sms_gateways = load_gateways()
            return self._sms_gateways

    @property
    def csrf_secret(self) -> bytes:
        """The web form's CSRF secret, read (or created) under POLLWATCH_HOME on first use."""
        if self._csrf_secret is None:
            self._csrf_secret = csrf.load_secret(self._csrf_path)
        return self._csrf_secret

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

    def forget(self, submitter_id: int) -> int:
        """Drop the cached principals of a submitter (just revoked); return how many were dropped.

        Only this process's cache: other worker processes keep theirs for at most 10 s.
        """
        with self._lock:
            stale = [k for k, (_, p) in self._principals.items() if p.submitter_id == submitter_id]
            for key in stale:
                del self._principals[key]
        return len(stale)


_STATES: dict[int, IntakeState] = {}
_STATES_LOCK = threading.Lock()


def state(request: Request) -> IntakeState:
    return state_of(request.app)


def state_of(app: Any) -> IntakeState:
    db: Database = app.state.db
    with _STATES_LOCK:
        found = _STATES.get(id(app))
        if found is None or found.db is not db:
            found = _STATES[id(app)] = IntakeState(db)
        return found


@asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[None]:
    """Read the SMS gateways file at start (a bad entry stops the server) and run the SMS reply sender."""
    st = state_of(app)
    gateways = st.sms_gateways
    await asyncio.to_thread(forget_old_deliveries, st.db)
    if needs_outbox(gateways) and st.outbox is None:
        st.outbox = OutboxWorker(st.db, gateways).start()
    try:
        yield
    finally:
        if st.outbox is not None:
            st.outbox.stop()
            st.outbox = None


def address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def caller(
    request: Request, *, limit_address: bool = True, authorization: str | None = None
) -> Principal:
    """Rate-limit by address, authenticate, then rate-limit by token."""
    st = state(request)
    if limit_address:
        st.by_address.hit(address(request), what="address")
    header = require_header(
        authorization if authorization is not None else request.headers.get("authorization")
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


async def read_model(request: Request, model: type[M]) -> M:
    """Read a JSON body under the body cap (413 before reading past it) and parse it (422, no duplicates).

    Routes call this after authenticating, so an anonymous caller is refused before its body is read.
    """
    return parse_record(model, await read_body(request, state(request).settings.max_body_bytes))  # type: ignore[no-any-return]


def json_body(model: type[BaseModel]) -> dict[str, Any]:
    """The ``openapi_extra`` of a route that reads ``model`` by hand with :func:`read_model`."""
    BODY_MODELS.append(model)
    ref = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": ref}}}}


def _too_large(limit: int, found: str) -> TooLargeError:
    return TooLargeError(
        "the request body is too large; nothing was written",
        where="body",
        expected=f"at most {limit} bytes",
        found=f"{found} bytes",
    )


def error_dict(error: Error) -> dict[str, Any]:
    return dict(error.envelope()["error"])


def model_role(principal: Principal) -> str:
    return principal.role.value if principal.role.value in {r.value for r in Role} else Role.PUBLIC.value


def _checkpoint_size(db: Database) -> int:
    from pollwatch.ledger import service as ledger

    return ledger.covered_size(db)


class ReceiptWaiter:
    """Lets many requests wait for the receipt of their leaf without holding a thread each.

    One polling task per process watches the latest checkpoint; when it grows, the receipts of every
    leaf it now covers are made in one go (one connection, one read of the stored hashes).
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self.size = 0
        self._waiters: list[tuple[int, asyncio.Future[str | None]]] = []
        self._task: asyncio.Task[None] | None = None

    async def wait(self, index: int, timeout: float) -> str | None:
        """The receipt of leaf ``index`` once a checkpoint covers it; None after ``timeout`` seconds."""
        future: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        self._waiters.append((index, future))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._poll())
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout)
        except TimeoutError:
            return None

    async def _poll(self) -> None:
        while self._waiters:
            try:
                self.size = await run_in_threadpool(_checkpoint_size, self.db)
                await self._answer_covered()
            except Exception:  # the ledger may be busy; keep waiting
                log.exception("making receipts failed")
            await asyncio.sleep(0.05)

    async def _answer_covered(self) -> None:
        self._waiters = [(i, f) for i, f in self._waiters if not f.done()]
        ready = [(i, f) for i, f in self._waiters if i < self.size]
        if not ready:
            return
        self._waiters = [(i, f) for i, f in self._waiters if i >= self.size]
        from pollwatch.ledger import service as ledger

        receipts: dict[int, str] = {}
        try:
            receipts = await run_in_threadpool(ledger.get_receipts, self.db, [i for i, _ in ready])
        finally:  # on failure each request falls back to making its own receipt
            for index, future in ready:
                if not future.done():
                    future.set_result(receipts.get(index))
