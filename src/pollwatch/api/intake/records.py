"""HTTP routes for records of any registered kind: one, or a batch, through the same writer as sheets."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel

from pollwatch.api.intake.sheets import MAX_BATCH, BatchAccepted, SheetAccepted, answer, batch_items
from pollwatch.api.intake.state import caller, read_body, state
from pollwatch.errors import InputError
from pollwatch.intake import kinds
from pollwatch.intake.records import parse_record, parse_records
from pollwatch.intake.service import Job
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
    raw = await read_body(request, st.settings.max_body_bytes * 16)
    if not raw.lstrip().startswith(b"["):
        raise InputError("a batch is a JSON array of records", where="body", expected="[...]")
    parsed = parse_records(found.schema, raw, limit=MAX_BATCH)
    jobs = [Job(record=r, principal=principal, channel=Channel.API) for r in parsed]
    outcomes = await asyncio.gather(*(st.writer.submit_async(j) for j in jobs), return_exceptions=True)
    results = await batch_items(st, outcomes, want_receipt=receipt)
    accepted = sum(1 for r in results if r.accepted is not None)
    return BatchAccepted(accepted=accepted, refused=len(results) - accepted, results=results)
