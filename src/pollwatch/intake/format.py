"""The one submission format for a result sheet, at the edge (pydantic), and its signed body.

A device signs :func:`pollwatch.ledger.records.signed_bytes` of :func:`signing_body`: the leaf body
without the fields the server adds (``signature``, ``received_at``, ``checks``).
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, field_validator

from pollwatch.model import Role, SheetKind

_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
"""Controls (NUL, CR...), format characters (bidi overrides, zero-width), surrogates, line separators."""


def refuse_hidden(value: str) -> str:
    """Refuse any character that is invisible or reorders text: identifiers must read as they compare."""
    for char in value:
        if unicodedata.category(char) in _HIDDEN_CATEGORIES:
            raise ValueError(
                f"contains the control or invisible character U+{ord(char):04X}; "
                "identifiers and codes must be printable characters only"
            )
    return value


def refuse_nul(value: str) -> str:
    """Free text keeps any printable Unicode, line breaks included, but never NUL."""
    if "\x00" in value:
        raise ValueError("contains a NUL character (U+0000)")
    return value


def aware_utc(value: dt.datetime | None) -> dt.datetime | None:
    """A time with a zone, in UTC; refuse one without a zone or out of range once in UTC (year 1, 9999)."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("captured_at needs a time zone (e.g. 2024-02-08T17:30:00Z)")
    try:
        return value.astimezone(dt.UTC)
    except (OverflowError, ValueError) as exc:
        raise ValueError("captured_at is out of range once converted to UTC") from exc


Visible = AfterValidator(refuse_hidden)
"""Add to an identifier's or code's ``Annotated`` type: control and invisible characters are a 422."""
NoNul = AfterValidator(refuse_nul)
"""Add to a free-text field's ``Annotated`` type."""
Count = Annotated[int, Field(strict=True, ge=0, le=10_000_000)]
Text = Annotated[str, StringConstraints(max_length=200), Visible]
PhotoHash = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{16}(?:[0-9a-f]{48})?$")]
"""A photo's SHA-256 in lowercase hex, or only its first 16 hex digits (what an SMS can carry)."""
TOTAL_FIELDS = (
    "valid",
    "rejected",
    "polled",
    "tendered",
    "challenged",
    "votes_male",
    "votes_female",
    "registered",
)


class TotalsIn(BaseModel):
    """The totals boxes of a sheet; leave out what the sheet does not print."""

    model_config = ConfigDict(extra="forbid")

    valid: Count | None = None
    rejected: Count | None = None
    polled: Count | None = None
    tendered: Count | None = None
    challenged: Count | None = None
    votes_male: Count | None = None
    votes_female: Count | None = None
    registered: Count | None = None


class SheetSubmission(BaseModel):
    """One result sheet as a submitter reports it (JSON body of ``POST /api/v1/sheets``)."""

    model_config = ConfigDict(extra="forbid")

    election: Annotated[str, StringConstraints(min_length=1, max_length=64), Visible]
    submission_id: Annotated[
        str, StringConstraints(min_length=8, max_length=128, pattern=r"^[A-Za-z0-9._:\-]+$")
    ] = Field(description="Client-generated id (e.g. a UUID); a retry with the same id is idempotent.")
    kind: SheetKind = SheetKind.STATION_COUNT
    form: Annotated[str, StringConstraints(min_length=1, max_length=32), Visible] | None = Field(
        None, description="The country's name for the sheet; default from the election's rule pack."
    )
    constituency: Annotated[str, StringConstraints(min_length=1, max_length=32), Visible]
    station: Annotated[str, StringConstraints(pattern=r"^[0-9]{1,6}$")] | None = Field(
        None, description="Station serial in the polling scheme (required for station-level sheets)."
    )
    votes: dict[Annotated[str, StringConstraints(pattern=r"^[0-9]{1,3}$")], Count] = Field(
        description="Votes per candidate, keyed by ballot position ('1', '2', ...)."
    )
    totals: TotalsIn = TotalsIn()
    role: Role = Field(description="Capacity of the submitter; must match the token's role.")
    organisation: Text = ""
    captured_at: dt.datetime | None = Field(
        None, description="When the sheet was photographed/recorded (ISO 8601 with time zone)."
    )
    photo_sha256: PhotoHash | None = None
    device_key: Annotated[str, StringConstraints(max_length=64), Visible] | None = Field(
        None, description="ed25519:<base64 public key> of the signing device, with ``signature``."
    )
    signature: Annotated[str, StringConstraints(max_length=128), Visible] | None = None
    supersedes: Annotated[int, Field(strict=True, ge=0, le=2**53 - 1)] | None = None

    _aware = field_validator("captured_at")(aware_utc)

    @field_validator("votes")
    @classmethod
    def _some_votes(cls, value: dict[str, int]) -> dict[str, int]:
        if not value:
            raise ValueError("at least one candidate's votes are needed")
        if len(value) > 400:
            raise ValueError("at most 400 candidates")
        return refuse_duplicate_positions(value)


def refuse_duplicate_positions(votes: dict[str, int]) -> dict[str, int]:
    """Refuse two keys naming one ballot position (``"1"`` and ``"01"``): which count is meant?"""
    seen: dict[int, str] = {}
    for key in votes:
        if int(key) in seen:
            raise ValueError(f"ballot position {int(key)} is given twice (as {seen[int(key)]!r} and {key!r})")
        seen[int(key)] = key
    return votes


def iso(moment: dt.datetime) -> str:
    """UTC ISO 8601 with milliseconds and ``Z``: the one time format of a leaf."""
    text = moment.astimezone(dt.UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def signing_body(
    sub: SheetSubmission, *, form: str, submitter_key: str, organisation: str, captured_at: str
) -> dict[str, Any]:
    """The sheet leaf body without ``signature``, ``received_at`` and ``checks``: what a device signs."""
    return {
        "election": sub.election,
        "submission_id": sub.submission_id,
        "kind": sub.kind.value,
        "form": form,
        "constituency": sub.constituency,
        "station": None if sub.station is None else str(int(sub.station)),
        "votes": {str(int(k)): v for k, v in sub.votes.items()},
        "totals": {name: getattr(sub.totals, name) for name in TOTAL_FIELDS},
        "submitter_key": submitter_key,
        "role": sub.role.value,
        "organisation": organisation,
        "captured_at": captured_at,
        "photo_sha256": sub.photo_sha256,
        "supersedes": sub.supersedes,
    }
