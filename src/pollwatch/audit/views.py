"""The audit read from the projections: one constituency at a time, kept until a leaf about it arrives.

Every check of :func:`pollwatch.audit.service.audit_election` is local to one constituency (its
contests, snapshots and stations), so the audit of an election is the union of its constituencies'
audits, and one constituency's audit needs only its own stations and sheets. An :class:`Auditor` keeps a
stored audit per constituency (``audit_results``) in step with the projections in the background, at a
bounded share of the CPU; the whole-election answer uses the stored audits, recomputes stale ones within
a time budget, and names the constituencies whose audit is older than their latest leaf.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
import uuid
from collections import Counter, OrderedDict
from collections.abc import Collection, Mapping
from typing import Any

from sqlalchemy import Connection

from pollwatch.audit import elsewhere
from pollwatch.audit.service import AuditReport, audit_election
from pollwatch.pace import Pace
from pollwatch.storage import Database, leases
from pollwatch.storage import log as log_store
from pollwatch.storage import projections as store
from pollwatch.tally.views import constituency_input, constituency_version, get_structure

log = logging.getLogger(__name__)

_CACHE: OrderedDict[tuple[str, str, str], tuple[tuple[int, int], AuditReport]] = OrderedDict()
_CACHE_SIZE = 4_096
_LOCK = threading.Lock()
BUDGET = 2.0
"""Seconds a whole-election answer may spend recomputing stale constituencies before naming the rest."""


def audit_constituency(
    conn: Connection, slug: str, code: str, *, kinds: Collection[str] | None = None
) -> AuditReport:
    """Every finding about one constituency (only ``kinds`` when given), current to its latest leaf."""
    key = (conn.engine.url.render_as_string(hide_password=True), slug, code)
    version = constituency_version(conn, slug, code)
    with _LOCK:
        hit = _CACHE.get(key)
    if hit is not None and hit[0] == version:
        report = hit[1]
    else:
        # A server's worker hands the work to its audit child (see pollwatch.audit.elsewhere).
        done = elsewhere.audit(conn.engine.url.render_as_string(hide_password=False), slug, code)
        if done is None:
            report = audit_election(constituency_input(conn, slug, code))
        else:
            version, report = done
        with _LOCK:
            _CACHE[key] = (version, report)
            _CACHE.move_to_end(key)
            while len(_CACHE) > _CACHE_SIZE:
                _CACHE.popitem(last=False)
    if kinds is None:
        return report
    kept = [f for f in report.findings if f.kind in kinds]
    return AuditReport(report.election, report.rule_pack, report.snapshots, kept)


def audit_document(
    db: Database,
    slug: str,
    *,
    constituency: str | None = None,
    kinds: Collection[str] | None = None,
    assembly: str | None = None,
) -> dict[str, Any]:
    """One constituency's audit on an ordinary read connection; the whole election's under the
    database's bound on expensive reads (it may recompute stale constituencies for up to :data:`BUDGET`)."""
    if constituency is not None:
        with db.reads() as conn:
            return audit_constituency(conn, slug, constituency, kinds=kinds).as_dict()
    with db.expensive() as conn:
        return audit_of_election(conn, slug, kinds=kinds, assembly=assembly)


def audit_of_election(
    conn: Connection,
    slug: str,
    *,
    kinds: Collection[str] | None = None,
    assembly: str | None = None,
    budget: float = BUDGET,
) -> dict[str, Any]:
    """The audit document of every constituency (of one assembly), from the stored audits.

    Stale constituencies are recomputed while ``budget`` seconds last; any left are answered from their
    older stored audit and listed under ``stale`` (never silently: a reader sees what is behind).
    """
    s = get_structure(conn, slug)
    stored = store.get_audit_rows(conn, s.election_id)
    versions = {
        int(r["constituency_id"]): int(r["version"])
        for r in store.list_constituency_rows(conn, s.election_id)
    }
    deadline = time.monotonic() + budget
    reports: list[Mapping[str, Any]] = []
    stale: list[str] = []
    for place in s.places:
        if assembly is not None and place.assembly != assembly:
            continue
        hit = stored.get(place.id)
        if hit is not None and hit[0] == versions.get(place.id, 0):
            reports.append(hit[1])
        elif time.monotonic() < deadline:
            reports.append(audit_constituency(conn, slug, place.code).as_dict())
        else:
            stale.append(place.code)
            if hit is not None:
                reports.append(hit[1])
    return _merge(slug, s.election.rule_pack, reports, kinds, stale)


def _merge(
    slug: str,
    rule_pack: str,
    reports: list[Mapping[str, Any]],
    kinds: Collection[str] | None,
    stale: list[str],
) -> dict[str, Any]:
    findings = [f for r in reports for f in r["findings"] if kinds is None or f["kind"] in kinds]
    snapshots: dict[str, None] = {}
    for r in reports:
        snapshots.update(dict.fromkeys(r["snapshots"]))
        rule_pack = str(r.get("rule_pack") or rule_pack)
    where: dict[str, list[str]] = {}
    for f in findings:
        label = (f.get("data") or {}).get("label")
        where.setdefault(f["kind"], []).append(f"{f['where']} ({label})" if label else str(f["where"]))
    return {
        "election": slug,
        "rule_pack": rule_pack,
        "snapshots": list(snapshots),
        "counts": dict(sorted(Counter(f["kind"] for f in findings).items())),
        "where": dict(sorted(where.items())),
        "findings": findings,
        "stale": stale,
    }


