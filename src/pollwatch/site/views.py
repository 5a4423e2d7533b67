"""What each dashboard page shows, read from the projections only.

* nation / region: :func:`pollwatch.tally.views.live_tally` over the election (one read of the
  constituency rows), the coverage triple from one grouped count of the station rows, the flagged seats
  from the stored audits (:func:`pollwatch.audit.views.audit_of_election`, time-bounded);
* constituency: its own tally row, its audit, one page of its station reconciliations;
* station: its reconciliation and every copy in its projection row.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from pollwatch.audit.views import audit_constituency, audit_of_election
from pollwatch.model import Election, ResultSheet
from pollwatch.site.seat import SeatExtras, get_seat_extras
from pollwatch.storage import log as log_store
from pollwatch.storage import photos as photo_store
from pollwatch.storage import projections as store
from pollwatch.storage import structure
from pollwatch.tally.live import ConstituencyTally, PartyTally
from pollwatch.tally.projector import NAME
from pollwatch.tally.reconcile import CopyState, StationReconciliation
from pollwatch.tally.views import (
    StationPage,
    constituency_version,
    count_states_by_constituency,
    get_reconciliation,
    get_structure,
    list_other_sheets,
    list_reconciliations,
    list_station_copies,
    live_tally,
)

WITH_SHEET = (CopyState.SINGLE_SOURCE.value, CopyState.AGREED.value, CopyState.CONFLICT.value)
"""States of a station with at least one independent (non-official) copy."""
STATES = ("missing", "single_source", "agreed", "conflict", "official_only")
SEVERITY_RANK = {"error": 0, "warning": 1, "info": 2}
PAGE_SIZE = 50
AUDIT_BUDGET = 0.05
"""Seconds a page may spend bringing stale constituency audits up to date (the rest are named stale)."""
STATES_TTL = 2.0
"""Seconds the per-constituency state counts (one grouped scan of the station rows) are shared."""


@dataclass(frozen=True)
class Coverage:
    """KawalPemilu's triple: stations with a sheet / with agreeing independent copies / in the scheme."""

    with_sheet: int
    agreeing: int
    total: int
    registered_covered: int
    registered_total: int

    @staticmethod
    def of(rows: Sequence[ConstituencyTally], states: Mapping[str, Mapping[str, int]]) -> Coverage:
        return Coverage(
            with_sheet=sum(sum(states.get(r.code, {}).get(s, 0) for s in WITH_SHEET) for r in rows),
            agreeing=sum(states.get(r.code, {}).get(CopyState.AGREED.value, 0) for r in rows),
            total=sum(r.stations_expected for r in rows),
            registered_covered=sum(r.registered_reported for r in rows),
            registered_total=sum(r.registered_expected for r in rows),
        )


@dataclass(frozen=True)
class SeatRow:
    """One constituency in an area's table."""

    code: str
    name: str
    region: str
    tally: ConstituencyTally
    coverage: Coverage
    findings: int


@dataclass(frozen=True)
class AreaRow:
    """One region (province) of the nation with its coverage."""

    region: str
    seats: int
    coverage: Coverage


@dataclass(frozen=True)
class Flagged:
    """A seat with audit findings: how many of each kind and the worst severity."""

    code: str
    severity: str
    kinds: dict[str, int]


@dataclass(frozen=True)
class AreaPage:
    """The nation (``region`` None) or one region: parties, coverage, seats, flagged seats."""

    election: Election
    assemblies: list[str]
    assembly: str | None
    regions: list[AreaRow]
    region: str | None
    parties: list[PartyTally]
    coverage: Coverage
    seats: list[SeatRow]
    flagged: list[Flagged]
    stale_audits: list[str]
    district_share: dict[str, tuple[float, str]] = field(default_factory=dict)
    """Constituency name -> (share of stations with a sheet, code): what the map colours."""


_NAMES: dict[tuple[str, str], tuple[int, dict[str, str]]] = {}
_NAMES_LOCK = threading.Lock()


def _names(conn: Connection, slug: str) -> dict[str, str]:
    """Constituency names by code, cached while the election's structure is the same object."""
    s = get_structure(conn, slug)
    key = (conn.engine.url.render_as_string(hide_password=True), slug)
    with _NAMES_LOCK:
        hit = _NAMES.get(key)
    if hit is not None and hit[0] == id(s):
        return hit[1]
    names = {
        str(r.constituency.code): r.constituency.name
        for r in structure.list_constituencies(conn, s.election_id)
    }
    with _NAMES_LOCK:
        _NAMES[key] = (id(s), names)
    return names


