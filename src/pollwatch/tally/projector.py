"""The results projections, kept up to date by a consumer that follows the log by index.

A projector reads the log from its *source* and writes the projections, with its cursor, to its
*target*: the same database on one machine (the default), or a read node's own database
(:mod:`pollwatch.readnode`) following the primary or a replica. Each step applies the next leaves in
one target transaction together with the cursor that accounts for them. The step is batched per area:
its leaves are grouped by constituency and then by station, every result leaf re-reconciles its own
station (:func:`~pollwatch.tally.reconcile.reconcile_station` over that station's copies, corrections
applied) and each touched station row and constituency row is written once per step, however many of
its leaves the step holds (:attr:`Projector.last` says how many of each). The cursor row is the lock:
one projector applies at a time to a target, whichever process runs it. Leaves become visible in index
order (the log lock is held until commit), so following the index never skips one.

>>> # projector = Projector(db); projector.catch_up()   # apply everything not yet applied
>>> # projector.rebuild()                                # drop every projection row and replay the log
>>> # Projector(local, source=primary).catch_up()       # a read node's consumer

References
----------
.. [1] pollwatch docs/results.md, "Projections"; SCALE.md (projections follow the log by index).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from pollwatch.errors import InputError
from pollwatch.model import ResultSheet, SheetKind
from pollwatch.pace import Pace
from pollwatch.storage import Database, replica
from pollwatch.storage import log as log_store
from pollwatch.storage import projections as store
from pollwatch.tally.leaves import RESULT_TYPES, sheet_from_leaf
from pollwatch.tally.projected_rows import (
    Delta,
    best_totals,
    best_votes,
    merge_constituency,
    parse_copies,
    stored_versions,
)
from pollwatch.tally.reconcile import StationCopies, settle_station

log = logging.getLogger(__name__)

NAME = "results"
_DROPPED = ("signature",)
"""Leaf fields a copy does not need in the projection (the leaf itself keeps them)."""


@dataclass
class _Lookups:
    """Elections, constituencies and stations by the names leaves use; reloaded on a miss.

    With ``areas``, a constituency outside them (neither its code nor its region is named) maps to None,
    and its leaves are skipped.
    """

    areas: frozenset[str] = frozenset()
    elections: dict[str, int] = field(default_factory=dict)
    constituencies: dict[int, dict[str, int | None]] = field(default_factory=dict)
    places: dict[int, dict[int, store.Place]] = field(default_factory=dict)
    numbers: dict[int, dict[str, int]] = field(default_factory=dict)

    def election(self, conn: Connection, slug: object) -> int | None:
        if not isinstance(slug, str):
            return None
        if slug not in self.elections:
            self.elections = store.list_elections(conn)
        return self.elections.get(slug)

    def constituency(self, conn: Connection, election_id: int, code: object) -> int | None:
        codes = self.constituencies.get(election_id)
        if codes is None or code not in codes:
            codes = self.constituencies[election_id] = store.list_constituency_ids(
                conn, election_id, areas=self.areas
            )
        return codes.get(str(code))

    def load_places(self, conn: Connection, constituency_ids: set[int]) -> None:
        missing = constituency_ids - set(self.places)
        if missing:
            for cid, places in store.list_places(conn, missing).items():
                self.places[cid] = places
                numbers: dict[str, int] = {}
                for serial in sorted(places):
                    number = places[serial].number
                    if number is not None:
                        numbers.setdefault(number, serial)
                self.numbers[cid] = numbers


_ATTEMPTS = 3
"""How often a step is redone when another projector applied its leaves first."""
STRUCTURE_EVERY = 2.0
"""Seconds between checks of a separate source's structure version (a read node's copy follows it)."""


@dataclass(frozen=True)
class StepReport:
    """What one committed step wrote: each touched row once, however many of its leaves it held."""

    leaves: int
    """Leaves applied (result leaves and every other leaf the cursor moved past)."""
    areas: int
    """Constituencies touched."""
    stations: int
    """Station rows written."""
    constituencies: int
    """Constituency rows written."""


@dataclass(frozen=True)
class _Station:
    """A station row as this projector last wrote it, with its copies already parsed and their versions."""

    row: dict[str, Any]
    copies: StationCopies


@dataclass
class _Plan:
    """The rows a step writes, worked out on a read snapshot (:meth:`Projector._plan`)."""

    keep: bool = True
    stations: dict[str, _Station] = field(default_factory=dict)
    """Every station row written, by key, with its parsed copies (what the projector then remembers)."""
    copies: list[store.CopyRow] = field(default_factory=list)
    """The station copies the step applies, each written once."""
    others: list[dict[str, Any]] = field(default_factory=list)
    stations_new: list[dict[str, Any]] = field(default_factory=list)
    stations_changed: list[dict[str, Any]] = field(default_factory=list)
    constituencies_new: list[dict[str, Any]] = field(default_factory=list)
    constituencies_changed: list[dict[str, Any]] = field(default_factory=list)

    def write(self, conn: Connection) -> None:
        store.insert_other_results(conn, self.others)
        store.insert_station_copies(conn, self.copies)
        store.write_station_rows(conn, self.stations_new, self.stations_changed)
        store.write_constituency_rows(conn, self.constituencies_new, self.constituencies_changed)

    def rows(self) -> int:
        """Rows the plan writes (new or changed)."""
        return len(self.copies) + len(self.others) + self.report(0).stations + self.report(0).constituencies

    def report(self, leaves: int) -> StepReport:
        constituencies = len(self.constituencies_new) + len(self.constituencies_changed)
        stations = len(self.stations_new) + len(self.stations_changed)
        return StepReport(leaves, constituencies, stations, constituencies)


@dataclass(frozen=True)
class _Copy:
    index: int
    type: str
    body: Mapping[str, Any]
    """The leaf's fields (all of them for a station copy, whose bytes are stored; else what is stored)."""
    constituency_id: int
    election_id: int
    leaf: bytes
    sheet: ResultSheet | None
    """A station copy's sheet (None for other result leaves)."""


