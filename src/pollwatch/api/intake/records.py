"""HTTP routes for records of any registered kind: one, or a batch, through the same writer as sheets."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ValidationError

from pollwatch.api.intake.sheets import MAX_BATCH, BatchAccepted, BatchItem, SheetAccepted, answer
from pollwatch.api.intake.state import caller, read_body, state
from pollwatch.errors import Error, InputError, Problem
from pollwatch.intake import kinds
from pollwatch.intake.service import Accepted, Job
from pollwatch.model import Channel

router = APIRouter(tags=["intake"])

_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "description": "A record of the kind in the path: OfficialSubmission for official, "
                    "SheetSubmission for sheet (GET /api/v1/records lists each kind's schema)",
                    "type": "object",
                }
            }
        },
    }
}


class KindInfo(BaseModel):
    name: str
    leaf_type: str
    roles: list[str]
    json_schema: dict[str, Any]


@router.get("/api/v1/records", response_model=list[KindInfo], summary="The record kinds and their schemas")
async def list_record_kinds() -> list[KindInfo]:
    """Every registered record kind: its name, leaf type, who may submit it and its JSON schema."""
    out = []
    for name in sorted(kinds.names()):
        kind = kinds.get_kind(name)
        roles = sorted(r.value for r in kind.roles)
        out.append(
            KindInfo(
                name=name, leaf_type=kind.leaf_type, roles=roles, json_schema=kind.schema.model_json_schema()
            )
        )
    return out


@router.post(
    "/api/v1/records/{kind}",
    response_model=SheetAccepted,
    status_code=201,
    openapi_extra=_BODY,
    summary="Submit one record of any kind (official results, sheets, ...)",
)
async def post_record(request: Request, kind: str, receipt: bool = True) -> SheetAccepted:
    """Store and log one record; answer after it is durable, with its leaf index and receipt."""
    st = state(request)
    found = kinds.get_kind(kind)
    principal = await caller(request)
    record = parse_record(found.schema, await read_body(request, st.settings.max_body_bytes))
    accepted = await st.writer.submit_async(Job(record=record, principal=principal, channel=Channel.API))
    return await answer(st, accepted, want_receipt=receipt, photo=record.photo_sha256)


@router.post(
    "/api/v1/records/{kind}/batch",
    response_model=BatchAccepted,
    summary="Submit up to 500 records of one kind; each is accepted or refused alone",
)
async def post_record_batch(request: Request, kind: str, receipt: bool = False) -> BatchAccepted:
    st = state(request)
    found = kinds.get_kind(kind)
    principal = await caller(request)
    items = _array(await read_body(request, st.settings.max_body_bytes * 16))
    problems: list[Problem] = []
    parsed = []
    for n, item in enumerate(items):
        try:
            parsed.append(parse_record(found.schema, json.dumps(item).encode(), prefix=f"[{n}]."))
        except InputError as exc:
            problems += exc.problems
    if problems:
        raise InputError(
            "some records of the batch are not valid; nothing was written", problems=problems[:100]
        )
    jobs = [Job(record=r, principal=principal, channel=Channel.API) for r in parsed]
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


def _array(raw: bytes) -> list[Any]:
    try:
        items = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(
            "the body is not JSON", expected="a JSON array of records", found=str(exc)[:100]
        ) from exc
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_BATCH:
        found = type(items).__name__ if not isinstance(items, list) else f"{len(items)} items"
        raise InputError(f"a batch is a JSON array of 1 to {MAX_BATCH} records", where="body", found=found)
    return items


def parse_record(schema: type[BaseModel], raw: bytes, *, prefix: str = "") -> Any:
    """Parse a JSON body with a kind's schema, naming every problem by its field (422, nothing written)."""
    try:
        return schema.model_validate_json(raw)
    except ValidationError as exc:
        raise InputError(
            "the record is not valid; nothing was written",
            problems=[
                Problem(
                    str(e["msg"]),
                    where=prefix + (".".join(str(p) for p in e["loc"]) or "body"),
                    expected=str(e["type"]),
                    found=repr(e.get("input"))[:120],
                )
                for e in exc.errors()
            ],
        ) from exc
