"""Tallies recomputed from the log alone: what an offline verifier can check without trusting anyone.

Every ``sheet`` and ``official`` leaf of a ``station_count`` sheet is a copy of its station's count;
each station's copies are reconciled by the same rule the server and the CLI use
(:func:`pollwatch.tally.reconcile.reconcile_station`, corrections by the same submitter applied), and the
best figures are summed per constituency and ballot position.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pollwatch.ledger.records import LeafRecord
from pollwatch.tally.leaves import sheet_from_leaf, tallies_from_sheets

RULE = (
    "per station, the best figure of the reconciliation rule (docs/results.md) over every station_count "
    "copy in the log, a submitter's own corrections withdrawing what they supersede; summed per constituency"
)


def compute_tallies(
    entries: Iterable[tuple[int, LeafRecord]], *, election: str | None = None
) -> dict[str, Any]:
    """Return ``{"election", "rule", "constituencies": {code: {"stations", "votes": {pos: n}}}}``."""
    sheets = []
    for index, record in entries:
        if election is not None and record.body.get("election") != election:
            continue
        sheet = sheet_from_leaf(index, record.type, record.body)
        if sheet is not None:
            sheets.append(sheet)
    return {"election": election, "rule": RULE, "constituencies": tallies_from_sheets(sheets)}
