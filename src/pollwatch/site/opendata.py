"""Open data for mirrors: every election's stations, sheets, tallies and findings as CSV and JSON.

What PREP publishes for its mirrors, read from the projections and the stored audits at one checkpoint:

* ``stations``: every station of the polling scheme with its reconciliation state and best figures;
* ``sheets``: every copy of every station's sheet and every other result sheet, by log index, role and
  pseudonymous key (the key's first 16 characters, as the pages show it), never a name or a phone;
* ``tallies``: one row per constituency and candidate (candidates' names and parties are public);
* ``findings``: every finding of the audit and the legal checks.

:func:`write_open_data` writes them under ``data/<election>/`` with ``data/manifest.json`` naming the
checkpoint they correspond to and the SHA-256 of every file (``sha256sum -c`` reads
``data/SHA256SUMS``).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from pollwatch.audit.views import audit_of_election
from pollwatch.model import ResultSheet
from pollwatch.storage import log as log_store
from pollwatch.storage import structure
from pollwatch.tally.views import constituency_input, get_structure, list_reconciliations, live_tally

TABLES: dict[str, tuple[str, ...]] = {
    "stations": ("constituency", "serial", "number", "state", "copies", "valid", "rejected", "polled",
                 "votes", "reason"),
    "sheets": ("leaf_index", "constituency", "station_serial", "station", "kind", "form", "role", "key",
               "received_at", "captured_at", "valid", "rejected", "polled", "votes", "photo_sha256"),
    "tallies": ("constituency", "region", "position", "candidate", "party", "votes", "leader", "margin",
                "decided", "stations_reported", "stations_expected", "registered_reported",
                "registered_expected"),
    "findings": ("kind", "severity", "where", "message", "expected", "found", "rule"),
}  # fmt: skip
"""Every table's columns, in order (the CSV header and the JSON objects' keys)."""
AUDIT_BUDGET = 60.0
"""Seconds the open data may spend bringing stale audits up to date (any left are listed as stale)."""


@dataclass(frozen=True)
class Checkpoint:
    """The signed checkpoint the data corresponds to."""

    size: int
    root_hex: str
    note: str


def _votes(votes: Mapping[Any, int]) -> str:
    """``1:120 2:87``: candidate position and votes, in ballot order (one CSV cell)."""
    return " ".join(f"{int(k)}:{int(v)}" for k, v in sorted(votes.items(), key=lambda kv: int(kv[0])))


def list_stations(conn: Connection, slug: str) -> Iterator[dict[str, Any]]:
    """Every station with a copy (in projection order), then every station still missing one."""
    for state in (None, "missing"):
        after = 0
        while True:
            page = list_reconciliations(conn, slug, state=state, after=after, limit=1000)
            for r in page.stations:
                best = r.best.sheet if r.best is not None else None
                yield {
                    "constituency": r.constituency, "serial": r.serial, "number": r.number,
                    "state": r.state.value, "copies": sum(v.copies for v in r.versions),
                    "valid": best.totals.valid if best else None,
                    "rejected": best.totals.rejected if best else None,
                    "polled": best.totals.polled if best else None,
                    "votes": _votes(best.votes) if best else "", "reason": r.reason,
                }  # fmt: skip
            if page.next_after is None:
                break
            after = page.next_after


def _sheet_row(sheet: ResultSheet) -> dict[str, Any]:
    p = sheet.provenance
    leaf = sheet.extra.get("leaf_index")
    return {
        "leaf_index": int(leaf) if leaf is not None else None,
        "constituency": str(sheet.constituency), "station_serial": sheet.station_serial,
        "station": sheet.station, "kind": sheet.kind.value, "form": sheet.form, "role": p.role.value,
        "key": p.submitter_key[:16], "received_at": p.received_at.isoformat() if p.received_at else None,
        "captured_at": p.captured_at.isoformat() if p.captured_at else None,
        "valid": sheet.totals.valid, "rejected": sheet.totals.rejected, "polled": sheet.totals.polled,
        "votes": _votes(sheet.votes), "photo_sha256": " ".join(p.evidence_sha256),
    }  # fmt: skip


def list_sheets(conn: Connection, slug: str) -> Iterator[dict[str, Any]]:
    """Every result sheet of the election as the projection holds it, constituency by constituency."""
    for place in get_structure(conn, slug).places:
        yield from (_sheet_row(s) for s in constituency_input(conn, slug, place.code, every_copy=True).sheets)


def list_tallies(conn: Connection, slug: str) -> Iterator[dict[str, Any]]:
    """One row per constituency and candidate: the signed sum, the leader, margin and decidedness."""
    for row in live_tally(conn, slug, only_constituency=False).constituencies():
        for c in row.candidate_votes():
            yield {
                "constituency": row.code, "region": row.region, "position": c["position"],
                "candidate": c["name"], "party": c["party"], "votes": c["votes"],
                "leader": c["position"] == row.leader, "margin": row.margin, "decided": row.decided,
                "stations_reported": row.stations_reported, "stations_expected": row.stations_expected,
                "registered_reported": row.registered_reported,
                "registered_expected": row.registered_expected,
            }  # fmt: skip


def list_findings(conn: Connection, slug: str) -> tuple[list[dict[str, Any]], list[str]]:
    """Every finding of the stored audits (brought up to date first) and the seats still stale."""
    audit = audit_of_election(conn, slug, budget=AUDIT_BUDGET)
    rows = [{name: f.get(name) for name in TABLES["findings"]} for f in audit.get("findings", [])]
    return rows, [str(s) for s in audit.get("stale", [])]


def _csv(columns: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: ("" if r.get(k) is None else r.get(k)) for k in columns} for r in rows)
    return out.getvalue().encode()


def get_checkpoint(conn: Connection) -> Checkpoint:
    state = log_store.get_state(conn)
    stored = log_store.get_checkpoint(conn, state.checkpoint_size) if state.checkpoint_size else None
    return Checkpoint(state.checkpoint_size, stored.root.hex() if stored else "", state.checkpoint)


def write_open_data(conn: Connection, directory: Path) -> dict[str, Any]:
    """Write every election's tables under ``directory/data`` and the manifest; return the manifest."""
    data = directory / "data"
    checkpoint = get_checkpoint(conn)
    files: dict[str, dict[str, Any]] = {}
    stale: dict[str, list[str]] = {}
    for _, election in structure.list_elections(conn):
        slug = str(election.slug)
        findings, stale[slug] = list_findings(conn, slug)
        tables = {
            "stations": list(list_stations(conn, slug)),
            "sheets": list(list_sheets(conn, slug)),
            "tallies": list(list_tallies(conn, slug)),
            "findings": findings,
        }
        (data / slug).mkdir(parents=True, exist_ok=True)
        for name, rows in tables.items():
            for suffix, body in (
                ("csv", _csv(TABLES[name], rows)),
                ("json", (json.dumps(rows, ensure_ascii=False, indent=0) + "\n").encode()),
            ):
                path = f"{slug}/{name}.{suffix}"
                (data / path).write_bytes(body)
                files[path] = {
                    "sha256": hashlib.sha256(body).hexdigest(),
                    "bytes": len(body),
                    "rows": len(rows),
                }
    manifest = {
        "checkpoint": {"size": checkpoint.size, "root": checkpoint.root_hex, "note": checkpoint.note},
        "files": files,
        "stale_audits": stale,
        "columns": {name: list(cols) for name, cols in TABLES.items()},
    }
    (data / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n")
    sums = "".join(f"{f['sha256']}  {path}\n" for path, f in sorted(files.items()))
    (data / "SHA256SUMS").write_text(sums)
    (data / "checkpoint").write_text(checkpoint.note)
    return manifest
