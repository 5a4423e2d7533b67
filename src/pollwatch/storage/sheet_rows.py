"""Inserting the sheet rows of accepted submissions (references already resolved)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection

from pollwatch.model import ResultSheet
from pollwatch.storage import schema as t
from pollwatch.storage._rows import primary_key, when
from pollwatch.storage.places import StationContext
from pollwatch.storage.sheets import _TOTALS


def insert_sheet(conn: Connection, ctx: StationContext, sheet: ResultSheet) -> int:
    """Insert one sheet and its votes, with references already resolved into ``ctx``."""
    p = sheet.provenance
    values: dict[str, Any] = {
        "election_id": ctx.election_id,
        "constituency_id": ctx.constituency_id,
        "station_id": ctx.station_id,
        "kind": sheet.kind.value,
        "form": sheet.form,
        "label": sheet.label,
        **{name: getattr(sheet.totals, name) for name in _TOTALS},
        "source": p.source,
        "channel": p.channel.value,
        "role": p.role.value,
        "organisation": p.organisation,
        "submitter_key": p.submitter_key,
        "received_at": p.received_at,
        "captured_at": p.captured_at,
        "evidence_sha256": ",".join(p.evidence_sha256),
        "extra": json.loads(json.dumps(dict(sheet.extra))),
    }
    sheet_id = primary_key(conn.execute(t.sheets.insert().values(**values)))
    rows = [
        {"sheet_id": sheet_id, "candidate_id": ctx.candidates[key], "votes": votes}
        for key, votes in sheet.votes.items()
    ]
    if rows:
        conn.execute(t.sheet_votes.insert(), rows)
    return sheet_id


def insert_sheet_batch(conn: Connection, items: Sequence[tuple[StationContext, ResultSheet]]) -> list[int]:
    """Insert many resolved sheets and their votes with one multi-row statement per table."""
    from pollwatch.storage.bulk import insert_rows, insert_with_new_ids
    from pollwatch.storage.sheets import _COLUMNS

    rows = []
    for ctx, sheet in items:
        p = sheet.provenance
        rows.append((
            ctx.election_id, ctx.constituency_id, ctx.station_id, sheet.kind.value, sheet.form,
            sheet.label,
            *(getattr(sheet.totals, name) for name in _TOTALS), p.source, p.channel.value, p.role.value,
            p.organisation, p.submitter_key, when(conn, p.received_at), when(conn, p.captured_at),
            ",".join(p.evidence_sha256),
            json.dumps(dict(sheet.extra), sort_keys=True),
        ))  # fmt: skip
    assert _COLUMNS[0] == "id"
    ids = insert_with_new_ids(conn, t.sheets, _COLUMNS[1:], rows)
    votes = [
        (sheet_id, ctx.candidates[key], count)
        for sheet_id, (ctx, sheet) in zip(ids, items, strict=True)
        for key, count in sheet.votes.items()
    ]
    insert_rows(conn, t.sheet_votes, ("sheet_id", "candidate_id", "votes"), votes)
    return ids
