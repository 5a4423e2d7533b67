"""The rows a projector writes: a station's best figure, and how a constituency's sums move when some of
its stations change (:mod:`pollwatch.tally.projector` applies them a step at a time).

>>> d = Delta()
>>> d.add(None, {"votes": {"1": 10}, "state": "agreed", "registered": 100}, None)
>>> merge_constituency(7, 1, None, d, 1, 0)["votes"]
{'1': 10}

References
----------
.. [1] pollwatch docs/results.md, "Projections".
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pollwatch.errors import StorageError
from pollwatch.model import ResultSheet
from pollwatch.storage import projections as store
from pollwatch.tally.inputs import Settled
from pollwatch.tally.leaves import sheet_from_leaf
from pollwatch.tally.reconcile import (
    CopyState,
    StationReconciliation,
    Version,
    leaf_index,
    settle_station,
)


def parse_copies(copies: Iterable[store.CopyRow]) -> list[ResultSheet]:
    """The result sheets of stored copies (``station_copies`` rows), in their order, skipping malformed
    ones (the projector stored only copies it could parse)."""
    return [s for c in copies if (s := sheet_from_leaf(c.index, c.type, json.loads(c.leaf))) is not None]


def best_votes(r: StationReconciliation) -> dict[str, int]:
    """The best figure's votes by ballot position (as JSON keys)."""
    if r.best is None:
        return {}
    return {str(int(k)): int(v) for k, v in sorted(r.best.sheet.votes.items())}


def best_totals(r: StationReconciliation) -> dict[str, int | None]:
    t = r.best.sheet.totals if r.best is not None else None
    return {
        "valid": t.valid if t else None,
        "rejected": t.rejected if t else None,
        "polled": t.polled if t else None,
    }


@dataclass
class Delta:
    """How a constituency's sums move when some of its stations change."""

    votes: Counter[str] = field(default_factory=Counter)
    reported: int = 0
    registered: int = 0
    unknown: int = 0
    sheet_only: int = 0
    sheet_only_registered: int = 0
    conflicts: int = 0

    def add(self, old: Mapping[str, Any] | None, row: Mapping[str, Any], place: store.Place | None) -> None:
        self.votes.update({k: int(v) for k, v in row["votes"].items()})
        if old is not None:
            self.votes.subtract({k: int(v) for k, v in old["votes"].items()})
            self.conflicts -= old["state"] == CopyState.CONFLICT.value
        self.conflicts += row["state"] == CopyState.CONFLICT.value
        if old is not None:
            return
        self.reported += 1
        registered = row["registered"]
        if place is not None and registered is None:
            self.unknown += 1
        self.registered += max(int(registered or 0), 0)
        if place is None:
            self.sheet_only += 1
            self.sheet_only_registered += max(int(registered or 0), 0)


def merge_constituency(
    cid: int, election_id: int, old: Mapping[str, Any] | None, delta: Delta | None, version: int, last: int
) -> dict[str, Any]:
    d = delta or Delta()
    votes: Counter[str] = Counter({k: int(v) for k, v in (old["votes"] if old else {}).items()})
    votes.update(d.votes)
    base = old or {}
    return {
        "constituency_id": cid,
        "election_id": election_id,
        "votes": {k: votes[k] for k in sorted(votes, key=int)},
        "stations_reported": int(base.get("stations_reported", 0)) + d.reported,
        "registered_reported": int(base.get("registered_reported", 0)) + d.registered,
        "unknown_reported": int(base.get("unknown_reported", 0)) + d.unknown,
        "sheet_only_stations": int(base.get("sheet_only_stations", 0)) + d.sheet_only,
        "sheet_only_registered": int(base.get("sheet_only_registered", 0)) + d.sheet_only_registered,
        "conflicts": int(base.get("conflicts", 0)) + d.conflicts,
        "version": int(base.get("version", 0)) + version,
        "updated_index": last,
    }


def stored_versions(r: StationReconciliation, sheets: Sequence[ResultSheet]) -> dict[str, Any]:
    """What a station row keeps of its reconciliation (its ``versions`` column), so that a reader (the
    audit of a constituency) settles the station again from one copy per version instead of re-reading
    and re-reconciling every copy: each version's earliest copy by its leaf ``index``, its attesters,
    whether an official copy matched it, its number of copies and when its first official copy arrived.
    ``first`` (the leaf index of the station's first copy), ``number`` (the printed number its latest
    copy gives), ``registered`` (what its first copy gives) and ``positions`` (every ballot position its
    copies name) are what a reconciliation of the election's copies in log order takes from the copies
    besides: where it meets the station, what it calls it, and the universe."""
    return {
        "first": min(_index(s) for s in sheets),
        "number": sheets[-1].station if sheets else None,
        "registered": sheets[0].totals.registered if sheets else None,
        "positions": sorted({int(k) for c in sheets for k in c.votes}),
        "versions": [
            {
                "index": _index(v.sheet),
                "attesters": list(v.attesters),
                "official": v.official,
                "copies": v.copies,
                "official_received": v.official_received.isoformat() if v.official_received else None,
            }
            for v in r.versions
        ],
    }


def version_indexes(stored: Mapping[str, Any]) -> list[int]:
    """The leaves of the copies a station row's ``versions`` name (what :func:`settled_from` needs)."""
    return [int(v["index"]) for v in stored["versions"]]


def settled_from(
    stored: Mapping[str, Any], copies: Mapping[int, ResultSheet], *, constituency: str, serial: int | None
) -> Settled:
    """A station's reconciliation settled again from what its row keeps (:func:`stored_versions`) and the
    ``copies`` it names, by leaf index (:func:`version_indexes`)."""
    versions = []
    for v in stored["versions"]:
        sheet = copies.get(int(v["index"]))
        if sheet is None:  # the projector writes a station's copies with its row
            raise StorageError(
                "a station's stored version names a copy the projections do not hold: rebuild them",
                where=f"leaf {v['index']}",
                expected="a row of station_copies",
                found="none",
            )
        received = v["official_received"]
        versions.append(
            Version(
                sheet=sheet,
                attesters=tuple(v["attesters"]),
                official=bool(v["official"]),
                copies=int(v["copies"]),
                first_received=sheet.provenance.received_at,
                official_received=dt.datetime.fromisoformat(received) if received else None,
            )
        )
    station = settle_station(versions, constituency=constituency, serial=serial, number=stored["number"])
    return Settled(station, stored["registered"], tuple(int(k) for k in stored["positions"]))


def _index(sheet: ResultSheet) -> int:
    index = leaf_index(sheet)
    if index is None:  # the projector's copies all come from leaves
        raise StorageError("a projected copy has no leaf index", expected="a copy made from a leaf")
    return index
