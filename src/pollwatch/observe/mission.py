"""An observation mission: where observers are deployed, who has reported and who is silent, where their
reports disagree, and how often each observer's reports pass the checks.

Deployments tie people to places, so they are access-controlled: only a coordinator (their own
organisation's) or an admin sees them, never the public. Stations for the PVT sample are drawn exactly as
the PVT draws them (:func:`pollwatch.tally.pvt.draw_sample`: the published seed, stratified by
constituency, keys ``<constituency>/<serial>``), so the observers a mission sends to the sample are the
ones whose reports the PVT will count.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection

from pollwatch.auth.roles import AuthRole, Principal
from pollwatch.errors import ForbiddenError, InputError, ProblemList
from pollwatch.observe.forms import FormSpec, Level, forms_for
from pollwatch.storage import Database, observations, places, structure
from pollwatch.storage import submitters as submitter_store
from pollwatch.tally.pvt import draw_sample


class Shift(StrEnum):
    ALL_DAY = "all_day"
    OPENING = "opening"
    VOTING = "voting"
    COUNT = "count"
    TABULATION = "tabulation"


@dataclass(frozen=True)
class Deployment:
    """One observer (by key id) at one station (or, for the tabulation, one constituency) for a shift."""

    observer: str
    constituency: str
    station: int | None = None
    shift: Shift = Shift.ALL_DAY
    accreditation: str = ""
    """The election commission's accreditation number of the observer (private, like the deployment)."""
    supervisor: str = ""
    """Key id of the observer's supervisor (a coordinator or observer of the same organisation)."""


def deploy(conn: Connection, slug: str, wanted: Sequence[Deployment], *, now: dt.datetime) -> int:
    """Store deployments (all or none, every problem named by its row); return how many."""
    election_id, _ = structure.get_election(conn, slug)
    problems = ProblemList()
    rows = []
    found = places.list_station_contexts(conn, election_id, {(d.constituency, d.station) for d in wanted})
    for n, d in enumerate(wanted):
        observer = submitter_store.get_submitter(conn, key_id=d.observer)
        if observer is None or observer.role != "observer":
            problems.add("not a registered observer", where=f"row {n + 1}: observer", found=d.observer)
            continue
        if (d.shift is Shift.TABULATION) != (d.station is None):
            problems.add("the tabulation is observed at a constituency, every other shift at a station",
                         where=f"row {n + 1}: station", found=str(d.station))  # fmt: skip
            continue
        ctx = found.get((d.constituency, d.station))
        if ctx is None:
            problems.add("no such place in this election", where=f"row {n + 1}",
                         found=f"{d.constituency} station {d.station}")  # fmt: skip
            continue
        if d.supervisor and submitter_store.get_submitter(conn, key_id=d.supervisor) is None:
            problems.add("the supervisor is not registered", where=f"row {n + 1}: supervisor",
                         found=d.supervisor[:40])  # fmt: skip
            continue
        rows.append({"election_id": election_id, "submitter_id": observer.id,
                     "constituency_id": ctx.constituency_id, "station_id": ctx.station_id,
                     "shift": d.shift.value, "pvt_sample": False, "accreditation": d.accreditation[:64],
                     "supervisor": d.supervisor[:64], "created_at": now})  # fmt: skip
    problems.raise_if_any("the deployment has mistakes; nothing was stored")
    return len(observations.insert_deployments(conn, rows))


def pvt_stations(conn: Connection, slug: str, *, seed: str, size: int) -> list[tuple[str, int]]:
    """The (constituency, serial) of the PVT sample for ``seed`` and ``size``, as the PVT draws it."""
    if not seed:
        raise InputError("the PVT sample needs its published seed", where="seed")
    stations = structure.list_station_keys(conn, slug)
    keys = [f"{code}/{serial}" for code, serial in stations]
    picked = draw_sample(keys, [code for code, _ in stations], seed=seed, size=size)
    return sorted(stations[i] for i in picked)


