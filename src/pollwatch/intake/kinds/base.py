"""What a record kind supplies to the submission core, and what the core lends it while it works.

A kind is one module: its pydantic input schema (fields of :class:`RecordBase` plus its own), where a
record is (for assignments), how it is resolved and validated against the store, its signed body and
leaf, and its storage rows (made again from the leaf alone by ``rows_from_leaves``, for
``pollwatch log restore``). Everything else (roles, device signature, idempotency, replay, the
personal-data walk, the log append in the same transaction, the receipt) is the core's, once for all
kinds (:func:`pollwatch.intake.service.write_batch`).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Protocol

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator
from sqlalchemy import Connection

from pollwatch.auth.roles import AuthRole
from pollwatch.errors import InputError
from pollwatch.intake.checks import Capacity, booth_capacity
from pollwatch.intake.format import PhotoHash, Visible, aware_utc
from pollwatch.ledger.records import LeafRecord
from pollwatch.model import Role
from pollwatch.storage import structure

if TYPE_CHECKING:
    from pollwatch.intake.service import Job

SubmissionId = Annotated[str, StringConstraints(min_length=8, max_length=128, pattern=r"^[A-Za-z0-9._:\-]+$")]
RowIds = list[tuple[int | None, int | None]]
"""(record id, sheet id) of each record a kind stored, in order."""
CONTEXT_TTL = 60.0
"""Seconds a cached place or ballot is trusted (structure barely changes on the night)."""


class RecordBase(BaseModel):
    """The fields every record kind's input has: the core reads only these."""

    model_config = ConfigDict(extra="forbid")

    election: Annotated[str, StringConstraints(min_length=1, max_length=64), Visible]
    submission_id: SubmissionId = Field(
        description="Client-generated id (e.g. a UUID); a retry with the same id is idempotent."
    )
    role: Role = Field(description="Capacity of the submitter; must match the token's role.")
    organisation: Annotated[str, StringConstraints(max_length=200), Visible] = ""
    captured_at: dt.datetime | None = Field(
        None, description="When the record was made on the device (ISO 8601 with time zone)."
    )
    photo_sha256: PhotoHash | None = None
    device_key: Annotated[str, StringConstraints(max_length=64), Visible] | None = Field(
        None, description="ed25519:<base64 public key> of the signing device, with ``signature``."
    )
    signature: Annotated[str, StringConstraints(max_length=128), Visible] | None = None

    _aware = field_validator("captured_at")(aware_utc)


class RecordInput(Protocol):
    """What the core reads of any record (a :class:`RecordBase`, or the older ``SheetSubmission``)."""

    @property
    def election(self) -> str: ...
    @property
    def submission_id(self) -> str: ...
    @property
    def role(self) -> Role: ...
    @property
    def organisation(self) -> str: ...
    @property
    def captured_at(self) -> dt.datetime | None: ...
    @property
    def photo_sha256(self) -> str | None: ...
    @property
    def device_key(self) -> str | None: ...
    @property
    def signature(self) -> str | None: ...


@dataclass(frozen=True)
class Place:
    """Where a record is, for the assignment check: a constituency code and station serial, or neither."""

    constituency: str | None = None
    station_serial: int | None = None


@dataclass(frozen=True)
class Signer:
    """Who the leaf names as submitter (the device key when signed) and the capture time it carries."""

    submitter_key: str
    captured_at: str


@dataclass(frozen=True)
class Draft:
    """A kind's result for one record: the signed body, its flags, and what its storage rows need.

    ``body`` is the leaf body without the fields the server adds (``signature``, ``received_at``,
    ``checks``): exactly what a device signs. ``state`` is the kind's own (the core never reads it).
    """

    election_id: int
    body: Mapping[str, Any]
    checks: tuple[str, ...] = ()
    state: Any = None


@dataclass(frozen=True)
class LoggedRecord:
    """A record already in the log, handed back to its kind to re-create its rows
    (``pollwatch log restore``): its leaf index, the leaf's body, and the times the rows hold.

    ``captured_at`` is None when the server filled it in with the arrival time (the record was sent
    without one), as the submission core's rows have it then.
    """

    index: int
    body: Mapping[str, Any]
    election_id: int
    received_at: dt.datetime
    captured_at: dt.datetime | None


@dataclass(frozen=True)
class ElectionInfo:
    id: int
    rule_pack: str
    capacity: Capacity | None
    date: dt.date | None = None
    country: str = ""
    """ISO 3166-1 alpha-2 code of the election's country (which observation forms apply)."""


