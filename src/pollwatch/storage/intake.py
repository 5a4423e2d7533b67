"""Intake SQL: submitters, tokens, assignments, device keys, submissions, photos and policies."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, CursorResult, and_, bindparam, func, or_, select

from pollwatch.model import CandidateKey, ResultSheet
from pollwatch.storage import intake_schema as ti
from pollwatch.storage import schema as t
from pollwatch.storage.sheets import _TOTALS


@dataclass(frozen=True)
class SubmitterRow:
    """A submitter as the server knows it; ``name``/``phone``/``address`` never leave this table."""

    id: int
    key_id: str
    role: str
    organisation: str


@dataclass(frozen=True)
class AssignmentRow:
    election: str
    constituency: str
    station_serial: int | None


@dataclass(frozen=True)
class StationContext:
    """What validation needs to know about the place a sheet reports on."""

    election_id: int
    constituency_id: int
    station_id: int | None
    station_serial: int | None
    station_number: str | None
    registered: int | None
    booths: int | None
    candidates: dict[CandidateKey, int]


@dataclass(frozen=True)
class ConstituencyContext:
    """A constituency as validation sees it: its id, registered voters and ballot (position -> id)."""

    id: int
    code: str
    registered: int | None
    candidates: dict[CandidateKey, int]


@dataclass(frozen=True)
class SubmissionRow:
    submitter_key: str
    submission_id: str
    content_sha256: str
    leaf_index: int
    sheet_id: int
    received_at: dt.datetime


def create_submitter(
    conn: Connection,
    *,
    key_id: str,
    role: str,
    organisation: str,
    name: str = "",
    phone: str | None = None,
    address: str = "",
) -> SubmitterRow:
    now = dt.datetime.now(dt.UTC)
    values = {"key_id": key_id, "role": role, "organisation": organisation, "name": name}
    result = conn.execute(
        ti.submitters.insert().values(**values, phone=phone, address=address, created_at=now)
    )
    return SubmitterRow(_pk(result), key_id, role, organisation)


def get_submitter(
    conn: Connection, *, key_id: str | None = None, phone: str | None = None
) -> SubmitterRow | None:
    s = ti.submitters
    query = select(s.c.id, s.c.key_id, s.c.role, s.c.organisation)
    query = query.where(s.c.key_id == key_id) if key_id is not None else query.where(s.c.phone == phone)
    row = conn.execute(query).first()
    return None if row is None else SubmitterRow(int(row.id), row.key_id, row.role, row.organisation)


def phone_in_use(conn: Connection, phone: str) -> bool:
    return conn.execute(select(ti.submitters.c.id).where(ti.submitters.c.phone == phone)).first() is not None


def create_token(conn: Connection, *, submitter_id: int, token_sha256: str, label: str = "") -> None:
    conn.execute(
        ti.tokens.insert().values(
            token_sha256=token_sha256,
            submitter_id=submitter_id,
            label=label,
            created_at=dt.datetime.now(dt.UTC),
            revoked=False,
        )
    )


def get_token_submitter(conn: Connection, token_sha256: str) -> SubmitterRow | None:
    s, k = ti.submitters, ti.tokens
    row = conn.execute(
        select(s.c.id, s.c.key_id, s.c.role, s.c.organisation)
        .join(k, k.c.submitter_id == s.c.id)
        .where(k.c.token_sha256 == token_sha256, k.c.revoked.is_(False))
    ).first()
    return None if row is None else SubmitterRow(int(row.id), row.key_id, row.role, row.organisation)


def revoke_tokens(conn: Connection, submitter_id: int) -> int:
    k = ti.tokens
    return conn.execute(k.update().where(k.c.submitter_id == submitter_id).values(revoked=True)).rowcount


def count_active_tokens(conn: Connection, submitter_id: int) -> int:
    """How many of a submitter's tokens are not revoked (0: the submitter is shut out)."""
    k = ti.tokens
    query = select(func.count()).where(k.c.submitter_id == submitter_id, k.c.revoked.is_(False))
    return int(conn.execute(query).scalar_one())


@dataclass(frozen=True)
class DeviceKeyRow:
    """A registered device key and its owner (no personal data)."""

    fingerprint: str
    public_key: str
    created_at: dt.datetime
    revoked: bool
    owner: SubmitterRow


def get_device_key(conn: Connection, fingerprint: str) -> DeviceKeyRow | None:
    """The device key with this fingerprint, revoked or not, with its owner."""
    rows = _device_rows(conn, ti.device_keys.c.fingerprint == fingerprint)
    return rows[0] if rows else None


