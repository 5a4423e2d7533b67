"""What the public and the field app read of observation: an election's forms, the incident taxonomy, the
incidents reported with their status, cases with their history, shutdowns, and one timeline of them all.

Everything here is what the leaves hold (submitters by pseudonymous key and organisation; people of a case
by reference, named only where their name was published with a reason); the private identities of a
case are never read here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection

from pollwatch.observe.forms import forms_for
from pollwatch.observe.incidents import categories
from pollwatch.storage import observations, structure

CORROBORATION_WINDOW = dt.timedelta(hours=3)
CORROBORATING_ORGANISATIONS = 2


def forms_document(conn: Connection, slug: str) -> dict[str, Any]:
    """The current observation forms of an election's country."""
    _, election = structure.get_election(conn, slug)
    forms = forms_for(election.country)
    return {"election": slug, "country": election.country, "forms": [f.as_dict() for f in forms.values()]}


def categories_document() -> dict[str, Any]:
    return {"categories": [c.as_dict() for c in categories().values()]}


_PUBLIC_INCIDENT = (
    "leaf_index", "category", "severity", "occurred_at", "constituency", "station", "latitude", "longitude",
    "description", "photos", "submitter_key", "organisation", "received_at",
)  # fmt: skip


def incidents_document(conn: Connection, slug: str, *, category: str | None, limit: int) -> dict[str, Any]:
    """An election's incidents, newest first, optionally of one category, each with its status."""
    election_id, _ = structure.get_election(conn, slug)
    every = observations.list_incidents(conn, election_id, limit=100_000)
    verdicts = observations.incident_verdicts(conn, [int(r["id"]) for r in every])
    shown = [r for r in every if category is None or r["category"] == category][:limit]
    return {
        "election": slug,
        "incidents": [
            {**{k: _plain(r.get(k)) for k in _PUBLIC_INCIDENT}, "status": incident_status(r, every, verdicts)}
            for r in shown
        ],
    }


def incident_status(row: dict[str, Any], every: Sequence[dict[str, Any]], verdicts: dict[int, str]) -> str:
    """A coordinator's latest verdict; else ``corroborated`` when reports of the same category at the same
    place from at least two organisations lie within three hours of each other; else ``reported``."""
    verdict = verdicts.get(int(row["id"]))
    if verdict is not None and verdict != "reported":
        return verdict
    place = (row["constituency_id"], row["station_id"])
    organisations = {
        r["organisation"]
        for r in every
        if r["category"] == row["category"]
        and (r["constituency_id"], r["station_id"]) == place
        and abs(_aware(r["occurred_at"]) - _aware(row["occurred_at"])) <= CORROBORATION_WINDOW
    }
    corroborated = place != (None, None) and len(organisations) >= CORROBORATING_ORGANISATIONS
    return "corroborated" if corroborated else "reported"


def cases_document(conn: Connection, slug: str) -> dict[str, Any]:
    """An election's cases, each with its history and current status; identities as published only."""
    election_id, _ = structure.get_election(conn, slug)
    out = []
    for case in observations.list_cases(conn, election_id):
        published = {p["ref"]: p for u in case["updates"] for p in u.get("publish", [])}
        people = [{**p, **published.get(p["ref"], {})} for p in case["people"]]
        history = [
            {"status": u["status"], "on": u["on"], "people": u["people"], "note": u["note"],
             "sources": u["sources"], "leaf_index": u["leaf_index"]}
            for u in case["updates"]
        ]  # fmt: skip
        out.append({
            "leaf_index": case["leaf_index"], "event": case["event"], "started_on": case["started_on"],
            "constituency": case.get("constituency"), "district": case.get("district"),
            "authority": case.get("authority"), "charges": case["charges"], "summary": case["summary"],
            "people": people, "acts": case["acts"], "sources": case["sources"],
            "organisation": case["organisation"], "status": history[-1]["status"] if history else "reported",
            "history": history,
        })  # fmt: skip
    return {"election": slug, "cases": out}


def shutdowns_document(conn: Connection, slug: str) -> dict[str, Any]:
    election_id, _ = structure.get_election(conn, slug)
    return {"election": slug, "shutdowns": observations.list_shutdowns(conn, election_id)}


def timeline_document(conn: Connection, slug: str) -> dict[str, Any]:
    """Incidents, every step of every case, and shutdowns, in time order, each naming its leaf."""
    events: list[dict[str, Any]] = []
    for i in incidents_document(conn, slug, category=None, limit=100_000)["incidents"]:
        events.append({"when": _iso(i["occurred_at"]), "what": "incident", "category": i["category"],
                       "status": i["status"], "constituency": i["constituency"], "station": i["station"],
                       "leaf_index": i["leaf_index"]})  # fmt: skip
    for case in cases_document(conn, slug)["cases"]:
        events.append({"when": case["started_on"], "what": "case", "event": case["event"],
                       "leaf_index": case["leaf_index"], "constituency": case["constituency"]})  # fmt: skip
        for step in case["history"]:
            events.append({"when": step["on"], "what": "case_update", "status": step["status"],
                           "case": case["leaf_index"], "leaf_index": step["leaf_index"]})  # fmt: skip
    for s in shutdowns_document(conn, slug)["shutdowns"]:
        events.append({"when": s["started_at"], "what": "shutdown", "scope": s["scope"],
                       "shutdown_type": s["shutdown_type"],
                       "networks": s["networks"], "leaf_index": s["leaf_index"]})  # fmt: skip
    events.sort(key=lambda e: str(e["when"]))
    return {"election": slug, "events": events}


def _plain(value: Any) -> Any:
    """Times as ISO 8601 in UTC with ``Z`` (SQLite hands them back without their zone)."""
    return _iso(value) if isinstance(value, dt.datetime) else value


def _aware(when: dt.datetime) -> dt.datetime:
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)


def _iso(when: Any) -> str:
    if isinstance(when, dt.datetime):
        return _aware(when).astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    return str(when)
