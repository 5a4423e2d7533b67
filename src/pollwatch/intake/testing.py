"""A tiny election for intake tests, demos and the benchmark (no real data needed)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from pollwatch.auth.devices import device_key_id, public_key_of, sign
from pollwatch.intake.format import SheetSubmission, iso, signing_body
from pollwatch.ledger.records import signed_bytes
from pollwatch.model import (
    Booths,
    Candidate,
    CandidateKey,
    Constituency,
    ConstituencyCode,
    Election,
    ElectionSlug,
    Party,
    PartyCode,
    Registered,
    Station,
    StationNumber,
    StationSex,
)
from pollwatch.storage import Database, structure

SLUG = "tiny-2026"


def create_tiny_election(
    db: Database,
    *,
    slug: str = SLUG,
    constituencies: int = 2,
    stations: int = 3,
    candidates: int = 3,
    names: Sequence[tuple[str, str]] = (),
    candidate_names: Sequence[tuple[str, str]] = (),
) -> None:
    """Store constituencies x stations (1,000 registered, 2 booths each) x candidates; ``names`` gives
    the first constituencies a (name, region), ``candidate_names`` the first candidates of every ballot
    an (English, Urdu) name."""
    election = Election(
        ElectionSlug(slug), "PK", "Tiny test election", dt.date(2026, 2, 8), "pakistan", "2023"
    )
    codes = [ConstituencyCode(f"NA-{n}") for n in range(1, constituencies + 1)]
    with db.begin() as conn:
        eid = structure.create_election(conn, election)
        ids = structure.upsert_constituencies(
            conn,
            eid,
            [
                Constituency(
                    code,
                    "NA",
                    "2023",
                    *(names[n] if n < len(names) else ("", "")),
                    registered=Registered(total=1000 * stations),
                )  # fmt: skip
                for n, code in enumerate(codes)
            ],
        )
        structure.insert_stations(
            conn,
            ids=ids,
            stations=[
                Station(
                    code,
                    s,
                    StationNumber(str(s)),
                    sex=StationSex.COMBINED,
                    registered=Registered(total=1000),
                    booths=Booths(total=2),
                )  # fmt: skip
                for code in codes
                for s in range(1, stations + 1)
            ],
            source="test",
        )
        structure.upsert_parties(
            conn, eid, [Party(PartyCode(f"P{k}"), f"Party {k}") for k in range(1, candidates + 1)]
        )
        structure.insert_candidates(
            conn,
            eid,
            [
                Candidate(code, CandidateKey(k), name, PartyCode(f"P{k}"), name_ur)
                for code in codes
                for k in range(1, candidates + 1)
                for name, name_ur in [
                    candidate_names[k - 1] if k <= len(candidate_names) else (f"Candidate {k}", "")
                ]
            ],
            source="test",
        )


def sheet_payload(
    submission_id: str,
    *,
    constituency: str = "NA-1",
    station: str | None = "1",
    votes: tuple[int, ...] = (300, 200, 100),
    rejected: int = 10,
    role: str = "agent",
    election: str = SLUG,
    **extra: Any,
) -> dict[str, Any]:
    """A consistent Form-45 payload (valid = sum of votes, polled = valid + rejected)."""
    valid = sum(votes)
    payload: dict[str, Any] = {
        "election": election,
        "submission_id": submission_id,
        "constituency": constituency,
        "station": station,
        "votes": {str(n): v for n, v in enumerate(votes, start=1)},
        "totals": {"valid": valid, "rejected": rejected, "polled": valid + rejected},
        "role": role,
        "captured_at": "2026-02-08T17:30:00Z",
    }
    payload.update(extra)
    return payload


def sign_payload(
    payload: dict[str, Any], key: Ed25519PrivateKey, *, organisation: str = "", form: str = "Form-45"
) -> dict[str, Any]:
    """Add ``device_key`` and ``signature`` as a device would (the body of docs/intake.md)."""
    device = device_key_id(public_key_of(key))
    sub = SheetSubmission.model_validate({**payload, "device_key": device})
    assert sub.captured_at is not None
    body = signing_body(
        sub,
        form=sub.form or form,
        submitter_key=device,
        organisation=organisation,
        captured_at=iso(sub.captured_at),
    )
    return {**payload, "device_key": device, "signature": sign(key, signed_bytes(body))}


def bearer(token: str) -> dict[str, str]:
    """The Authorization header of an API token."""
    return {"Authorization": f"Bearer {token}"}