def mark_pvt_sample(conn: Connection, slug: str, *, seed: str, size: int) -> dict[str, Any]:
    """Flag the deployments at the PVT sample's stations; say which sampled stations nobody covers."""
    sample = pvt_stations(conn, slug, seed=seed, size=size)
    election_id, _ = structure.get_election(conn, slug)
    deployed = observations.list_deployments(conn, election_id, organisation=None)
    at = {(d["constituency"], d["station"]): d for d in deployed if d["station"] is not None}
    ids = [int(at[s]["id"]) for s in sample if s in at]
    observations.set_pvt_sample(conn, election_id, ids)
    uncovered = [f"{code}/{serial}" for code, serial in sample if (code, serial) not in at]
    return {"seed": seed, "size": len(sample), "covered": len(ids), "uncovered": uncovered}


def mission_status(
    conn: Connection, slug: str, *, organisation: str | None, now: dt.datetime
) -> dict[str, Any]:
    """Who is deployed where, what each has reported, who is silent past a form's due time, where nobody
    is deployed (per constituency: its stations and how many are covered), where two observers' reports
    at one station disagree, and each observer's accuracy. ``organisation`` limits it to one
    organisation's observers (a coordinator's view)."""
    election_id, election = structure.get_election(conn, slug)
    forms = forms_for(election.country)
    deployed = observations.list_deployments(conn, election_id, organisation=organisation)
    checklists = observations.list_checklists(conn, election_id)
    by_observer: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for c in checklists:
        by_observer[str(c["account"])].append(c)
    conflicts, agreement = _conflicts(checklists)
    rows = []
    for d in deployed:
        mine = [c for c in by_observer.get(d["observer"], []) if _same_place(c, d)]
        due = [f for f in _forms_of(forms, Shift(d["shift"])) if _overdue(f, election.date, now)]
        rows.append({
            "observer": d["observer"], "name": d["name"], "organisation": d["organisation"],
            "constituency": d["constituency"], "station": d["station"], "shift": d["shift"],
            "pvt_sample": bool(d["pvt_sample"]), "accreditation": d["accreditation"],
            "supervisor": d["supervisor"],
            "reported": dict(sorted(Counter(c["form"] for c in mine).items())),
            "silent": sorted(f.form for f in due if not any(c["form"] == f.form for c in mine)),
        })  # fmt: skip
    observers = sorted({d["observer"] for d in deployed})
    covered = Counter(
        str(d["constituency"]) for d in {d["station_id"]: d for d in deployed if d["station_id"]}.values()
    )
    every = observations.stations_per_constituency(conn, election_id)
    return {
        "election": slug,
        "organisation": organisation,
        "as_of": now.isoformat(),
        "stations": observations.count_stations(conn, election_id),
        "stations_covered": len({d["station_id"] for d in deployed if d["station_id"] is not None}),
        "deployments": rows,
        "uncovered": [
            {"constituency": code, "stations": n, "covered": covered.get(code, 0)}
            for code, n in sorted(every.items())
            if covered.get(code, 0) < n
        ],
        "silent": [r for r in rows if r["silent"]],
        "conflicts": [
            {**c, "organisations": sorted(c["organisations"])}
            for c in conflicts
            if organisation is None or organisation in c["organisations"]
        ],
        "accuracy": [_accuracy(o, by_observer.get(o, []), agreement) for o in observers],
    }


def _forms_of(forms: dict[str, FormSpec], shift: Shift) -> list[FormSpec]:
    if shift is Shift.ALL_DAY:
        return [f for f in forms.values() if f.level is Level.STATION]
    return [f for f in forms.values() if f.phase == shift.value]


def _overdue(form: FormSpec, polling_day: dt.date, now: dt.datetime) -> bool:
    due = form.due_at(polling_day)
    return due is not None and now > due


