"""The ``official`` leaf of every result sheet an import stores, naming its source file and row.

An importer says where each sheet came from in its ``extra``: ``file`` (the file name) and ``row``
(the line of a CSV where the sheet's figures begin, as an editor numbers it: the header is line
1). A sheet without them is placed by position: the dataset's only file (or its ``sheets.csv``),
and the line of a one-line-per-sheet CSV (its position + 1), or its 1-based position in a JSON list.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import Connection

from pollwatch.datasets._dataset import Dataset
from pollwatch.intake.format import TOTAL_FIELDS, iso
from pollwatch.ledger import records
from pollwatch.ledger import service as ledger
from pollwatch.model import ResultSheet

SUBMITTER = "import"
"""The ``submitter_key`` of an imported official leaf (the operator who ran ``pollwatch import``)."""


def append_official_leaves(conn: Connection, dataset: Dataset, root: Path, paths: Sequence[Path]) -> int:
    """Append one ``official`` leaf per sheet of ``dataset`` in the caller's transaction; return how many."""
    files = _Files(root, paths)
    received = iso(dt.datetime.now(dt.UTC))
    leaves = []
    unplaced = 0
    for sheet in dataset.sheets:
        row = sheet.extra.get("row")
        path = files.find(sheet.extra.get("file"))
        if not isinstance(row, int):
            unplaced += 1
            row = unplaced + (1 if path is not None and path.suffix == ".csv" else 0)
        leaves.append(_leaf(dataset, sheet, files.source(path, row), received))
    ledger.append(conn, leaves)
    return len(leaves)


def _leaf(
    dataset: Dataset, sheet: ResultSheet, source: dict[str, object], received: str
) -> records.LeafRecord:
    p = sheet.provenance
    return records.official_record(
        election=dataset.election.slug,
        submission_id=f"{dataset.name}:{source['file']}:{source['row']}",
        kind=sheet.kind.value,
        form=sheet.form,
        label=sheet.label,
        constituency=sheet.constituency,
        station=None if sheet.station_serial is None else str(sheet.station_serial),
        votes={str(k): v for k, v in sorted(sheet.votes.items())},
        totals={name: getattr(sheet.totals, name) for name in TOTAL_FIELDS},
        submitter_key=SUBMITTER,
        role="import",
        organisation=p.organisation,
        source=source,
        received_at=received,
        checks=(),
    )


class _Files:
    """The dataset's input files by name, each hashed once."""

    def __init__(self, root: Path, paths: Sequence[Path]) -> None:
        self.root = root
        self.paths = sorted(paths)
        self.by_name = {p.name: p for p in reversed(self.paths)}
        self.hashes: dict[Path, tuple[str, str]] = {}

    def find(self, name: object) -> Path | None:
        if isinstance(name, str) and name in self.by_name:
            return self.by_name[name]
        if len(self.paths) == 1:
            return self.paths[0]
        return self.by_name.get("sheets.csv")

    def source(self, path: Path | None, row: int) -> dict[str, object]:
        if path is None:
            return {"file": "", "sha256": "", "row": row}
        known = self.hashes.get(path)
        if known is None:
            known = self.hashes[path] = (str(path.relative_to(self.root)), _sha256(path))
        return {"file": known[0], "sha256": known[1], "row": row}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
