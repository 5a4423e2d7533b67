"""The audit read from the projections: one constituency at a time, cached until a leaf about it arrives.

Every check of :func:`pollwatch.audit.service.audit_election` but the comparison of snapshots across
constituencies is local to one constituency, so the audit of an election is the audit of each of its
constituencies, and one constituency's audit needs only its own stations and sheets.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Collection

from sqlalchemy import Connection

from pollwatch.audit.service import AuditReport, audit_election
from pollwatch.tally.views import constituency_input, constituency_version, get_structure

_CACHE: OrderedDict[tuple[str, str, str], tuple[tuple[int, int], AuditReport]] = OrderedDict()
_CACHE_SIZE = 4_096
_LOCK = threading.Lock()


def audit_constituency(
    conn: Connection, slug: str, code: str, *, kinds: Collection[str] | None = None
) -> AuditReport:
    """Every finding about one constituency (only ``kinds`` when given)."""
    key = (conn.engine.url.render_as_string(hide_password=True), slug, code)
    version = constituency_version(conn, slug, code)
    with _LOCK:
        hit = _CACHE.get(key)
    if hit is not None and hit[0] == version:
        report = hit[1]
    else:
        report = audit_election(constituency_input(conn, slug, code))
        with _LOCK:
            _CACHE[key] = (version, report)
            _CACHE.move_to_end(key)
            while len(_CACHE) > _CACHE_SIZE:
                _CACHE.popitem(last=False)
    if kinds is None:
        return report
    return AuditReport(
        report.election, report.rule_pack, report.snapshots, [f for f in report.findings if f.kind in kinds]
    )


def audit_of_election(
    conn: Connection, slug: str, *, kinds: Collection[str] | None = None, assembly: str | None = None
) -> AuditReport:
    """The audit of every constituency (of one assembly), each from its cache while it is current."""
    s = get_structure(conn, slug)
    findings = []
    snapshots: dict[str, None] = {}
    rule_pack = ""
    for place in s.places:
        if assembly is not None and place.assembly != assembly:
            continue
        report = audit_constituency(conn, slug, place.code, kinds=kinds)
        findings += report.findings
        snapshots.update(dict.fromkeys(report.snapshots))
        rule_pack = report.rule_pack
    return AuditReport(slug, rule_pack or s.election.rule_pack, list(snapshots), findings)
