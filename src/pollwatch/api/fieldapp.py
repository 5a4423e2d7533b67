"""``GET /api/v1/app/context``: what an enrolled phone may capture where; a receipt's QR code."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from pollwatch.api.intake.state import caller, state
from pollwatch.fieldapp import get_capture_context
from pollwatch.fieldapp.receipts import receipt_qr_svg

router = APIRouter(tags=["intake"])


@router.get("/api/v1/app/context", summary="The field app's capture context: stations, ballots, forms")
async def get_app_context(
    request: Request,
    election: Annotated[str, Query(min_length=1, max_length=64)],
    constituency: Annotated[str | None, Query(min_length=1, max_length=32)] = None,
) -> dict[str, Any]:
    """The caller's stations (from their assignments, or all of ``constituency`` for an observer
    without one), each constituency's candidates with party, the sheet's boxes and the forms."""
    st = state(request)
    principal = await caller(request)

    def read() -> dict[str, Any]:
        with st.db.connect() as conn:
            return get_capture_context(conn, principal, election=election, constituency=constituency)

    return await run_in_threadpool(read)


@router.get(
    "/api/v1/receipts/{index}/qr",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}}},
    summary="A QR code (SVG) of the address where anyone checks log entry `index`",
)
async def get_receipt_qr(request: Request, index: Annotated[int, Path(ge=0, le=2**62)]) -> Response:
    """The log explorer's address for the entry, as a QR code the field app keeps with the receipt."""
    base = str(request.base_url).rstrip("/")
    return Response(receipt_qr_svg(base, index), media_type="image/svg+xml")
