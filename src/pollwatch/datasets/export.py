"""Export an election as open data: one file per table in CSV, Parquet or JSON, no personal data.

Tables: constituencies, stations, candidates, parties, sheets, votes (``sheet``, ``ballot_order``,
``votes``). Rows are keyed by codes, ballot positions and sheet numbers, never by who submitted them:
sheets carry only the pseudonymous key id, role and organisation of their submitter.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from pollwatch.errors import InputError, StorageError
from pollwatch.storage import structure
from pollwatch.storage.datasets import EXPORT_TABLES, export_rows


class ExportFormat(StrEnum):
    CSV = "csv"
    PARQUET = "parquet"
    JSON = "json"


def export_election(conn: Connection, election: str, *, fmt: ExportFormat, out: Path) -> dict[str, Path]:
    """Write every table of ``election`` into ``out``; return the file of each table."""
    election_id, _ = structure.get_election(conn, election)
    if out.exists() and not out.is_dir():
        raise InputError(
            "--out must be a folder", where=str(out), expected="a folder (created if missing)", found="a file"
        )
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(f"cannot create {out}", where=str(out), found=str(exc)) from exc
    written = {}
    for table in EXPORT_TABLES:
        columns, rows = export_rows(conn, election_id, table)
        path = out / f"{table}.{fmt.value}"
        _WRITERS[fmt](path, columns, [tuple(r) for r in rows])
        written[table] = path
    return written


def _write_csv(path: Path, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        writer.writerows(tuple("" if v is None else safe_cell(_plain(v)) for v in row) for row in rows)


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """Quote a text cell a spreadsheet would run as a formula (OWASP "CSV injection"): prefix ``'``.

    Numbers stay numbers; only text starting with ``=``, ``+``, ``-``, ``@``, tab or CR is changed.
    """
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def _write_json(path: Path, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    records = [{c: _plain(v) for c, v in zip(columns, row, strict=True)} for row in rows]
    path.write_text(json.dumps(records, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def _write_parquet(path: Path, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    data = {c: [_plain(row[i]) for row in rows] for i, c in enumerate(columns)}
    pq.write_table(pa.table(data), path)


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


_WRITERS = {
    ExportFormat.CSV: _write_csv,
    ExportFormat.JSON: _write_json,
    ExportFormat.PARQUET: _write_parquet,
}