class Projector:
    """Applies the log to the results projections; :meth:`start` follows it in a background thread.

    It remembers the last ``remember`` station rows it wrote, with their copies parsed, so that a
    station's next copy is applied without reading and parsing its earlier copies again (the copies of
    one station arrive within minutes of each other on election night). The rows it remembers are the
    database's as long as the cursor is where this projector left it; when another projector (or a
    rebuild) moved it, they are forgotten.
    """

    def __init__(
        self,
        db: Database,
        *,
        source: Database | None = None,
        areas: Collection[str] = (),
        batch: int = 2_000,
        interval: float = 0.2,
        remember: int = 20_000,
        busy_rate: float = 750.0,
        busy_duty: float = 0.1,
    ) -> None:
        """``busy_rate``, ``busy_duty``: while the log grows faster than ``busy_rate`` leaves per second
        (half as much again as the 500/s an election night is designed for), the thread :meth:`start`
        runs works at most ``busy_duty`` of the time (:mod:`pollwatch.pace`): intake keeps the CPU, the
        projections fall behind and catch up once the rate falls; below it, it applies leaves as they
        come. The rate is set well below what intake reaches with the projector at full speed (1,000
        sheets/s and more on two cores), or the two would settle there, intake slowed by a projector
        that the slowed rate no longer holds back; and measured over three seconds, so that a client
        catching up after a stall (bench_results offers 500/s from a client on the same busy cores)
        does not pass for a busy night."""
        self.db = db
        """The target: where the projections and the cursor are written (and read by the pages)."""
        self.source = source if source is not None else db
        """Where the log (and the structure the leaves name) is read: ``db`` itself unless given."""
        self.areas = frozenset(areas)
        """Constituency codes or regions this projector applies (all when empty)."""
        self.last: StepReport | None = None
        """The last committed step's report."""
        self.batch = batch
        self.interval = interval
        self.remember = remember
        self.pace = Pace(1.0, busy_duty, busy_rate, window=3.0)
        self._rows: OrderedDict[str, _Station] = OrderedDict()
        self._at: int | None = None
        """The cursor after this projector's last write: ``_rows`` is valid while the cursor is there."""
        self._lookups = _Lookups(self.areas)
        self._structure_checked = -STRUCTURE_EVERY
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def catch_up(self, *, batch: int | None = None) -> int:
        """Apply every leaf not yet applied; return how many leaves were applied."""
        total = 0
        while True:
            applied = self.step(batch=batch)
            total += applied
            if applied == 0:
                return total

    def step(self, *, batch: int | None = None) -> int:
        """Apply up to ``batch`` leaves; return how many.

        The work is done on a read snapshot and only its rows are written under the cursor's lock, in a
        short transaction: on SQLite the write lock is the whole database's, and intake must never wait
        for a projector's arithmetic (a server's projector runs at a low priority). If another projector
        moved the cursor meanwhile, the work is dropped and done again from where that one stopped.
        """
        for _ in range(_ATTEMPTS):
            self._follow_structure()
            with self._snapshots() as (src, dst):  # read snapshots: no lock that a writer waits for
                start = store.get_cursor(dst, NAME)
                if start != self._at:
                    self._rows.clear()  # another projector wrote since: what we remember may be old
                size = log_store.get_state(src).size
                self.pace.observe(size)
                if start >= size:
                    return 0
                entries = log_store.read_entries(src, start, min(size, start + (batch or self.batch)))
                plan = self._plan(src, dst, [(start, entries)], start + len(entries) - 1)
            with self.db.begin() as conn:
                if store.lock_cursor(conn, NAME) != start:
                    continue  # another projector applied these leaves first
                plan.write(conn)
                store.set_cursor(conn, NAME, start + len(entries))
            self._keep(plan, start + len(entries))
            self.last = plan.report(len(entries))
            self.db.statistics.wrote(plan.rows())  # PostgreSQL's planner must see the tables grow
            return len(entries)
        return 0

    @contextmanager
    def _snapshots(self) -> Iterator[tuple[Connection, Connection]]:
        """Read connections to the source and the target (one connection when they are one database)."""
        with self.db.connect() as dst:
            if self.source is self.db:
                yield dst, dst
                return
            with self.source.connect() as src:
                yield src, dst

    def _follow_structure(self, *, force: bool = False) -> None:
        """Copy the source's structure into a separate target when its version moved (checked at most
        every :data:`STRUCTURE_EVERY` seconds): the target's pages join the projections with it."""
        if self.source is self.db:
            return
        now = time.monotonic()
        if not force and now - self._structure_checked < STRUCTURE_EVERY:
            return
        self._structure_checked = now
        with self.source.connect() as src:
            version = replica.structure_version(src)
            with self.db.connect() as dst:
                if replica.structure_version(dst) == version:
                    return
            with self.db.begin() as dst:
                copied = replica.copy_structure(src, dst)
        self._lookups = _Lookups(self.areas)
        log.info("copied the structure from %s: %d rows", self.source.safe_url, copied)

    def _keep(self, plan: _Plan, at: int) -> None:
        """Remember the station rows a committed step wrote (the most recent ``remember`` of them)."""
        self._at = at
        for key, station in plan.stations.items():
            self._rows[key] = station
            self._rows.move_to_end(key)
        while len(self._rows) > self.remember:
            self._rows.popitem(last=False)

    def rebuild(self, *, chunk: int = 20_000) -> int:
        """Drop every projection row, then replay the whole log in one transaction; return the leaves
        applied. Every station's copies are gathered first, so each station row is written once."""
        self._lookups = _Lookups(self.areas)
        self._rows.clear()
        self._at = None
        self._follow_structure(force=True)
        with self.db.begin() as conn, self._source(conn) as src:
            store.lock_cursor(conn, NAME)
            store.clear(conn, NAME)
            size = log_store.get_state(src).size
            if size:
                chunks = (
                    (a, log_store.read_entries(src, a, min(size, a + chunk))) for a in range(0, size, chunk)
                )
                plan = self._plan(src, conn, chunks, size - 1, keep=False)
                plan.write(conn)
                self.last = plan.report(size)
            store.set_cursor(conn, NAME, size)
        if size:
            self.db.statistics.wrote(plan.rows())
        return size

    @contextmanager
    def _source(self, target: Connection) -> Iterator[Connection]:
        """A read connection to the source: ``target`` itself when they are one database."""
        if self.source is self.db:
            yield target
            return
        with self.source.connect() as src:
            yield src

    def notify(self) -> None:
        """New leaves were committed: apply them now rather than at the next poll."""
        self._wake.set()

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="pollwatch-projector", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                applied = self.step()
            except Exception:  # keep following: a failed step rolled back and is retried
                log.exception("projector step failed; retrying")
                self._lookups = _Lookups(self.areas)
                self._rows.clear()
                self._at = None
                applied = 0
            if applied == 0:
                self._wake.wait(self.interval)
                self._wake.clear()
                continue
            # Wall time: on PostgreSQL the step's SQL runs in the server's process, not this thread.
            pause = self.pace.pause(time.monotonic() - started)
            if pause > 0:
                self._stop.wait(pause)

    def _plan(
        self,
        conn: Connection,
        target: Connection,
        chunks: Iterable[tuple[int, Sequence[bytes]]],
        last: int,
        *,
        keep: bool = True,
    ) -> _Plan:
        """The rows that applying leaves (chunks of consecutive entries, each from its first index) up to
        index ``last`` writes, grouped by area (constituency) then station; reads only: the structure
        the leaves name from the source ``conn``, the rows they change from ``target``. ``keep``: the
        plan keeps each station's parsed copies too."""
        versions: Counter[int] = Counter()
        elections: dict[int, int] = {}
        by_key: dict[str, list[_Copy]] = {}
        plan = _Plan(keep=keep)
        for start, entries in chunks:
            touched: list[_Copy] = []
            for offset, data in enumerate(entries):
                copy = self._copy(conn, start + offset, data)
                if copy is None:
                    continue
                versions[copy.constituency_id] += 1
                elections[copy.constituency_id] = copy.election_id
                if copy.sheet is not None:
                    touched.append(copy)
                else:
                    plan.others.append(
                        {"leaf_index": copy.index, "election_id": copy.election_id,
                         "constituency_id": copy.constituency_id, "type": copy.type, "body": dict(copy.body)}
                    )  # fmt: skip
            self._lookups.load_places(conn, {c.constituency_id for c in touched})
            for copy in touched:
                by_key.setdefault(self._station_key(copy.constituency_id, copy.body), []).append(copy)
        by_area = dict(sorted(by_key.items(), key=lambda item: (item[1][0].constituency_id, item[0])))
        deltas = self._stations(target, by_area, last, plan)
        _constituency_rows(target, versions, elections, deltas, last, plan)
        return plan

    def _copy(self, conn: Connection, index: int, data: bytes) -> _Copy | None:
        try:
            value = json.loads(data.decode("utf-8"))
        except ValueError:
            return None
        leaf_type = value.get("type") if isinstance(value, dict) else None
        if leaf_type not in RESULT_TYPES:
            return None
        election_id = self._lookups.election(conn, value.get("election"))
        if election_id is None:
            return None
        cid = self._lookups.constituency(conn, election_id, value.get("constituency"))
        if cid is None:
            return None
        if value.get("kind") == SheetKind.STATION_COUNT.value:
            sheet = sheet_from_leaf(index, str(leaf_type), value)
            if sheet is None:  # intake never logs one: skipped, as a leaf of another type
                return None
            return _Copy(index, str(leaf_type), value, cid, election_id, data, sheet)
        body = {k: v for k, v in value.items() if k not in _DROPPED and k not in ("v", "type")}
        return _Copy(index, str(leaf_type), body, cid, election_id, data, None)

    def _station_key(self, cid: int, body: Mapping[str, Any]) -> str:
        station = body.get("station")
        if isinstance(station, str) and station.isdigit():
            return f"{cid}/s{int(station)}"
        number = body.get("station_number") or station
        serial = self._lookups.numbers.get(cid, {}).get(str(number))
        return f"{cid}/s{serial}" if serial is not None else f"{cid}/n{number}"

    def _stations(
        self, conn: Connection, by_key: dict[str, list[_Copy]], last: int, plan: _Plan
    ) -> dict[int, Delta]:
        known = {k: self._rows[k] for k in by_key if k in self._rows}
        read = store.get_station_rows(conn, set(by_key) - set(known))
        earlier: dict[str, list[store.CopyRow]] = {}
        for row in store.list_station_copies(conn, keys=set(read)) if read else ():
            earlier.setdefault(row.key, []).append(row)
        deltas: dict[int, Delta] = {}
        for key, copies in by_key.items():
            hit = known.get(key)
            old = hit.row if hit is not None else read.get(key)
            parsed = hit.copies if hit is not None else StationCopies.of(parse_copies(earlier.get(key, ())))
            station = self._station_row(key, old, parsed, copies, last)
            plan.copies += [store.CopyRow(c.index, key, c.constituency_id, c.type, c.leaf) for c in copies]
            if plan.keep:
                plan.stations[key] = station
            (plan.stations_changed if old is not None else plan.stations_new).append(station.row)
            deltas.setdefault(copies[0].constituency_id, Delta()).add(old, station.row, self._place(key))
        return deltas

    def _place(self, key: str) -> store.Place | None:
        cid, _, ref = key.partition("/")
        if not ref.startswith("s"):
            return None
        return self._lookups.places.get(int(cid), {}).get(int(ref[1:]))

    def _station_row(
        self,
        key: str,
        old: Mapping[str, Any] | None,
        parsed: StationCopies,
        copies: Sequence[_Copy],
        last: int,
    ) -> _Station:
        """The station's new row from its old one and its earlier copies, ``parsed``."""
        station = parsed.extended([c.sheet for c in copies if c.sheet is not None])
        sheets = station.sheets
        place = self._place(key)
        cid = copies[0].constituency_id
        ref = key.partition("/")[2]
        serial = int(ref[1:]) if ref.startswith("s") else None
        number = place.number if place is not None else (sheets[0].station if sheets else None)
        code = sheets[0].constituency
        r = settle_station(station.versions, constituency=code, serial=serial, number=number)
        if old is not None:
            registered = old["registered"]
        elif place is not None:
            registered = place.registered
        else:
            registered = sheets[0].totals.registered
        row = {
            "key": key, "election_id": copies[0].election_id, "constituency_id": cid,
            "station_id": place.station_id if place is not None else None, "serial": serial, "number": number,
            "state": r.state.value, "registered": registered, "votes": best_votes(r),
            **best_totals(r), "updated_index": last, "versions": stored_versions(r, sheets),
        }  # fmt: skip
        return _Station(row, station)


