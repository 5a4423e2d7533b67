"""The public observation page: a map of incidents by district and one timeline of incidents, cases and
shutdowns, filterable by what and by category; every record links to its log entry. Only what the leaves
hold is shown (people of a case as published, submitters by organisation)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from pollwatch.model import Election
from pollwatch.observe.incidents import categories
from pollwatch.observe.views import timeline_document
from pollwatch.site import maps
from pollwatch.storage import structure
from pollwatch.tally.views import get_structure

WHATS = ("incident", "case", "case_update", "shutdown")


@dataclass(frozen=True)
class ObservationPage:
    election: Election
    events: list[dict[str, Any]]
    counts: dict[str, int]
    categories: list[tuple[str, dict[str, str]]]
    what: str | None
    category: str | None
    place: str | None
    places: list[str]
    map_svg: str | None


def get_observation_page(
    conn: Connection,
    slug: str,
    *,
    what: str | None,
    category: str | None,
    href: str,
    place: str | None = None,
) -> ObservationPage:
    """The timeline (filtered by record, incident category and constituency) and the district map of
    incidents and cases; ``href`` + code links a district."""
    s = get_structure(conn, slug)
    every = timeline_document(conn, slug)["events"]
    shown = [
        e for e in every
        if (what is None or e["what"] == what) and (category is None or e.get("category") == category)
        and (place is None or e.get("constituency") == place or e.get("case") in _cases_at(every, place))
    ]  # fmt: skip
    incidents = Counter(
        str(e["constituency"]) for e in every if e["what"] in ("incident", "case") and e.get("constituency")
    )
    names = {
        str(r.constituency.code): r.constituency.name
        for r in structure.list_constituencies(conn, s.election_id)
    }
    most = max(incidents.values(), default=0)
    shares = {names[c]: (n / most, c) for c, n in incidents.items() if c in names and most}
    svg = maps.choropleth(shares, title="Incidents and cases, by district", href=href) if shares else None
    used = {str(e.get("category")) for e in every if e["what"] == "incident"}
    cats = [(code, c.text) for code, c in categories().items() if code in used]
    places = sorted({str(e["constituency"]) for e in every if e.get("constituency")})
    return ObservationPage(
        s.election,
        shown,
        dict(Counter(str(e["what"]) for e in every)),
        cats,
        what,
        category,
        place,
        places,
        svg,
    )


def _cases_at(events: list[dict[str, Any]], place: str | None) -> set[int]:
    """Leaf indices of the cases at ``place`` (their updates name the case, not the place)."""
    return {int(e["leaf_index"]) for e in events if e["what"] == "case" and e.get("constituency") == place}