_STATES: dict[tuple[str, str], tuple[float, dict[str, dict[str, int]]]] = {}


def _states(conn: Connection, slug: str) -> dict[str, dict[str, int]]:
    """Every constituency's state counts, shared by all pages for :data:`STATES_TTL` seconds."""
    key = (conn.engine.url.render_as_string(hide_password=True), slug)
    now = time.monotonic()
    with _NAMES_LOCK:
        hit = _STATES.get(key)
    if hit is not None and now - hit[0] < STATES_TTL:
        return hit[1]
    found = count_states_by_constituency(conn, slug)
    with _NAMES_LOCK:
        _STATES[key] = (now, found)
    return found


_STATES_AT: dict[tuple[str, str], tuple[int, dict[str, dict[str, int]]]] = {}
_SCAN_LOCK = threading.Lock()


def _states_now(conn: Connection, slug: str) -> dict[str, dict[str, int]]:
    """Every constituency's state counts as of the projection's cursor: one grouped scan per cursor,
    shared by the live blocks of every seat that changed at once (one scan instead of one per seat;
    threads asking while it runs wait for it rather than scanning too)."""
    key = (conn.engine.url.render_as_string(hide_password=True), slug)
    with _SCAN_LOCK:
        cursor = store.get_cursor(conn, NAME)
        hit = _STATES_AT.get(key)
        if hit is not None and hit[0] >= cursor:
            return hit[1]
        found = count_states_by_constituency(conn, slug)
        _STATES_AT[key] = (cursor, found)
        return found


def get_area_page(
    conn: Connection,
    slug: str,
    *,
    assembly: str | None = None,
    region: str | None = None,
    audit: bool = True,
) -> AreaPage:
    """The nation's page (or one region's): one tally read, one grouped count, the stored audits
    (``audit=False``: no flagged seats, for the live blocks that show only sums)."""
    s = get_structure(conn, slug)
    assemblies = sorted({p.assembly for p in s.places})
    tally = live_tally(conn, slug, assembly=assembly, only_constituency=False)
    rows = tally.constituencies()
    regions_all = sorted({r.region for r in rows})
    if region is not None and region not in regions_all:
        from pollwatch.errors import NotFoundError

        raise NotFoundError(
            "no such region in this election", where="region", expected=", ".join(regions_all), found=region
        )
    states = _states(conn, slug)
    names = _names(conn, slug)
    audited = audit_of_election(conn, slug, assembly=assembly, budget=AUDIT_BUDGET) if audit else {}
    per_seat: dict[str, list[Mapping[str, Any]]] = {}
    for f in audited.get("findings", []):
        per_seat.setdefault(str(f["where"]).split("/", 1)[0], []).append(f)
    kept = [r for r in rows if region is None or r.region == region]
    seats = [
        SeatRow(
            r.code,
            names.get(r.code, ""),
            r.region,
            r,
            Coverage.of([r], states),
            len(per_seat.get(r.code, [])),
        )
        for r in kept
    ]
    areas = [
        AreaRow(
            g, sum(1 for r in rows if r.region == g), Coverage.of([r for r in rows if r.region == g], states)
        )
        for g in regions_all
    ]
    parties = _parties(kept, tally.parties(by_region=False), region is None)
    flagged = sorted(
        (_flag(code, fs) for code, fs in per_seat.items() if any(r.code == code for r in kept)),
        key=lambda f: (SEVERITY_RANK.get(f.severity, 3), -sum(f.kinds.values()), f.code),
    )
    share = {
        names.get(r.code, r.code): (c.with_sheet / c.total if c.total else 0.0, r.code)
        for r, c in ((x.tally, x.coverage) for x in seats)
    }
    return AreaPage(
        s.election, assemblies, assembly, areas, region, parties, Coverage.of(kept, states), seats,
        flagged, list(audited.get("stale", [])), share,
    )  # fmt: skip


def _parties(rows: Sequence[ConstituencyTally], national: list[PartyTally], whole: bool) -> list[PartyTally]:
    """Seats led and decided per party: the tally's national figures, or recounted over ``rows``."""
    if whole:
        return sorted(national, key=lambda p: (-p.leading, -p.votes, p.party))
    votes: Counter[str] = Counter()
    leading: Counter[str] = Counter()
    decided: Counter[str] = Counter()
    for r in rows:
        for c in r.candidate_votes():
            votes[str(c["party"])] += int(c["votes"])
        entry = r.entry(r.leader)
        if entry is not None:
            leading[entry.party] += 1
            decided[entry.party] += int(r.decided)
    return [
        PartyTally(region="", party=p, votes=v, leading=leading[p], decided=decided[p])
        for p, v in sorted(votes.items(), key=lambda kv: (-leading[kv[0]], -kv[1], kv[0]))
    ]


