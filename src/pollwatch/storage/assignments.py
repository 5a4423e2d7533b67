"""Intake SQL of assignments: the stations or constituencies an agent may report on."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, select

from pollwatch.storage import intake_schema as ti


@dataclass(frozen=True)
class AssignmentRow:
    election: str
    constituency: str
    station_serial: int | None


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
