"""HTTP routes for result sheets: one (JSON or multipart with the photo), a batch, a CSV; their receipts."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool

from pollwatch.api.intake.photos import store_photo
from pollwatch.api.intake.state import IntakeState, caller, model_role, read_body, state
from pollwatch.auth import require_role
from pollwatch.auth.roles import SUBMITTING
from pollwatch.errors import Error, InputError, Problem
from pollwatch.intake.csvfile import parse_csv
from pollwatch.intake.format import SheetSubmission
from pollwatch.intake.records import load_json
from pollwatch.intake.service import Accepted, Job, write_batch
from pollwatch.model import Channel, Role
from pollwatch.storage import Database

router = APIRouter(tags=["intake"])

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
    kind: str = "sheet"
    """The record kind (``sheet``, ``official``, ...)."""


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
    results = await batch_items(st, outcomes, want_receipt=receipt)
    accepted = sum(1 for r in results if r.accepted is not None)
    return BatchAccepted(accepted=accepted, refused=len(results) - accepted, results=results)


async def batch_items(
    st: IntakeState, outcomes: list[Accepted | BaseException], *, want_receipt: bool
) -> list[BatchItem]:
    """Each outcome as accepted (with its receipt, all awaited together: one read covers the batch) or
    refused with its error envelope."""
    for outcome in outcomes:
        if not isinstance(outcome, Accepted | Error):
            raise outcome
    answers = await asyncio.gather(
        *(answer(st, o, want_receipt=want_receipt, photo=None) for o in outcomes if isinstance(o, Accepted))
    )
    accepted = iter(answers)
    return [
        BatchItem(accepted=next(accepted)) if isinstance(o, Accepted) else BatchItem(error=_envelope(o))
        for o in outcomes
    ]


def _envelope(error: BaseException) -> dict[str, Any]:
    assert isinstance(error, Error)
    found: dict[str, Any] = error.envelope()["error"]
    return found


def parse_batch(raw: bytes) -> list[SheetSubmission]:
    """Parse a JSON array of submissions, naming every problem by its position (422, nothing written)."""
    items = load_json(raw, expected="a JSON array of sheets")
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
        return SheetSubmission.model_validate(load_json(raw, expected="a JSON sheet"))
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


async def answer(
    st: IntakeState, accepted: Accepted, *, want_receipt: bool, photo: str | None
) -> SheetAccepted:
    text = None
    if want_receipt:
        text = await st.receipts.wait(accepted.leaf_index, st.settings.receipt_wait)
        if text is None:  # not covered in time, or the batch failed: one last try on its own
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
        kind=accepted.kind,
    )


def _receipt(db: Database, index: int, wait: float) -> str | None:
    from pollwatch.ledger import service as ledger

    try:
        return ledger.get_receipt(db, index, wait_seconds=wait)
    except Error:
        return None  # not yet covered by a checkpoint: fetch it later from receipt_url


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
