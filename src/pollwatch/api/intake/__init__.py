"""HTTP routes of evidence intake: sheets (JSON, multipart, CSV), photos, SMS, submitters, revocation.

One ``router`` gathers the routes of every module; the helpers the web form reuses are exported here.

>>> from fastapi import FastAPI
>>> from pollwatch.api.intake import router
>>> app = FastAPI(); app.include_router(router)
>>> sorted(p for p in app.openapi()["paths"] if p.startswith("/api/v1/sheets"))
['/api/v1/sheets', '/api/v1/sheets/batch', '/api/v1/sheets/csv']
"""

from __future__ import annotations

from fastapi import APIRouter

from pollwatch.api.intake import enrol, photos, records, revocation, sheets, sms, submitters
from pollwatch.api.intake.photos import PhotoStored, link_prefixed_sheets, store_photo
from pollwatch.api.intake.sheets import (
    MAX_BATCH,
    BatchAccepted,
    BatchItem,
    CsvAccepted,
    SheetAccepted,
    answer,
    parse_batch,
    parse_submission,
)
from pollwatch.api.intake.state import (
    IntakeState,
    ReceiptWaiter,
    address,
    caller,
    error_dict,
    model_role,
    read_body,
    state,
)

router = APIRouter()
for _module in (sheets, records, photos, sms, submitters, revocation, enrol):
    router.include_router(_module.router)

__all__ = [
    "MAX_BATCH",
    "BatchAccepted",
    "BatchItem",
    "CsvAccepted",
    "IntakeState",
    "PhotoStored",
    "ReceiptWaiter",
    "SheetAccepted",
    "address",
    "answer",
    "caller",
    "error_dict",
    "link_prefixed_sheets",
    "model_role",
    "parse_batch",
    "parse_submission",
    "read_body",
    "router",
    "state",
    "store_photo",
]