def _flag(code: str, findings: list[Mapping[str, Any]]) -> Flagged:
    worst = min((str(f["severity"]) for f in findings), key=lambda s: SEVERITY_RANK.get(s, 3))
    return Flagged(code, worst, dict(Counter(str(f["kind"]) for f in findings).most_common()))


@dataclass(frozen=True)
class Official:
    """A constituency-level sheet (Form-47/48/49 or an official figure) beside the signed sum."""

    form: str
    kind: str
    role: str
    votes: dict[int, int]
    leaf_index: int | None


@dataclass(frozen=True)
class StationTable:
    """One page of a constituency's stations, filtered by state, sorted within the page."""

    stations: list[StationReconciliation]
    state: str | None
    sort: str
    after: int
    next_after: int | None


@dataclass(frozen=True)
class ConstituencyPage:
    election: Election
    code: str
    name: str
    tally: ConstituencyTally
    coverage: Coverage
    states: dict[str, int]
    officials: list[Official]
    findings: list[dict[str, Any]]
    table: StationTable
    extras: SeatExtras | None = None
    """Recount and re-poll figures and the station map (left out of the live result block)."""


def get_constituency_page(
    conn: Connection,
    slug: str,
    code: str,
    *,
    state: str | None = None,
    sort: str = "serial",
    after: int = 0,
    light: bool = False,
) -> ConstituencyPage:
    """One seat: its tally row, the official sheets, its audit ranked by severity, a page of stations
    (``light``: without the audit and the stations, for the live result block)."""
    s = get_structure(conn, slug)
    tally = live_tally(conn, slug, constituency=code).constituencies()[0]
    if light:
        states = _states_now(conn, slug).get(code, {})
    else:
        states = count_states_by_constituency(conn, slug, constituency=code).get(code, {})
    if state is not None and state not in STATES:
        state = None
    officials = [_official(x) for x in list_other_sheets(conn, slug, code)]
    if light:
        page = StationPage([], None, 0)
        findings: list[dict[str, Any]] = []
    else:
        page = list_reconciliations(conn, slug, constituency=code, state=state, after=after, limit=PAGE_SIZE)
        report = audit_constituency(conn, slug, code)
        findings = sorted(
            (f.as_dict() for f in report.findings),
            key=lambda f: (SEVERITY_RANK.get(str(f["severity"]), 3), str(f["kind"]), str(f["where"])),
        )
    stations = sorted(page.stations, key=_sort_key(sort))
    extras = None if light else get_seat_extras(conn, slug, tally, rejected=0, href=f"{code}/stations/")
    return ConstituencyPage(
        s.election, code, _names(conn, slug).get(code, ""), tally, Coverage.of([tally], {code: states}),
        states, officials, findings, StationTable(stations, state, sort, after, page.next_after), extras,
    )  # fmt: skip


SORTS = ("serial", "state", "polled", "copies")


def _sort_key(sort: str) -> Any:
    if sort == "state":
        return lambda r: (STATES.index(r.state.value), r.serial or 0)
    if sort == "polled":
        return lambda r: (-(_polled(r) or 0), r.serial or 0)
    if sort == "copies":
        return lambda r: (-sum(v.copies for v in r.versions), r.serial or 0)
    return lambda r: r.serial or 0


def _polled(r: StationReconciliation) -> int | None:
    return r.best.sheet.totals.polled if r.best is not None else None


def _official(sheet: ResultSheet) -> Official:
    return Official(
        form=sheet.form or sheet.kind.value,
        kind=sheet.kind.value,
        role=sheet.provenance.role.value,
        votes={int(k): int(v) for k, v in sheet.votes.items()},
        leaf_index=_leaf(sheet),
    )


def _leaf(sheet: ResultSheet) -> int | None:
    value = sheet.extra.get("leaf_index")
    return int(value) if value is not None else None


@dataclass(frozen=True)
class CopyView:
    """One copy of a station's sheet as the public sees it: pseudonymous key and role, never a name."""

    leaf_index: int | None
    role: str
    key: str
    signed: bool
    """The leaf carries a device signature, verified at intake before the sheet was logged."""
    received: dt.datetime | None
    votes: dict[int, int]
    valid: int | None
    rejected: int | None
    polled: int | None
    photos: tuple[str, ...]