def _same_place(checklist: dict[str, Any], deployment: dict[str, Any]) -> bool:
    if deployment["station_id"] is None:
        return bool(checklist["constituency_id"] == deployment["constituency_id"])
    return bool(checklist["station_id"] == deployment["station_id"])


def _conflicts(checklists: Sequence[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[int, bool]]:
    """Stations where observers' reports on one form disagree (quarantined reports left out), and for
    each report compared with another whether it agreed with all of them."""
    groups: dict[tuple[Any, Any, str], list[dict[str, Any]]] = defaultdict(list)
    for c in checklists:
        if not c["quarantined"]:
            groups[(c["constituency_id"], c["station_id"], c["form"])].append(c)
    out, agreement = [], {}
    for (_, _, form), group in groups.items():
        latest = {c["account"]: c for c in group}  # an observer's later report replaces their earlier one
        if len(latest) < 2:
            continue
        reports = list(latest.values())
        tags = sorted({t for r in reports for t in r["answers"]})
        differ = [
            t for t in tags if len({repr(r["answers"].get(t)) for r in reports if t in r["answers"]}) > 1
        ]
        for r in reports:
            agreement[int(r["id"])] = not differ
        if differ:
            out.append({
                "form": form, "leaves": sorted(int(r["leaf_index"]) for r in reports), "tags": differ,
                "organisations": {str(r["organisation"]) for r in reports},
            })  # fmt: skip
    return out, agreement


def _accuracy(observer: str, mine: Sequence[dict[str, Any]], agreement: dict[int, bool]) -> dict[str, Any]:
    compared = [agreement[int(c["id"])] for c in mine if int(c["id"]) in agreement]
    return {
        "observer": observer,
        "checklists": len(mine),
        "passed_qc": sum(not c["quarantined"] for c in mine),
        "compared": len(compared),
        "agreed": sum(compared),
    }


def mission_for(db: Database, slug: str, principal: Principal, *, now: dt.datetime) -> dict[str, Any]:
    """The mission as ``principal`` may see it: an admin every organisation's, a coordinator their own."""
    if principal.role is AuthRole.ADMIN:
        organisation = None
    elif principal.role is AuthRole.COORDINATOR and principal.organisation:
        organisation = principal.organisation
    else:
        raise ForbiddenError(
            "only an admin or an organisation's coordinator sees where its observers are",
            where="authorization", expected="admin or coordinator", found=principal.role.value,
        )  # fmt: skip
    with db.connect() as conn:
        return mission_status(conn, slug, organisation=organisation, now=now)


def read_deployments(text: str) -> list[Deployment]:
    """Deployments from CSV (``observer,constituency,station,shift[,accreditation,supervisor]``; station
    empty for the tabulation)."""
    problems = ProblemList()
    out = []
    reader = csv.DictReader(io.StringIO(text))
    missing = {"observer", "constituency"} - set(reader.fieldnames or [])
    if missing:
        raise InputError("the deployment file lacks columns", expected="observer,constituency,station,shift",
                         found=",".join(reader.fieldnames or []))  # fmt: skip
    for n, row in enumerate(reader, start=2):
        station = (row.get("station") or "").strip()
        shift = (row.get("shift") or "all_day").strip()
        if station and not station.isdigit():
            problems.add("a station serial is a whole number", where=f"line {n}: station", found=station[:20])
            continue
        if shift not in {s.value for s in Shift}:
            problems.add("unknown shift", where=f"line {n}: shift",
                         expected=", ".join(s.value for s in Shift), found=shift[:20])  # fmt: skip
            continue
        extra = [(row.get(name) or "").strip() for name in ("accreditation", "supervisor")]
        out.append(Deployment(row["observer"].strip(), row["constituency"].strip(),
                              int(station) if station else None, Shift(shift), *extra))  # fmt: skip
    problems.raise_if_any("the deployment file has mistakes; nothing was stored")
    return out
