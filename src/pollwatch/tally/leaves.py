"""Result sheets read back from log leaves, and tallies recomputed from leaves alone.

The server's projections (:mod:`pollwatch.tally.projector`), the CLI and the offline verifier
(:mod:`pollwatch.ledger.verify`) all turn leaves into :class:`~pollwatch.model.ResultSheet` copies here and
reconcile them with :func:`pollwatch.tally.reconcile.reconcile_station`, so the three can never disagree
about a station's best figure.

A leaf of type ``sheet`` or ``official`` is a result sheet (see docs/ledger.md for both bodies); the copy
made from it carries its leaf index and ``supersedes`` in ``extra`` so that corrections apply.

References
----------
.. [1] pollwatch docs/results.md, "One reconciliation rule".
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Mapping
from dataclasses import fields
from typing import Any, cast

from pollwatch.model import (
    CandidateKey,
    Channel,
    ConstituencyCode,
    Provenance,
    ResultSheet,
    Role,
    SheetKind,
    StationNumber,
    Totals,
)
from pollwatch.tally.reconcile import reconcile

RESULT_TYPES = frozenset({"sheet", "official"})
"""Leaf types that carry a result sheet."""

_TOTALS = tuple(f.name for f in fields(Totals))
"""The totals a leaf may carry, in the order of :class:`~pollwatch.model.Totals`' fields."""
_CHANNELS = {c.value: c for c in Channel}
_KINDS = {k.value: k for k in SheetKind}
_ROLES = {r.value: r for r in Role}


def sheet_from_leaf(index: int, leaf_type: str, body: Mapping[str, Any]) -> ResultSheet | None:
    """The result sheet a leaf carries, or None for leaves of other types or malformed bodies."""
    if leaf_type not in RESULT_TYPES:
        return None
    try:
        kind = _KINDS[body["kind"]]
        role = _ROLES[body.get("role") or ("import" if leaf_type == "official" else "public")]
        # CandidateKey is an int at run time: a cast instead of a call per candidate (a hot loop when
        # the projections are rebuilt).
        votes = cast(dict[CandidateKey, int], {int(k): int(v) for k, v in (body.get("votes") or {}).items()})
        totals = body.get("totals") or {}
        serial, number = _station(body.get("station"), body.get("station_number"))
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
    return ResultSheet(
        kind=kind,
        form=str(body.get("form") or ""),
        constituency=ConstituencyCode(str(body.get("constituency") or "")),
        votes=votes,
        totals=Totals(*[_int_or_none(totals.get(f)) for f in _TOTALS]),
        provenance=Provenance(
            source=_source(leaf_type, body),
            channel=_CHANNELS.get(
                str(body.get("channel") or ""), Channel.IMPORT if leaf_type == "official" else Channel.API
            ),
            role=role,
            organisation=str(body.get("organisation") or ""),
            submitter_key=str(body.get("submitter_key") or ""),
            received_at=_when(body.get("received_at")),
            captured_at=_when(body.get("captured_at")),
            evidence_sha256=(str(body["photo_sha256"]),) if body.get("photo_sha256") else (),
        ),
        station=number,
        station_serial=serial,
        label=str(body.get("label") or ""),
        extra={"leaf_index": index, "supersedes": body.get("supersedes"), "election": body.get("election")},
    )


def tallies_from_sheets(sheets: Iterable[ResultSheet]) -> dict[str, dict[str, Any]]:
    """Per constituency: stations with a best figure and the sum of their best votes by ballot position.

    Every station's copies are reconciled by the one rule (:func:`~pollwatch.tally.reconcile.reconcile`).
    """
    out: dict[str, dict[str, Any]] = {}
    for r in reconcile(sheets):
        if r.best is None:
            continue
        slot = out.setdefault(r.constituency, {"stations": 0, "votes": {}})
        slot["stations"] += 1
        for position, votes in r.best.sheet.votes.items():
            slot["votes"][str(position)] = slot["votes"].get(str(position), 0) + int(votes)
    for slot in out.values():
        slot["votes"] = dict(sorted(slot["votes"].items(), key=lambda kv: int(kv[0])))
    return dict(sorted(out.items()))


def _station(value: object, number: object) -> tuple[int | None, StationNumber | None]:
    """A leaf names its station by serial in the polling scheme (digits), else by printed number."""
    printed = StationNumber(str(number)) if number not in (None, "") else None
    if value is None or value == "":
        return None, printed
    text = str(value)
    if text.isdigit():
        return int(text), printed
    return None, StationNumber(text)


def _int_or_none(value: object) -> int | None:
    if type(value) is int:
        return value
    if value is None or isinstance(value, bool):
        return None
    return int(value) if isinstance(value, int | str) else None


def _when(value: object) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    return _parse_when(value)


@functools.lru_cache(maxsize=65_536)
def _parse_when(value: str) -> dt.datetime | None:
    """A leaf's timestamp; cached because the projector and every audit parse the same copies again
    (and copies of one station often share their capture time)."""
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.UTC)


def _source(leaf_type: str, body: Mapping[str, Any]) -> str:
    source = body.get("source")
    if isinstance(source, Mapping):
        return str(source.get("dataset") or source.get("file") or source.get("url") or leaf_type)[:64]
    return "intake" if leaf_type == "sheet" else "import"
