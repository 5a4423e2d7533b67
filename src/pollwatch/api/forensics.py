"""HTTP routes for forensics: the list of tests and one test run on a stored election."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from pollwatch.api.deps import get_db
from pollwatch.errors import NotFoundError
from pollwatch.forensics import DESCRIPTIONS, TESTS, from_store, run_test
from pollwatch.forensics.calibration import note
from pollwatch.storage import Database

router = APIRouter(prefix="/api/v1", tags=["forensics"])


@router.get("/forensics/tests")
def list_tests() -> list[dict[str, str]]:
    """Every forensic test with what it looks for and how it behaved in calibration."""
    return [{"test": name, "description": DESCRIPTIONS[name], "calibration": note(name)} for name in TESTS]


@router.get("/elections/{slug}/forensics/{test}")
def get_forensic_test(
    slug: str,
    test: str,
    db: Annotated[Database, Depends(get_db)],
    replicates: Annotated[int, Query(ge=10, le=2000)] = 200,
    seed: Annotated[int, Query(ge=0, le=2**32 - 1)] = 42,
) -> dict[str, Any]:
    """Run one test on the station-count sheets of a stored election (no submitter data involved)."""
    if test not in TESTS:
        raise NotFoundError(f"no forensic test {test!r}", expected=", ".join(TESTS), found=test)
    with db.gate.slot():  # at most a few at once: anonymous forensics must never starve intake
        result = run_test(test, from_store(db, slug), replicates=replicates, seed=seed)
    summary = result.summary()
    summary["calibration"] = note(test)
    return summary
