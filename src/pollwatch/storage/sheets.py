"""Result sheets and their per-candidate votes: bulk writing and filtered reading."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, select

from pollwatch.errors import InputError, ProblemList
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
from pollwatch.storage import schema as t
from pollwatch.storage.bulk import insert_rows, next_ids
from pollwatch.storage.structure import candidate_ids, constituency_ids, station_ids

_TOTALS = (
    "valid",
    "rejected",
    "polled",
    "tendered",
    "challenged",
    "votes_male",
    "votes_female",
    "registered",
)
_COLUMNS = (
    "id",
    "election_id",
    "constituency_id",
    "station_id",
    "kind",
    "form",
    "label",
    *_TOTALS,
    "source",
    "channel",
    "role",
    "organisation",
    "submitter_key",
    "received_at",
    "captured_at",
    "evidence_sha256",
    "extra",
)


def insert_sheets(conn: Connection, election_id: int, sheets: Sequence[ResultSheet]) -> list[int]:
    """Bulk-insert sheets and their votes; every reference must resolve or nothing is written."""
    cids = constituency_ids(conn, election_id)
    sids = station_ids(conn, election_id) if any(s.station_serial is not None for s in sheets) else {}
    kids = candidate_ids(conn, election_id)
    _check_references(sheets, cids, sids, kids)
    ids = list(next_ids(conn, t.sheets, len(sheets)))
    origin: dict[int, tuple[Any, ...]] = {}
    insert_rows(
        conn,
        t.sheets,
        _COLUMNS,
        (_sheet_row(i, election_id, s, cids, sids, origin) for i, s in zip(ids, sheets, strict=True)),
    )
    # Per-constituency maps: one dict lookup per vote instead of hashing a (code, key) tuple.
    by_code: dict[ConstituencyCode, dict[CandidateKey, int]] = {}
    for (code, key), kid in kids.items():
        by_code.setdefault(code, {})[key] = kid
    vote_rows = (
        (i, ballot[key], votes)
        for i, s in zip(ids, sheets, strict=True)
        for ballot in (by_code.get(s.constituency, {}),)
        for key, votes in s.votes.items()
    )
    insert_rows(conn, t.sheet_votes, ("sheet_id", "candidate_id", "votes"), vote_rows)
    return ids


def _check_references(
    sheets: Sequence[ResultSheet],
    cids: dict[ConstituencyCode, int],
    sids: dict[tuple[ConstituencyCode, int], int],
    kids: dict[tuple[ConstituencyCode, CandidateKey], int],
) -> None:
    problems = ProblemList()
    ballots: dict[ConstituencyCode, set[CandidateKey]] = {}
    for code, key in kids:
        ballots.setdefault(code, set()).add(key)
    for n, s in enumerate(sheets):
        # The fast path first: a national import checks a million votes here.
        ballot = ballots.get(s.constituency, set())
        station_ok = s.station_serial is None or (s.constituency, s.station_serial) in sids
        if s.constituency in cids and station_ok and ballot.issuperset(s.votes):
            continue
        where = f"sheet {n} ({s.constituency}{'' if s.station is None else ' station ' + s.station})"
        if s.constituency not in cids:
            problems.add(
                "unknown constituency",
                where=where,
                expected="a stored constituency code",
                found=s.constituency,
            )
            continue
        if not station_ok:
            problems.add(
                "unknown station",
                where=where,
                expected="a stored station serial",
                found=str(s.station_serial),
            )
        for key in s.votes:
            if key not in ballot:
                problems.add(
                    "unknown candidate",
                    where=where,
                    expected="a ballot position on this ballot",
                    found=str(key),
                )
        if len(problems.problems) > 50:
            break
    problems.raise_if_any("some sheets refer to things that are not stored; nothing was written", InputError)


_encode = json.JSONEncoder(sort_keys=True).encode
"""One encoder for every row: ``json.dumps(..., sort_keys=True)`` would build a new one per call."""


def _sheet_row(
    sheet_id: int,
    election_id: int,
    s: ResultSheet,
    cids: dict[ConstituencyCode, int],
    sids: dict[tuple[ConstituencyCode, int], int],
    origin: dict[int, tuple[Any, ...]],
) -> tuple[Any, ...]:
    station_id = sids[(s.constituency, s.station_serial)] if s.station_serial is not None else None
    if s.extra:
        extra = dict(s.extra)
        if s.station is not None:
            extra.setdefault("station_number", s.station)
        extra_json = _encode(extra)
    else:
        extra_json = "{}" if s.station is None else '{"station_number": ' + _encode(s.station) + "}"
    t = s.totals
    # Sheets of one import share their provenance object: its columns are computed once.
    p = s.provenance
    columns = origin.get(id(p))
    if columns is None:
        columns = origin[id(p)] = (
            p.source,
            p.channel.value,
            p.role.value,
            p.organisation,
            p.submitter_key,
            p.received_at,
            p.captured_at,
            ",".join(p.evidence_sha256),
        )
    return (
        sheet_id,
        election_id,
        cids[s.constituency],
        station_id,
        s.kind.value,
        s.form,
        s.label,
        t.valid,
        t.rejected,
        t.polled,
        t.tendered,
        t.challenged,
        t.votes_male,
        t.votes_female,
        t.registered,
        *columns,
        extra_json,
    )


def list_sheets(
    conn: Connection,
    election_id: int,
    *,
    kind: SheetKind | None = None,
    constituency: str | None = None,
    source: str | None = None,
) -> list[ResultSheet]:
    """Sheets with their votes, in storage order, filtered by kind, constituency and source."""
    sh, c, st = t.sheets, t.constituencies, t.stations
    query = (
        select(sh, c.c.code, st.c.serial.label("station_serial"), st.c.number.label("station_number"))
        .join(c, sh.c.constituency_id == c.c.id)
        .outerjoin(st, sh.c.station_id == st.c.id)
        .where(sh.c.election_id == election_id)
        .order_by(sh.c.id)
    )
    if kind is not None:
        query = query.where(sh.c.kind == kind.value)
    if constituency is not None:
        query = query.where(c.c.code == constituency)
    if source is not None:
        query = query.where(sh.c.source == source)
    rows = conn.execute(query).all()
    votes = _votes_by_sheet(conn, [int(r.id) for r in rows])
    return [_sheet(r._mapping, votes.get(int(r.id), {})) for r in rows]


def _votes_by_sheet(conn: Connection, ids: list[int]) -> dict[int, dict[CandidateKey, int]]:
    out: dict[int, dict[CandidateKey, int]] = {}
    v, k = t.sheet_votes, t.candidates
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        rows = conn.execute(
            select(v.c.sheet_id, k.c.ballot_order, v.c.votes)
            .join(k, v.c.candidate_id == k.c.id)
            .where(v.c.sheet_id.in_(chunk))
        )
        for sheet_id, order, votes in rows:
            out.setdefault(int(sheet_id), {})[CandidateKey(order)] = int(votes)
    return out


def _sheet(m: Any, votes: dict[CandidateKey, int]) -> ResultSheet:
    extra = m["extra"] if isinstance(m["extra"], dict) else json.loads(m["extra"] or "{}")
    number = m["station_number"] or extra.get("station_number")
    return ResultSheet(
        kind=SheetKind(m["kind"]),
        form=m["form"],
        constituency=ConstituencyCode(m["code"]),
        votes=dict(sorted(votes.items())),
        totals=Totals(**{name: m[name] for name in _TOTALS}),
        provenance=Provenance(
            source=m["source"],
            channel=Channel(m["channel"]),
            role=Role(m["role"]),
            organisation=m["organisation"],
            submitter_key=m["submitter_key"],
            received_at=_aware(m["received_at"]),
            captured_at=_aware(m["captured_at"]),
            evidence_sha256=tuple(h for h in m["evidence_sha256"].split(",") if h),
        ),
        station=StationNumber(number) if number is not None else None,
        station_serial=m["station_serial"],
        label=m["label"],
        extra={k: v for k, v in extra.items() if k != "station_number"},
    )


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    """SQLite returns naive datetimes; pollwatch stores UTC everywhere."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)
