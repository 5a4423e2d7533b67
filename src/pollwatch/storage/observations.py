"""Checklists and incidents: their rows, written by the submission core with their leaves, and read back."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from pollwatch.storage import intake_schema as ti
from pollwatch.storage import schema as t
from pollwatch.storage.observe_schema import (
    case_people_private,
    case_updates,
    cases,
    checklists,
    deployments,
    incident_statuses,
    incidents,
    shutdowns,
)


def insert_checklists(conn: Connection, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert checklist rows (the columns of ``checklists`` but ``id``); their ids, in order."""
    return _insert(conn, checklists, rows)


def insert_incidents(conn: Connection, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert incident rows (the columns of ``incidents`` but ``id``); their ids, in order."""
    return _insert(conn, incidents, rows)


def _insert(conn: Connection, table: Any, rows: Sequence[dict[str, Any]]) -> list[int]:
    if not rows:
        return []
    stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    return [int(i) for i in conn.execute(stmt, list(rows)).scalars()]


def count_checklists(conn: Connection, election_id: int, *, quarantined: bool | None = None) -> int:
    query = select(func.count()).select_from(checklists).where(checklists.c.election_id == election_id)
    if quarantined is not None:
        query = query.where(checklists.c.quarantined == quarantined)
    return int(conn.execute(query).scalar_one())


def list_incidents(
    conn: Connection, election_id: int, *, limit: int = 1000, category: str | None = None
) -> list[dict[str, Any]]:
    """An election's incidents, newest first, with their constituency code and station serial (what the
    leaves hold: no personal data)."""
    i, c, s, u = incidents, t.constituencies, t.stations, ti.submissions
    query = (
        select(i, c.c.code.label("constituency"), s.c.serial.label("station"), u.c.leaf_index)
        .select_from(
            i.join(u, (u.c.kind == "incident") & (u.c.record_id == i.c.id))
            .outerjoin(c, c.c.id == i.c.constituency_id)
            .outerjoin(s, s.c.id == i.c.station_id)
        )
        .where(i.c.election_id == election_id)
        .order_by(i.c.occurred_at.desc(), i.c.id.desc()).limit(limit)
    )  # fmt: skip
    if category is not None:
        query = query.where(i.c.category == category)
    return [dict(r._mapping) for r in conn.execute(query)]


def insert_incident_statuses(conn: Connection, rows: Sequence[dict[str, Any]]) -> list[int]:
    return _insert(conn, incident_statuses, rows)


def insert_cases(conn: Connection, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert case rows; each may carry ``private`` (ref -> name, phone, notes), kept apart."""
    ids = _insert(conn, cases, [{k: v for k, v in r.items() if k != "private"} for r in rows])
    private = [
        {"case_id": case_id, "ref": ref, "name": who.get("name") or "", "phone": who.get("phone"),
         "notes": who.get("notes") or ""}
        for case_id, r in zip(ids, rows, strict=True)
        for ref, who in (r.get("private") or {}).items()
    ]  # fmt: skip
    if private:
        conn.execute(insert(case_people_private), private)
    return ids


def insert_case_updates(conn: Connection, rows: Sequence[dict[str, Any]]) -> list[int]:
    return _insert(conn, case_updates, rows)


def insert_shutdowns(conn: Connection, rows: Sequence[dict[str, Any]]) -> list[int]:
    return _insert(conn, shutdowns, rows)


def records_of_leaves(conn: Connection, kind: str, indices: Collection[int]) -> dict[int, tuple[int, int]]:
    """For leaves of records of ``kind``: leaf index -> (record id, election id)."""
    if not indices:
        return {}
    u = ti.submissions
    query = select(u.c.leaf_index, u.c.record_id, u.c.election_id).where(
        u.c.kind == kind, u.c.leaf_index.in_(sorted(indices))
    )
    return {int(i): (int(r), int(e)) for i, r, e in conn.execute(query) if r is not None}


def list_cases(conn: Connection, election_id: int) -> list[dict[str, Any]]:
    """An election's cases (their public records), oldest first, each with its updates in order and the
    leaf index of the case record; never the private identities."""
    u = ti.submissions
    rows = conn.execute(
        select(cases.c.id, cases.c.record, cases.c.received_at, u.c.leaf_index)
        .join(u, (u.c.kind == "case") & (u.c.record_id == cases.c.id))
        .where(cases.c.election_id == election_id)
        .order_by(cases.c.started_on, cases.c.id)
    ).all()
    updates: dict[int, list[dict[str, Any]]] = {}
    if rows:
        query = (
            select(case_updates.c.case_id, case_updates.c.record, case_updates.c.received_at, u.c.leaf_index)
            .join(u, (u.c.kind == "case_update") & (u.c.record_id == case_updates.c.id))
            .where(case_updates.c.case_id.in_([r.id for r in rows]))
            .order_by(case_updates.c.on, case_updates.c.id)
        )  # fmt: skip
        for case_id, record, received_at, leaf_index in conn.execute(query):
            updates.setdefault(int(case_id), []).append(
                {**record, "leaf_index": int(leaf_index), "received_at": received_at}
            )
    return [
        {
            **r.record,
            "leaf_index": int(r.leaf_index),
            "received_at": r.received_at,
            "updates": updates.get(r.id, []),
        }
        for r in rows
    ]