def _constituency_rows(
    conn: Connection,
    versions: Counter[int],
    elections: Mapping[int, int],
    deltas: Mapping[int, Delta],
    last: int,
    plan: _Plan,
) -> None:
    rows = store.get_constituency_rows(conn, set(versions))
    for cid, count in versions.items():
        old = rows.get(cid)
        row = merge_constituency(cid, elections[cid], old, deltas.get(cid), count, last)
        (plan.constituencies_changed if old is not None else plan.constituencies_new).append(row)


def status(db: Database, *, source: Database | None = None) -> dict[str, int]:
    """Leaves in the log of ``source`` (default ``db``), leaves applied to the projections of ``db``,
    and the difference. A database whose projections follow another's log (a read node's) is refused
    without that ``source``: its own log is empty, and the difference would mean nothing."""
    with db.connect() as conn:
        applied = store.get_cursor(conn, NAME)
    with (source or db).connect() as conn:
        size = log_store.get_state(conn).size
    if applied > size:
        raise InputError(
            "these projections are ahead of the log they are compared with: they follow another database's",
            where="log", expected=f"a log of at least {applied:,} leaves", found=f"{size:,} leaves",
            remedy="name the log with --db and the projections' own database with --projections",
        )  # fmt: skip
    return {"log_size": size, "applied": applied, "behind": size - applied}
