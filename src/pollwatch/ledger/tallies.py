"""Tallies recomputed from the log alone: what an offline verifier can check without trusting anyone.

For each constituency and candidate (ballot position), the sum of the votes of the latest station sheet
(``kind == "station_count"``) of each station, after dropping every sheet that a later leaf supersedes.
"Latest" is the highest leaf index: the log order, not a claimed time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pollwatch.ledger.records import LeafRecord

STATION_KIND = "station_count"


def compute_tallies(
    entries: Iterable[tuple[int, LeafRecord]], *, election: str | None = None
) -> dict[str, Any]:
    """Return ``{"election", "rule", "constituencies": {code: {"stations", "votes": {pos: n}}}}``."""
    records = list(entries)
    superseded = {int(r.body["supersedes"]) for _, r in records if isinstance(r.body.get("supersedes"), int)}
    latest: dict[tuple[str, str], tuple[int, Mapping[str, Any]]] = {}
    for index, record in records:
        body = record.body
        if record.type != "sheet" or body.get("kind") != STATION_KIND or index in superseded:
            continue
        if election is not None and body.get("election") != election:
            continue
        key = (str(body.get("constituency")), str(body.get("station")))
        if key not in latest or latest[key][0] < index:
            latest[key] = (index, body)
    constituencies: dict[str, dict[str, Any]] = {}
    for (code, _station), (_index, body) in sorted(latest.items()):
        slot = constituencies.setdefault(code, {"stations": 0, "votes": {}})
        slot["stations"] += 1
        for position, votes in dict(body.get("votes") or {}).items():
            slot["votes"][position] = slot["votes"].get(position, 0) + int(votes)
    for slot in constituencies.values():
        slot["votes"] = dict(sorted(slot["votes"].items(), key=lambda kv: (len(kv[0]), kv[0])))
    return {
        "election": election,
        "rule": "sum over stations of the latest non-superseded station_count sheet in log order",
        "constituencies": constituencies,
    }
