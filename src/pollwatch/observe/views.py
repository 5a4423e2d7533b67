"""What the public and the field app read of observation: an election's forms, the incident taxonomy, and
the incidents reported (as their leaves hold them: submitters by pseudonymous key, never by name)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from pollwatch.observe.forms import forms_for
from pollwatch.observe.incidents import categories
from pollwatch.storage import observations, structure


def forms_document(conn: Connection, slug: str) -> dict[str, Any]:
    """The current observation forms of an election's country."""
    _, election = structure.get_election(conn, slug)
    forms = forms_for(election.country)
    return {"election": slug, "country": election.country, "forms": [f.as_dict() for f in forms.values()]}


def categories_document() -> dict[str, Any]:
    return {"categories": [c.as_dict() for c in categories().values()]}


def incidents_document(conn: Connection, slug: str, *, category: str | None, limit: int) -> dict[str, Any]:
    """An election's incidents, newest first, optionally of one category."""
    election_id, _ = structure.get_election(conn, slug)
    rows = observations.list_incidents(conn, election_id, limit=limit, category=category)
    public = ("id", "category", "severity", "occurred_at", "constituency", "station", "latitude", "longitude",
              "description", "photos", "submitter_key", "organisation", "received_at")  # fmt: skip
    return {"election": slug, "incidents": [{k: r.get(k) for k in public} for r in rows]}