def list_submitter_devices(conn: Connection, submitter_id: int) -> list[DeviceKeyRow]:
    """Every device key of a submitter, oldest first, revoked ones included."""
    return _device_rows(conn, ti.device_keys.c.submitter_id == submitter_id)


def _device_rows(conn: Connection, condition: Any) -> list[DeviceKeyRow]:
    d, s = ti.device_keys, ti.submitters
    rows = conn.execute(
        select(d.c.fingerprint, d.c.public_key, d.c.created_at, d.c.revoked, s.c.id, s.c.key_id, s.c.role,
               s.c.organisation)
        .join(s, d.c.submitter_id == s.c.id).where(condition).order_by(d.c.id)
    )  # fmt: skip
    return [
        DeviceKeyRow(r.fingerprint, r.public_key, _aware(r.created_at), bool(r.revoked),
                     SubmitterRow(int(r.id), r.key_id, r.role, r.organisation))
        for r in rows
    ]  # fmt: skip


def revoke_device_key(conn: Connection, fingerprint: str) -> bool:
    """Mark one device key revoked (the row stays); False if it was unknown or already revoked."""
    d = ti.device_keys
    query = d.update().where(d.c.fingerprint == fingerprint, d.c.revoked.is_(False)).values(revoked=True)
    return conn.execute(query).rowcount == 1


def create_assignment(
    conn: Connection, *, submitter_id: int, election: str, constituency: str, station_serial: int | None
) -> None:
    conn.execute(
        ti.assignments.insert().values(
            submitter_id=submitter_id,
            election=election,
            constituency=constituency,
            station_serial=station_serial,
        )
    )


def list_assignments(conn: Connection, submitter_id: int) -> list[AssignmentRow]:
    a = ti.assignments
    rows = conn.execute(
        select(a.c.election, a.c.constituency, a.c.station_serial).where(a.c.submitter_id == submitter_id)
    )
    return [AssignmentRow(e, c, s) for e, c, s in rows]


def create_device_key(conn: Connection, *, submitter_id: int, fingerprint: str, public_key: str) -> None:
    conn.execute(
        ti.device_keys.insert().values(
            submitter_id=submitter_id,
            fingerprint=fingerprint,
            public_key=public_key,
            created_at=dt.datetime.now(dt.UTC),
            revoked=False,
        )
    )


def get_device_owner(conn: Connection, fingerprint: str) -> int | None:
    d = ti.device_keys
    row = conn.execute(
        select(d.c.submitter_id).where(d.c.fingerprint == fingerprint, d.c.revoked.is_(False))
    ).first()
    return None if row is None else int(row[0])


def list_device_keys(conn: Connection) -> list[dict[str, Any]]:
    """Public device keys with role and organisation only: what a verifier may publish."""
    d, s = ti.device_keys, ti.submitters
    rows = conn.execute(
        select(d.c.public_key, d.c.fingerprint, s.c.role, s.c.organisation, d.c.revoked)
        .join(s, d.c.submitter_id == s.c.id)
        .order_by(d.c.id)
    )
    return [
        {
            "public_key": r.public_key,
            "fingerprint": r.fingerprint,
            "role": r.role,
            "organisation": r.organisation,
            "revoked": bool(r.revoked),
        }  # fmt: skip
        for r in rows
    ]


def get_station_context(
    conn: Connection,
    *,
    election_id: int,
    constituency: str,
    station_serial: int | None,
    station_number: str | None,
) -> StationContext | None:
    """Resolve a constituency (and station, by serial or printed number); None if unknown."""
    c, s, k = t.constituencies, t.stations, t.candidates
    crow = conn.execute(
        select(c.c.id, c.c.registered_total).where(c.c.election_id == election_id, c.c.code == constituency)
    ).first()
    if crow is None:
        return None
    cands = {
        CandidateKey(int(order)): int(i)
        for order, i in conn.execute(select(k.c.ballot_order, k.c.id).where(k.c.constituency_id == crow.id))
    }
    if station_serial is None and station_number is None:
        return StationContext(election_id, int(crow.id), None, None, None, crow.registered_total, None, cands)
    query = select(s.c.id, s.c.serial, s.c.number, s.c.registered_total, s.c.booths_total).where(
        s.c.constituency_id == crow.id
    )
    if station_serial is not None:
        query = query.where(s.c.serial == station_serial)
    else:
        query = query.where(s.c.number == station_number).order_by(s.c.serial)
    rows = conn.execute(query.limit(2)).all()
    if len(rows) != 1:
        return None
    r = rows[0]
    return StationContext(
        election_id,
        int(crow.id),
        int(r.id),
        int(r.serial),
        r.number,
        r.registered_total,
        r.booths_total,
        cands,
    )


