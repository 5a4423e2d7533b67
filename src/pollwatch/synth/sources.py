"""Reading a real election from the store as the universe a synthetic election is built on."""

from __future__ import annotations

from pollwatch.model import SheetKind
from pollwatch.storage import Database, structure
from pollwatch.storage import sheets as sheet_store
from pollwatch.synth.universe import Contest, RealStation


def contests_from_store(
    db: Database, slug: str, *, assembly: str = "NA", kind: SheetKind = SheetKind.FINAL
) -> list[Contest]:
    """Every ``assembly`` contest with a ``kind`` sheet, with its stations where the scheme lists them."""
    with db.connect() as conn:
        eid, _ = structure.get_election(conn, slug)
        results = {s.constituency: s for s in sheet_store.list_sheets(conn, eid, kind=kind)}
        contests = []
        for summary in structure.list_constituencies(conn, eid, assembly=assembly):
            c = summary.constituency
            sheet = results.get(c.code)
            if sheet is None or not sheet.votes:
                continue
            cid, _ = structure.get_constituency(conn, eid, c.code)
            candidates = {k.ballot_order: k for k in structure.list_candidates(conn, cid)}
            order = sorted(sheet.votes)
            stations = tuple(
                RealStation(s.number, s.registered.total or 0, s.booths.total or 1)
                for s in structure.list_stations(conn, cid)
                if (s.registered.total or 0) > 0
            )
            contests.append(
                Contest(
                    code=c.code,
                    region=c.region,
                    registered=c.registered.total or 0,
                    candidates=tuple((candidates[k].name, candidates[k].party) for k in order),
                    totals=tuple(sheet.votes[k] for k in order),
                    rejected=sheet.totals.rejected or 0,
                    stations=stations,
                )
            )
    return contests
