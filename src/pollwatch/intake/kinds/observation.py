"""What the ``checklist`` and ``incident`` kinds share: resolving the place a record names."""

from __future__ import annotations

from pollwatch.errors import InputError
from pollwatch.intake.kinds.base import CONTEXT_TTL, Batch
from pollwatch.storage import places


def resolve(batch: Batch, election_id: int, constituency: str, station: int | None) -> places.StationContext:
    """The place (cached like the sheets' places), or an error naming ``constituency`` or ``station``."""
    key = (election_id, constituency, station)
    hit = batch.cache.contexts.get(key)
    if hit is not None and batch.now - hit[0] < CONTEXT_TTL:
        ctx = hit[1]
        assert isinstance(ctx, places.StationContext)
        return ctx
    found = places.list_station_contexts(batch.conn, election_id, {(constituency, station)})
    ctx = found.get((constituency, station))
    if ctx is None:
        known = places.list_constituency_contexts(batch.conn, election_id, {constituency})
        where, what = ("station", str(station)) if constituency in known else ("constituency", constituency)
        raise InputError(
            f"no such {where} in this election; nothing was written", where=where, found=what[:40],
            expected="a constituency code and a station serial of the polling scheme",
        )  # fmt: skip
    batch.cache.contexts[key] = (batch.now, ctx)
    return ctx