def get_submission(conn: Connection, submitter_key: str, submission_id: str) -> SubmissionRow | None:
    u = ti.submissions
    row = conn.execute(
        select(u).where(u.c.submitter_key == submitter_key, u.c.submission_id == submission_id)
    ).first()
    if row is None:
        return None
    return SubmissionRow(
        row.submitter_key, row.submission_id, row.content_sha256, int(row.leaf_index), int(row.sheet_id),
        _aware(row.received_at),
    )  # fmt: skip


def signature_in_use(conn: Connection, signature: str) -> bool:
    u = ti.submissions
    return conn.execute(select(u.c.id).where(u.c.signature == signature).limit(1)).first() is not None


def insert_sheet(conn: Connection, ctx: StationContext, sheet: ResultSheet) -> int:
    """Insert one sheet and its votes, with references already resolved into ``ctx``."""
    p = sheet.provenance
    values: dict[str, Any] = {
        "election_id": ctx.election_id,
        "constituency_id": ctx.constituency_id,
        "station_id": ctx.station_id,
        "kind": sheet.kind.value,
        "form": sheet.form,
        "label": sheet.label,
        **{name: getattr(sheet.totals, name) for name in _TOTALS},
        "source": p.source,
        "channel": p.channel.value,
        "role": p.role.value,
        "organisation": p.organisation,
        "submitter_key": p.submitter_key,
        "received_at": p.received_at,
        "captured_at": p.captured_at,
        "evidence_sha256": ",".join(p.evidence_sha256),
        "extra": json.loads(json.dumps(dict(sheet.extra))),
    }
    sheet_id = _pk(conn.execute(t.sheets.insert().values(**values)))
    rows = [
        {"sheet_id": sheet_id, "candidate_id": ctx.candidates[key], "votes": votes}
        for key, votes in sheet.votes.items()
    ]
    if rows:
        conn.execute(t.sheet_votes.insert(), rows)
    return sheet_id


