"""What an enrolled phone may capture, and where: its stations, their ballots, the sheet's boxes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from pollwatch.auth.roles import SUBMITTING, AuthRole, Principal, require_role
from pollwatch.errors import InputError
from pollwatch.intake.checks import default_form
from pollwatch.intake.kinds.checklist import ChecklistKind
from pollwatch.model import SheetKind
from pollwatch.observe.forms import forms_for
from pollwatch.observe.incidents import Severity, categories
from pollwatch.storage import structure

MAX_STATIONS = 2_000
"""At most this many stations in one context (a phone lists them; an agent has a handful)."""
SHEET_TOTALS = ("valid", "rejected", "polled")
"""The totals boxes the app shows for a station count: those the SMS grammar carries too (V R P)."""


def get_capture_context(
    conn: Connection, principal: Principal, *, election: str, constituency: str | None = None
) -> dict[str, Any]:
    """The capture context of ``principal`` in ``election``.

    Stations come from the principal's assignments (a whole constituency when an assignment names
    no station). A submitter without assignments (an observer sent anywhere) names a ``constituency``
    and gets all its stations. Candidates carry their name and party; parties their name. The incident
    taxonomy (codes, SMS numbers, English and Urdu labels) and severities come along, so that incidents
    can be reported offline; every submitting role may report one.
    """
    require_role(principal, SUBMITTING, "capture sheets with the field app")
    election_id, info = structure.get_election(conn, election)
    wanted = _wanted(principal, election, constituency)
    parties = {str(p.code): p.name for p in structure.list_parties(conn, election_id)}
    places, count = [], 0
    for code, serials in wanted.items():
        cid, found = structure.get_constituency(conn, election_id, code)
        stations = [s for s in structure.list_stations(conn, cid) if serials is None or s.serial in serials]
        count += len(stations)
        if count > MAX_STATIONS:
            raise InputError(
                "too many stations for one phone", where="constituency",
                expected=f"at most {MAX_STATIONS:,} stations", found=f"more than {MAX_STATIONS:,}",
            )  # fmt: skip
        places.append(_place(code, found.name, stations, structure.list_candidates(conn, cid), parties))
    forms = [f.as_dict() for f in forms_for(info.country).values()]
    return {
        "election": {"slug": str(info.slug), "name": info.name, "date": info.date.isoformat(),
                     "country": info.country},
        "role": principal.role.value, "organisation": principal.organisation,
        "assigned": bool(principal.assignments),
        "sheet": {"kind": SheetKind.STATION_COUNT.value,
                  "form": default_form(info.rule_pack, SheetKind.STATION_COUNT),
                  "totals": list(SHEET_TOTALS)},
        "places": places,
        "forms": forms if principal.role in ChecklistKind.roles else [],
        "incidents": [c.as_dict() for c in categories().values()],
        "severities": [s.value for s in Severity],
    }  # fmt: skip


def _wanted(principal: Principal, election: str, constituency: str | None) -> dict[str, set[int] | None]:
    """Constituency code -> the serials wanted (None: all of its stations)."""
    mine = [a for a in principal.assignments if a.election in ("", election)]
    if not mine:
        if principal.role is AuthRole.AGENT:
            return {}  # an agent without an assignment may submit nowhere
        return {} if constituency is None else {constituency: None}
    wanted: dict[str, set[int] | None] = {}
    for a in mine:
        if constituency is not None and a.constituency != constituency:
            continue
        held = wanted.get(a.constituency, set())
        wanted[a.constituency] = (
            None if held is None or a.station_serial is None else held | {a.station_serial}
        )
    return wanted


def _place(
    code: str, name: str, stations: list[Any], candidates: list[Any], parties: dict[str, str]
) -> dict[str, Any]:
    return {
        "constituency": code, "name": name,
        "stations": [{"serial": s.serial, "number": str(s.number), "name": s.name,
                      "registered": s.registered.total} for s in stations],
        "candidates": [{"ballot": int(c.ballot_order), "name": c.name,
                        "party": None if c.party is None else str(c.party),
                        "party_name": None if c.party is None else parties.get(str(c.party), str(c.party))}
                       for c in candidates],
    }  # fmt: skip
