"""``POST /api/v1/enrol``: the field app registers its device key with a one-time code and gets its token."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, StringConstraints
from starlette.concurrency import run_in_threadpool

from pollwatch.api.intake.state import address, json_body, read_model, state
from pollwatch.auth.enrol import enrol
from pollwatch.intake.format import Visible

router = APIRouter(tags=["intake"])


class EnrolIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Annotated[str, StringConstraints(min_length=8, max_length=64), Visible]
    public_key: Annotated[str, StringConstraints(min_length=8, max_length=64), Visible]


class EnrolOut(BaseModel):
    token: str
    device_key: str
    submitter: str
    role: str
    organisation: str
    election: str
    assignments: list[dict[str, Any]]


@router.post(
    "/api/v1/enrol", response_model=EnrolOut, status_code=201, openapi_extra=json_body(EnrolIn),
    summary="Enrol a phone: its public key and a one-time code in, its API token out (once)",
)  # fmt: skip
async def post_enrol(request: Request) -> EnrolOut:
    st = state(request)
    st.by_address.hit(address(request), what="address")  # codes cannot be guessed, nor tried quickly
    item = await read_model(request, EnrolIn)

    def _enrol() -> dict[str, Any]:
        with st.db.begin() as conn:
            return enrol(
                conn, code=item.code, public_key=item.public_key, now=dt.datetime.now(dt.UTC)
            ).as_dict()

    return EnrolOut(**await run_in_threadpool(_enrol))