def insert_submissions(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Record accepted submissions (keys: the columns of ``submissions`` except ``id``)."""
    from pollwatch.storage.bulk import insert_rows

    if not rows:
        return
    columns = tuple(rows[0])
    values = (tuple(_when(conn, r[c]) if c == "received_at" else r[c] for c in columns) for r in rows)
    insert_rows(conn, ti.submissions, columns, values)


def _when(conn: Connection, value: dt.datetime | None) -> Any:
    """Raw inserts: SQLite stores naive UTC text as SQLAlchemy reads it; PostgreSQL takes the datetime."""
    if value is None or conn.dialect.name != "sqlite":
        return value
    return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(sep=" ")


def record_photo(
    conn: Connection, *, sha256: str, media_type: str, size: int, width: int | None, height: int | None
) -> None:
    if conn.execute(select(ti.photos.c.sha256).where(ti.photos.c.sha256 == sha256)).first() is not None:
        return
    conn.execute(
        ti.photos.insert().values(
            sha256=sha256,
            media_type=media_type,
            size=size,
            width=width,
            height=height,
            received_at=dt.datetime.now(dt.UTC),
        )  # fmt: skip
    )


def get_photo(conn: Connection, sha256: str) -> dict[str, Any] | None:
    row = conn.execute(select(ti.photos).where(ti.photos.c.sha256 == sha256)).first()
    return None if row is None else dict(row._mapping)


def photo_referenced(conn: Connection, sha256: str) -> list[int]:
    """Election ids of submissions naming this photo by full hash or by its 16-hex SMS prefix."""
    u = ti.submissions
    rows = conn.execute(
        select(u.c.election_id)
        .where(or_(u.c.photo_sha256 == sha256, u.c.photo_sha256 == sha256[:16]))
        .distinct()
    )
    return [int(r[0]) for r in rows]


def get_publish_photos(conn: Connection, election_id: int) -> bool:
    """Whether this election publishes photo files (default: no, only their hashes)."""
    p = ti.election_policies
    row = conn.execute(select(p.c.publish_photos).where(p.c.election_id == election_id)).first()
    return bool(row[0]) if row is not None else False


def set_publish_photos(conn: Connection, election_id: int, publish: bool) -> None:
    p = ti.election_policies
    updated = conn.execute(p.update().where(p.c.election_id == election_id).values(publish_photos=publish))
    if updated.rowcount == 0:
        conn.execute(p.insert().values(election_id=election_id, publish_photos=publish))


def count_submissions(conn: Connection, election_id: int | None = None) -> int:
    query = select(func.count()).select_from(ti.submissions)
    if election_id is not None:
        query = query.where(ti.submissions.c.election_id == election_id)
    return int(conn.execute(query).scalar_one())


def list_submission_keys(conn: Connection) -> list[tuple[str, str, int]]:
    """(submitter key, submission id, leaf index) of every accepted submission."""
    u = ti.submissions
    rows = conn.execute(select(u.c.submitter_key, u.c.submission_id, u.c.leaf_index).order_by(u.c.id))
    return [(a, b, int(c)) for a, b, c in rows]


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def get_latest_device_key(conn: Connection, submitter_id: int) -> str | None:
    """The most recently registered, unrevoked device key id of a submitter."""
    d = ti.device_keys
    row = conn.execute(
        select(d.c.public_key)
        .where(d.c.submitter_id == submitter_id, d.c.revoked.is_(False))
        .order_by(d.c.id.desc())
        .limit(1)
    ).first()
    return None if row is None else str(row[0])


def _pk(result: CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


# Batch lookups on the intake hot path. The IN lists are expanding bind parameters of statements built
# once, so SQLAlchemy neither coerces every value nor recompiles: a per-batch query costs what the
# database needs, not what building it in Python needs.
_CONSTITUENCIES = select(
    t.constituencies.c.id, t.constituencies.c.code, t.constituencies.c.registered_total
).where(
    t.constituencies.c.election_id == bindparam("election"),
    t.constituencies.c.code.in_(bindparam("codes", expanding=True)),
)
_CANDIDATES = select(t.candidates.c.constituency_id, t.candidates.c.ballot_order, t.candidates.c.id).where(
    t.candidates.c.constituency_id.in_(bindparam("ids", expanding=True))
)
_STATIONS = select(
    t.stations.c.id, t.stations.c.constituency_id, t.stations.c.serial, t.stations.c.number,
    t.stations.c.registered_total, t.stations.c.booths_total,
).where(
    t.stations.c.constituency_id.in_(bindparam("ids", expanding=True)),
    t.stations.c.serial.in_(bindparam("serials", expanding=True)),
)  # fmt: skip
_SUBMISSIONS = select(ti.submissions).where(
    or_(
        and_(  # both columns of the unique (submitter_key, submission_id) index; exact pairs picked after
            ti.submissions.c.submitter_key.in_(bindparam("keys", expanding=True)),
            ti.submissions.c.submission_id.in_(bindparam("ids", expanding=True)),
        ),
        ti.submissions.c.signature.in_(bindparam("signatures", expanding=True)),
    )
)
_DEVICE_OWNERS = select(ti.device_keys.c.fingerprint, ti.device_keys.c.submitter_id).where(
    ti.device_keys.c.fingerprint.in_(bindparam("fingerprints", expanding=True)),
    ti.device_keys.c.revoked.is_(False),
)
_LEAF_OWNERS = select(ti.submissions.c.leaf_index, ti.submissions.c.submitter_key).where(
    ti.submissions.c.leaf_index.in_(bindparam("indices", expanding=True))
)


def list_constituency_contexts(
    conn: Connection, election_id: int, codes: set[str]
) -> dict[str, ConstituencyContext]:
    """Constituencies of an election by code, with their ballots, in two queries; unknown are absent."""
    if not codes:
        return {}
    crows = conn.execute(_CONSTITUENCIES, {"election": election_id, "codes": sorted(codes)}).all()
    cands: dict[int, dict[CandidateKey, int]] = {int(r.id): {} for r in crows}
    if cands:
        for cid, order, kid in conn.execute(_CANDIDATES, {"ids": list(cands)}):
            cands[int(cid)][CandidateKey(int(order))] = int(kid)
    return {
        r.code: ConstituencyContext(int(r.id), r.code, r.registered_total, cands[int(r.id)]) for r in crows
    }


def list_station_contexts(
    conn: Connection,
    election_id: int,
    places: set[tuple[str, int | None]],
    constituencies: Mapping[str, ConstituencyContext] | None = None,
) -> dict[tuple[str, int | None], StationContext]:
    """Resolve many (constituency, station serial or None) places; unknown are absent.

    ``constituencies`` (for example cached by the caller) saves looking them up again; codes it
    lacks are looked up.
    """
    known = dict(constituencies or {})
    codes = {code for code, _ in places}
    known.update(list_constituency_contexts(conn, election_id, codes - set(known)))
    by_id = {c.id: c for code, c in known.items() if code in codes}
    out: dict[tuple[str, int | None], StationContext] = {}
    serials = sorted({serial for _, serial in places if serial is not None})
    if serials and by_id:
        for r in conn.execute(_STATIONS, {"ids": list(by_id), "serials": serials}):
            c = by_id[int(r.constituency_id)]
            out[(c.code, int(r.serial))] = StationContext(
                election_id, c.id, int(r.id), int(r.serial), r.number, r.registered_total, r.booths_total,
                c.candidates,
            )  # fmt: skip
    for code, serial in places:
        if serial is None and code in known:
            c = known[code]
            out[(code, None)] = StationContext(
                election_id, c.id, None, None, None, c.registered, None, c.candidates
            )
    return {key: ctx for key, ctx in out.items() if key in places}


def list_submissions(
    conn: Connection, pairs: set[tuple[str, str]], signatures: Collection[str] = ()
) -> tuple[dict[tuple[str, str], SubmissionRow], set[str]]:
    """Stored submissions among (submitter key, submission id) pairs, and which of ``signatures`` are
    already used by a stored submission: one query (each side answered by its own index)."""
    if not pairs and not signatures:
        return {}, set()
    keys, ids, wanted = sorted({k for k, _ in pairs}), sorted({i for _, i in pairs}), set(signatures)
    rows = conn.execute(_SUBMISSIONS, {"keys": keys, "ids": ids, "signatures": sorted(wanted)}).all()
    out = {}
    used = {str(row.signature) for row in rows if row.signature in wanted}
    for row in rows:
        if (row.submitter_key, row.submission_id) in pairs:
            out[(row.submitter_key, row.submission_id)] = SubmissionRow(
                row.submitter_key, row.submission_id, row.content_sha256, int(row.leaf_index),
                int(row.sheet_id), _aware(row.received_at),
            )  # fmt: skip
    return out, used


def list_device_owners(conn: Connection, fingerprints: set[str]) -> dict[str, int]:
    """Unrevoked device keys among ``fingerprints``: fingerprint -> submitter id."""
    if not fingerprints:
        return {}
    rows = conn.execute(_DEVICE_OWNERS, {"fingerprints": sorted(fingerprints)})
    return {str(f): int(s) for f, s in rows}


def insert_sheet_batch(conn: Connection, items: Sequence[tuple[StationContext, ResultSheet]]) -> list[int]:
    """Insert many resolved sheets and their votes with one multi-row statement per table."""
    from pollwatch.storage.bulk import insert_rows, insert_with_new_ids
    from pollwatch.storage.sheets import _COLUMNS

    rows = []
    for ctx, sheet in items:
        p = sheet.provenance
        rows.append((
            ctx.election_id, ctx.constituency_id, ctx.station_id, sheet.kind.value, sheet.form,
            sheet.label,
            *(getattr(sheet.totals, name) for name in _TOTALS), p.source, p.channel.value, p.role.value,
            p.organisation, p.submitter_key, _when(conn, p.received_at), _when(conn, p.captured_at),
            ",".join(p.evidence_sha256),
            json.dumps(dict(sheet.extra), sort_keys=True),
        ))  # fmt: skip
    assert _COLUMNS[0] == "id"
    ids = insert_with_new_ids(conn, t.sheets, _COLUMNS[1:], rows)
    votes = [
        (sheet_id, ctx.candidates[key], count)
        for sheet_id, (ctx, sheet) in zip(ids, items, strict=True)
        for key, count in sheet.votes.items()
    ]
    insert_rows(conn, t.sheet_votes, ("sheet_id", "candidate_id", "votes"), votes)
    return ids


def list_leaf_owners(conn: Connection, indices: set[int]) -> dict[int, str]:
    """Leaf index -> submitter key id of the submissions stored at those leaves."""
    if not indices:
        return {}
    rows = conn.execute(_LEAF_OWNERS, {"indices": sorted(indices)})
    return {int(i): str(k) for i, k in rows}


def list_prefix_references(conn: Connection, sha256: str) -> list[tuple[str, int]]:
    """(election slug, leaf index) of sheets that named this photo only by its 16-hex prefix (SMS)."""
    u, e = ti.submissions, t.elections
    rows = conn.execute(
        select(e.c.slug, u.c.leaf_index)
        .join(e, u.c.election_id == e.c.id)
        .where(u.c.photo_sha256 == sha256[:16])
        .order_by(u.c.leaf_index)
    )
    return [(str(slug), int(index)) for slug, index in rows]