@dataclass(frozen=True)
class StationView:
    election: Election
    code: str
    name: str
    serial: int
    reconciliation: StationReconciliation
    copies: list[CopyView]
    candidates: list[dict[str, Any]]
    photos_published: bool
    """The election publishes photo files (else only their hashes are public)."""


def station_version(conn: Connection, slug: str, code: str) -> tuple[int, int, bool]:
    """What a station's page changes with: its constituency's projection version, the photo policy."""
    s = get_structure(conn, slug)
    return (*constituency_version(conn, slug, code), photo_store.get_publish_photos(conn, s.election_id))


def get_station_page(conn: Connection, slug: str, code: str, serial: int) -> StationView:
    """One station: its reconciliation and every copy with its log index."""
    s = get_structure(conn, slug)
    rec = get_reconciliation(conn, slug, code, serial)
    copies = [_copy(c, signed) for c, signed in list_station_copies(conn, slug, code, serial)]
    candidates = [e.as_dict() for _, e in sorted(s.ballots.entries.get(code, {}).items())]
    published = photo_store.get_publish_photos(conn, s.election_id)
    name = _names(conn, slug).get(code, "")
    return StationView(s.election, code, name, serial, rec, copies, candidates, published)


def _copy(sheet: ResultSheet, signed: bool) -> CopyView:
    p = sheet.provenance
    return CopyView(
        leaf_index=_leaf(sheet),
        role=p.role.value,
        key=p.submitter_key[:16] if p.submitter_key else "",
        signed=signed,
        received=p.received_at,
        votes={int(k): int(v) for k, v in sheet.votes.items()},
        valid=sheet.totals.valid,
        rejected=sheet.totals.rejected,
        polled=sheet.totals.polled,
        photos=tuple(p.evidence_sha256),
    )


@dataclass(frozen=True)
class FindingsPage:
    election: Election
    findings: list[dict[str, Any]]
    kinds: dict[str, int]
    regions: list[str]
    kind: str | None
    region: str | None
    severity: str | None
    stale: list[str]


_STATION = re.compile(r"^([^/]+)/station (\d+)$")


def evidence_link(where: str) -> str:
    """The page a finding's ``where`` points at, relative to the election: ``c/NA-2/stations/2`` for
    ``NA-2/station 2``, else the constituency's page."""
    found = _STATION.match(where)
    if found:
        return f"c/{found[1]}/stations/{found[2]}"
    return "c/" + where.split("/", 1)[0]


def get_findings_page(
    conn: Connection,
    slug: str,
    *,
    kind: str | None = None,
    region: str | None = None,
    severity: str | None = None,
) -> FindingsPage:
    """Every audit finding of the election, filtered by kind, region (province) and severity."""
    s = get_structure(conn, slug)
    region_of = {p.code: p.region for p in s.places}
    audit = audit_of_election(conn, slug, budget=AUDIT_BUDGET)
    every = audit["findings"]
    kept = [
        f
        for f in every
        if (kind is None or f["kind"] == kind)
        and (severity is None or f["severity"] == severity)
        and (region is None or region_of.get(str(f["where"]).split("/", 1)[0]) == region)
    ]
    kept = [{**f, "link": evidence_link(str(f["where"]))} for f in kept]
    kept.sort(key=lambda f: (SEVERITY_RANK.get(str(f["severity"]), 3), str(f["where"]), str(f["kind"])))
    return FindingsPage(
        s.election, kept, dict(Counter(str(f["kind"]) for f in every).most_common()),
        sorted(set(region_of.values())), kind, region, severity, list(audit.get("stale", [])),
    )  # fmt: skip


@dataclass(frozen=True)
class LogPage:
    """The latest signed checkpoint (its note as served) and who cosigned it."""

    note: str
    size: int
    log_size: int
    cosigners: list[str]
    index: int | None


def get_log_page(conn: Connection, *, index: int | None = None) -> LogPage:
    """The log explorer's server side: the latest checkpoint; the browser fetches tiles and verifies."""
    state = log_store.get_state(conn)
    stored = log_store.get_checkpoint(conn, state.checkpoint_size) if state.checkpoint_size else None
    cosigners = [
        line.removeprefix("\u2014 ").rsplit(" ", 1)[0] for line in (stored.cosignatures if stored else ())
    ]
    return LogPage(state.checkpoint, state.checkpoint_size, state.size, cosigners, index)