def leaf_time(value: object) -> dt.datetime | None:
    """A time as a leaf writes it (ISO 8601, ``Z``), aware; None when absent."""
    if not isinstance(value, str) or not value:
        return None
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.UTC)


CAPTURE_SLACK = dt.timedelta(days=1)
"""How far a device clock may run ahead of the server, and how early before polling day a record may be."""


def verify_captured_at(
    captured_at: dt.datetime | None, *, info: ElectionInfo, received_at: dt.datetime
) -> None:
    """Refuse (422, ``captured_at``) a time after arrival plus a day, or before polling day minus a day."""
    if captured_at is None:
        return
    latest = received_at + CAPTURE_SLACK
    earliest = (
        None if info.date is None else dt.datetime.combine(info.date, dt.time(), dt.UTC) - CAPTURE_SLACK
    )
    if captured_at > latest or (earliest is not None and captured_at < earliest):
        raise InputError(
            "captured_at is not a plausible capture time; nothing was written",
            where="captured_at",
            expected=f"between {earliest or 'polling day'} and {latest}",
            found=captured_at.isoformat(),
            remedy="check the device's clock and time zone",
        )


@dataclass
class Cache:
    """Elections and places, reused across batches (structure barely changes on the night).

    ``kinds`` holds each kind's own cache, by kind name.
    """

    elections: dict[str, ElectionInfo] = field(default_factory=dict)
    contexts: dict[tuple[int, str, int | None], tuple[float, Any]] = field(default_factory=dict)
    constituencies: dict[tuple[int, str], tuple[float, Any]] = field(default_factory=dict)
    kinds: dict[str, dict[Any, Any]] = field(default_factory=dict)


@dataclass
class Batch:
    """One ``write_batch`` call as a kind sees it: the connection, the caches, lookups made for the batch."""

    conn: Connection
    cache: Cache
    found: dict[str, Any] = field(default_factory=dict)
    """Each kind's batch lookups (its ``prefetch`` fills them), by kind name."""
    now: float = field(default_factory=time.monotonic)

    def election(self, slug: str) -> ElectionInfo:
        """The election of this slug (NotFoundError if unknown), cached."""
        info = self.cache.elections.get(slug)
        if info is None:
            election_id, election = structure.get_election(self.conn, slug)
            capacity = booth_capacity(election.rule_pack)
            info = ElectionInfo(election_id, election.rule_pack, capacity, election.date, election.country)
            self.cache.elections[slug] = info
        return info


class RecordKind(Protocol):
    """A plug-in record kind (see the module docstring); register it with ``kinds.register``."""

    name: ClassVar[str]
    """The kind's name: ``submissions.kind``, the ``/api/v1/records/{kind}`` path segment."""
    leaf_type: ClassVar[str]
    """The leaf ``type`` its records enter the log as."""
    schema: ClassVar[type[BaseModel]]
    """Its pydantic input model (a :class:`RecordBase` subclass, or any model with those fields)."""
    roles: ClassVar[frozenset[AuthRole]]
    """Token roles that may submit it (agents, in addition, only where assigned)."""

    def place(self, record: Any) -> Place:
        """Where the record is, from its fields alone (for the assignment check)."""
        ...

    def prefetch(self, batch: Batch, records: Sequence[Any]) -> None:
        """Look up what the batch's records of this kind need, at once (into ``batch.found``)."""
        ...

    def draft(self, batch: Batch, job: Job, signer: Signer) -> Draft:
        """Resolve and validate one record (raising an Error naming the field) and build its body."""
        ...

    def leaf(self, draft: Draft, *, received_at: str, signature: str | None) -> LeafRecord:
        """The leaf record: the body plus the server's fields."""
        ...

    def rows(self, conn: Connection, items: Sequence[tuple[Job, Draft]]) -> RowIds:
        """Insert the kind's storage rows (before the log append, so the log lock is held briefly);
        return (record id, sheet id) per record, in order. The leaf index is in ``submissions``."""
        ...

    def rows_from_leaves(self, batch: Batch, records: Sequence[LoggedRecord]) -> RowIds:
        """Re-create the rows :meth:`rows` stored for records already in the log, from their leaves
        alone (``pollwatch log restore``); (record id, sheet id) per record, in order. Nothing is
        validated again: the log is what was accepted. What never entered the leaf (a case's private
        identities) is not re-created."""
        ...