def list_shutdowns(conn: Connection, election_id: int) -> list[dict[str, Any]]:
    u = ti.submissions
    query = (
        select(shutdowns.c.record, u.c.leaf_index)
        .join(u, (u.c.kind == "shutdown") & (u.c.record_id == shutdowns.c.id))
        .where(shutdowns.c.election_id == election_id)
        .order_by(shutdowns.c.started_at, shutdowns.c.id)
    )  # fmt: skip
    return [{**record, "leaf_index": int(i)} for record, i in conn.execute(query)]


def incident_verdicts(conn: Connection, incident_ids: Collection[int]) -> dict[int, str]:
    """The latest coordinator verdict on each incident that has one."""
    if not incident_ids:
        return {}
    s = incident_statuses
    rows = conn.execute(
        select(s.c.incident_id, s.c.status).where(s.c.incident_id.in_(sorted(incident_ids))).order_by(s.c.id)
    )
    return {int(i): str(status) for i, status in rows}


def cases_by_leaf(conn: Connection, indices: Collection[int]) -> dict[int, tuple[int, int, dict[str, Any]]]:
    """For case leaves: leaf index -> (case id, election id, the case's public record)."""
    found = records_of_leaves(conn, "case", indices)
    if not found:
        return {}
    rows = conn.execute(
        select(cases.c.id, cases.c.record).where(cases.c.id.in_([r for r, _ in found.values()]))
    )
    records = {int(i): dict(r) for i, r in rows}
    return {leaf: (rid, eid, records[rid]) for leaf, (rid, eid) in found.items() if rid in records}


def observation_leaves(conn: Connection, constituency_id: int) -> list[int]:
    """Leaf indices of the checklists and incidents about one constituency, in log order."""
    u = ti.submissions
    found: list[int] = []
    for kind, table in (("checklist", checklists), ("incident", incidents)):
        query = select(u.c.leaf_index).join(table, (u.c.kind == kind) & (u.c.record_id == table.c.id))
        found += [
            int(i) for i in conn.execute(query.where(table.c.constituency_id == constituency_id)).scalars()
        ]
    return sorted(found)


def insert_deployments(conn: Connection, rows: Sequence[dict[str, Any]]) -> list[int]:
    return _insert(conn, deployments, rows)


def list_deployments(conn: Connection, election_id: int, *, organisation: str | None) -> list[dict[str, Any]]:
    """Deployments with the observer's key, organisation and name (a coordinator's view, never public),
    the constituency code and the station serial; only one organisation's when ``organisation`` is given."""
    d, sub, c, s = deployments, ti.submitters, t.constituencies, t.stations
    query = (
        select(d.c.id, d.c.shift, d.c.pvt_sample, d.c.station_id, d.c.constituency_id, d.c.accreditation,
               d.c.supervisor,
               sub.c.key_id.label("observer"), sub.c.organisation, sub.c.name,
               c.c.code.label("constituency"), s.c.serial.label("station"))
        .select_from(d.join(sub, sub.c.id == d.c.submitter_id).join(c, c.c.id == d.c.constituency_id)
                     .outerjoin(s, s.c.id == d.c.station_id))
        .where(d.c.election_id == election_id)
        .order_by(c.c.code, s.c.serial, d.c.id)
    )  # fmt: skip
    if organisation is not None:
        query = query.where(sub.c.organisation == organisation)
    return [dict(r._mapping) for r in conn.execute(query)]


def list_checklists(conn: Connection, election_id: int) -> list[dict[str, Any]]:
    """Every checklist of an election with the key of the account that sent it (as in ``submissions``)."""
    k, u = checklists, ti.submissions
    query = (
        select(k.c.id, k.c.form, k.c.phase, k.c.constituency_id, k.c.station_id, k.c.answers,
               k.c.quarantined, k.c.qc_failures, k.c.organisation, k.c.received_at,
               u.c.submitter_key.label("account"), u.c.leaf_index)
        .join(u, (u.c.kind == "checklist") & (u.c.record_id == k.c.id))
        .where(k.c.election_id == election_id)
        .order_by(k.c.id)
    )  # fmt: skip
    return [dict(r._mapping) for r in conn.execute(query)]


def count_stations(conn: Connection, election_id: int) -> int:
    c, s = t.constituencies, t.stations
    query = select(func.count()).select_from(s.join(c, c.c.id == s.c.constituency_id))
    return int(conn.execute(query.where(c.c.election_id == election_id)).scalar_one())


def set_pvt_sample(conn: Connection, election_id: int, deployment_ids: Collection[int]) -> None:
    """Flag exactly these deployments of the election as at PVT-sample stations."""
    d = deployments
    conn.execute(update(d).where(d.c.election_id == election_id).values(pvt_sample=False))
    if deployment_ids:
        conn.execute(update(d).where(d.c.id.in_(sorted(deployment_ids))).values(pvt_sample=True))


def stations_per_constituency(conn: Connection, election_id: int) -> dict[str, int]:
    """Polling stations of each constituency of an election, by code."""
    c, s = t.constituencies, t.stations
    query = (
        select(c.c.code, func.count(s.c.id))
        .join(s, s.c.constituency_id == c.c.id)
        .where(c.c.election_id == election_id)
        .group_by(c.c.code)
    )
    return {str(code): int(n) for code, n in conn.execute(query)}