class Auditor:
    """Keeps every constituency's stored audit in step with the projections, in a background thread.

    One process of a deployment audits at a time (it holds the ``auditor`` lease; the others wait to take
    it over), and it works at most ``duty`` of one CPU (its rounds' CPU time, not their wall time), or
    ``busy_duty`` while leaves arrive faster than ``busy_rate`` per second: on election night intake
    keeps the CPU, and the audits catch up as the night quietens (a whole-election answer names the
    constituencies still behind). Under ``pollwatch serve`` it runs in a niced process of its own
    (:mod:`pollwatch.background`), so that no projector shares its interpreter.
    """

    LEASE = "auditor"
    LEASE_TTL = 300.0
    """Seconds another process waits for a holder that stopped renewing (it died) before taking over."""
    ROUND = 2.0
    """Seconds of work per round at most, so that pauses (and the lease's renewals) stay short."""

    def __init__(
        self,
        db: Database,
        *,
        duty: float = 0.25,
        busy_duty: float = 0.05,
        busy_rate: float = 50.0,
        interval: float = 1.0,
    ) -> None:
        self.db = db
        self.pace = Pace(duty, busy_duty, busy_rate)
        self.interval = interval
        self.holder = f"{socket.gethostname()[:48]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._slugs: dict[int, str] = {}

    def refresh(self, *, limit: int = 50, budget: float | None = None) -> int:
        """Recompute up to ``limit`` stale audits, oldest results first, for at most ``budget`` seconds
        (at least one); return how many (0 when another process holds the lease)."""
        if not self.hold():
            return 0
        with self.db.connect() as conn:
            stale = store.list_stale_audits(conn, limit=limit)
            if stale and any(e not in self._slugs for e, _ in stale):
                self._slugs = {i: slug for slug, i in store.list_elections(conn).items()}
        done, until = 0, time.monotonic() + (budget if budget is not None else float("inf"))
        for election_id, cid in stale:
            if self._stop.is_set() or (done and time.monotonic() > until):
                break
            self._refresh_one(election_id, cid)
            done += 1
        return done

    def current_duty(self) -> float:
        """The share of time to work now: ``busy_duty`` while the log grows faster than ``busy_rate``/s."""
        with self.db.connect() as conn:
            self.pace.observe(log_store.get_state(conn).size)
        return self.pace.current()

    def hold(self) -> bool:
        """Take or renew the auditor's lease; False while another process holds it."""
        with self.db.begin() as conn:
            return leases.acquire(conn, self.LEASE, self.holder, ttl=self.LEASE_TTL)

    def _refresh_one(self, election_id: int, cid: int) -> None:
        slug = self._slugs.get(election_id)
        if slug is None:
            return
        with self.db.connect() as conn:
            s = get_structure(conn, slug)
            code = next((p.code for p in s.places if p.id == cid), None)
            if code is None:
                return
            version = constituency_version(conn, slug, code)[0]
            report = audit_constituency(conn, slug, code).as_dict()
        try:
            with self.db.begin() as conn:
                store.put_audit(
                    conn, election_id=election_id, constituency_id=cid, version=version, report=report
                )
        except Exception:  # another process stored the same audit first: theirs is as good
            log.debug("audit of constituency %s stored elsewhere first", cid)

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="pollwatch-auditor", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        with contextlib.suppress(Exception), self.db.begin() as conn:  # let another process take over now
            leases.release(conn, self.LEASE, self.holder)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.thread_time()
            try:
                self.current_duty()
                done = self.refresh(budget=self.ROUND)
            except Exception:  # keep going: the next round retries
                log.exception("auditor round failed")
                done = 0
            # The duty is a share of one CPU, so the round's cost is this thread's CPU time: waiting for
            # the database or for a CPU that intake holds is not work and costs no pause.
            busy = time.thread_time() - started
            pause = self.pace.pause(busy) if done else self.interval
            self._stop.wait(min(max(pause, 0.05), self.LEASE_TTL / 3))


def audit_stored(
    conn: Connection,
    slug: str,
    *,
    assembly: str | None = None,
    constituency: str | None = None,
    kinds: Collection[str] | None = None,
) -> AuditReport:
    """The audit of a stored election (one constituency, one assembly or all), each constituency
    current to its latest leaf: what the CLI prints and ``--save`` stores."""
    if constituency is not None:
        return audit_constituency(conn, slug, constituency, kinds=kinds)
    s = get_structure(conn, slug)
    reports = [
        audit_constituency(conn, slug, p.code, kinds=kinds)
        for p in s.places
        if assembly is None or p.assembly == assembly
    ]
    snapshots: dict[str, None] = {}
    for r in reports:
        snapshots.update(dict.fromkeys(r.snapshots))
    rule_pack = reports[0].rule_pack if reports else s.election.rule_pack
    return AuditReport(slug, rule_pack, list(snapshots), [f for r in reports for f in r.findings])
