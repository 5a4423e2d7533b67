"""What the observation kinds share: resolving the place a record names, sources, plausible dates."""

from __future__ import annotations

import abc
import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import Connection

from pollwatch.errors import InputError, VerificationError
from pollwatch.intake.format import NoNul, Visible
from pollwatch.intake.kinds.base import CONTEXT_TTL, Batch, Draft, LoggedRecord, Place, RowIds
from pollwatch.ledger.records import SERVER_FIELDS, LeafRecord
from pollwatch.observe.cases import Grade, SourceKind
from pollwatch.observe.text import screen_text
from pollwatch.storage import observations, places

if TYPE_CHECKING:
    from pollwatch.intake.service import Job


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


Ref = Annotated[str, StringConstraints(pattern=r"^P[1-9][0-9]{0,2}$")]
"""A person's reference within one case (``P1``...``P999``): the only way a leaf names them."""
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=100), Visible]
Url = Annotated[str, StringConstraints(max_length=500, pattern=r"^https?://\S+$"), Visible]


class SourceIn(BaseModel):
    """Where a fact comes from, and how reliable that source is judged."""

    model_config = ConfigDict(extra="forbid")

    kind: SourceKind
    grade: Grade = Field(description="A completely reliable ... E unreliable, F cannot be judged.")
    url: Url | None = None
    note: Annotated[str, StringConstraints(max_length=300), NoNul] = ""


def source_docs(sources: Sequence[SourceIn], where: str) -> list[dict[str, Any]]:
    """The sources as the leaf holds them; a note carrying contact details is refused."""
    for n, s in enumerate(sources):
        screen_text(s.note, where=f"{where}.{n}.note")
    return [s.model_dump(mode="json", exclude_none=True) for s in sources]


def plausible_day(
    day: dt.date, *, where: str, election: dt.date | None, received_at: dt.datetime, before: dt.timedelta
) -> None:
    """Refuse a date more than ``before`` ahead of polling day or after the record's arrival plus a day."""
    latest = (received_at + dt.timedelta(days=1)).date()
    earliest = election - before if election is not None else None
    if day > latest or (earliest is not None and day < earliest):
        raise InputError(
            "not a plausible date for this election; nothing was written",
            where=where, expected=f"between {earliest or 'the campaign'} and {latest}", found=day.isoformat(),
        )  # fmt: skip


class StateRows(abc.ABC):
    """What the observation kinds do alike: a leaf that is the draft's body plus what the server adds, and
    one row per record made from the draft's ``state`` (with the arrival time). A kind names its table's
    insert (:meth:`insert`); ``place`` and ``prefetch`` default to none."""

    leaf_type: ClassVar[str]

    @abc.abstractmethod
    def insert(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> list[int]:
        """Insert the rows of the kind's table; their ids, in order."""

    def place(self, record: Any) -> Place:
        return Place()

    def prefetch(self, batch: Batch, records: Sequence[Any]) -> None:
        return None

    def leaf(self, draft: Draft, *, received_at: str, signature: str | None) -> LeafRecord:
        body = {
            **draft.body,
            "received_at": received_at,
            "signature": signature,
            "checks": list(draft.checks),
        }
        return LeafRecord(self.leaf_type, body)

    def rows(self, conn: Connection, items: Sequence[tuple[Job, Draft]]) -> RowIds:
        return [
            (i, None)
            for i in self.insert(conn, [{**d.state, "received_at": j.received_at} for j, d in items])
        ]

    @abc.abstractmethod
    def state_from_leaf(self, batch: Batch, record: LoggedRecord) -> dict[str, Any]:
        """The row :meth:`draft` would have made (its ``state``), from the record's leaf alone."""

    def rows_from_leaves(self, batch: Batch, records: Sequence[LoggedRecord]) -> RowIds:
        rows = [{**self.state_from_leaf(batch, r), "received_at": r.received_at} for r in records]
        return [(i, None) for i in self.insert(batch.conn, rows)]


def public_record(body: Mapping[str, Any]) -> dict[str, Any]:
    """What a case, case update or shutdown row keeps as its public record: the signed body without
    ``captured_at`` (the leaf's body without what the server added, too)."""
    return {k: v for k, v in body.items() if k not in ("captured_at", *SERVER_FIELDS)}


def logged_place(batch: Batch, record: LoggedRecord) -> places.StationContext | None:
    """The place a logged record names (``constituency`` and ``station``), or None when it names none."""
    constituency = record.body.get("constituency")
    if not constituency:
        return None
    station = record.body.get("station")
    return resolve(batch, record.election_id, str(constituency), None if station is None else int(station))


def logged_record_id(batch: Batch, kind: str, record: LoggedRecord, field: str) -> int:
    """The row id of the earlier record of ``kind`` whose leaf this record's ``field`` names."""
    leaf = int(record.body[field])
    found = observations.records_of_leaves(batch.conn, kind, {leaf}).get(leaf)
    if found is None:
        raise VerificationError(
            f"leaf {record.index} names leaf {leaf} as its {kind}, which holds no {kind} here",
            where=field, expected=f"the leaf of a {kind} record", found=str(leaf),
        )  # fmt: skip
    return found[0]
