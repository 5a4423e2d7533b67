"""Loading a dataset into the database: one transaction, idempotent by content hash."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from pollwatch.datasets import _registry as registry
from pollwatch.datasets import generic
from pollwatch.datasets._dataset import Dataset
from pollwatch.datasets._files import content_sha256
from pollwatch.datasets._leaves import append_official_leaves
from pollwatch.errors import ConflictError
from pollwatch.model import Election
from pollwatch.storage import Database, structure
from pollwatch.storage import datasets as stored
from pollwatch.storage.findings import delete_source, get_import, insert_findings, record_import
from pollwatch.storage.sheets import insert_sheets

Progress = Callable[[str, int, int], None]
"""Called as ``progress(stage, done, total)`` while an import runs."""

IMPORTED, RELOADED, UNCHANGED = "imported", "reloaded", "already imported"


@dataclass(frozen=True)
class ImportReport:
    """What one import did: status, counts written (or recorded before) and findings by kind."""

    dataset: str
    election: str
    status: str
    """``imported`` (first time), ``reloaded`` (input changed) or ``already imported`` (nothing written)."""
    content_sha256: str
    counts: dict[str, Any] = field(default_factory=dict)
    findings_by_kind: dict[str, int] = field(default_factory=dict)
    parts: tuple[ImportReport, ...] = ()
    """For a group (or a dataset that pulled in what it depends on): each member's report."""

    @property
    def written(self) -> bool:
        return self.status != UNCHANGED or any(p.written for p in self.parts)


def import_dataset(
    db: Database, name: str, data_dir: Path, *, progress: Progress | None = None
) -> ImportReport:
    """Import a dataset, a group or ``generic:<path>`` in one transaction; a failure writes nothing."""
    names = registry.members(name)
    notify = progress or (lambda _stage, _done, _total: None)
    cache: dict[str, Dataset] = {}
    with db.begin() as conn:
        reports = [_import_one(conn, n, data_dir, notify, cache) for n in names]
    if len(reports) == 1:
        return reports[0]
    counts: dict[str, Any] = {}
    kinds: dict[str, int] = {}
    for r in reports:
        for key, value in r.counts.items():
            if isinstance(value, int):
                counts[key] = counts.get(key, 0) + value
        for key, n in r.findings_by_kind.items():
            kinds[key] = kinds.get(key, 0) + n
    status = UNCHANGED if not any(r.written for r in reports) else IMPORTED
    return ImportReport(
        dataset=name,
        election=reports[0].election,
        status=status,
        content_sha256="",
        counts=counts,
        findings_by_kind=dict(sorted(kinds.items())),
        parts=tuple(reports),
    )


def write_dataset(db: Database, dataset: Dataset, *, progress: Progress | None = None) -> ImportReport:
    """Write an already parsed dataset (built in code, e.g. by a benchmark or a converter) in one transaction.

    Unlike ``import_dataset`` there are no input files to hash: the dataset is written unconditionally,
    after removing whatever an earlier write of the same ``dataset.name`` stored.
    """
    notify = progress or (lambda _stage, _done, _total: None)
    with db.begin() as conn:
        election_id = structure.create_election(conn, dataset.election)
        previous = get_import(conn, election_id, dataset.name)
        if previous is not None:
            delete_source(conn, election_id, dataset.name)
        _write(conn, election_id, dataset, notify)
        counts = {**dataset.counts(), "findings_by_kind": dataset.findings_by_kind()}
        record_import(conn, election_id, dataset.name, content_sha256="", counts=counts)
    status = IMPORTED if previous is None else RELOADED
    return ImportReport(dataset.name, dataset.election.slug, status, "", counts, dataset.findings_by_kind())


def _import_one(
    conn: Connection, name: str, data_dir: Path, progress: Progress, cache: dict[str, Dataset]
) -> ImportReport:
    root, paths = registry.files(name, data_dir)
    progress(f"{name}: hashing", 0, 1)
    sha = content_sha256(paths, root)
    parts = tuple(_import_one(conn, d, data_dir, progress, cache) for d in registry.DEPENDS_ON.get(name, ()))
    election, source = _identity(name, data_dir, cache)
    election_id = structure.create_election(conn, election)
    previous = get_import(conn, election_id, source)
    # A reloaded dependency has already re-imported this dataset (see _delete_dependents).
    if previous is not None and previous[0] == sha:
        counts = previous[1]
        return ImportReport(
            source, election.slug, UNCHANGED, sha, counts, dict(counts.get("findings_by_kind", {})), parts
        )
    progress(f"{name}: reading", 0, 1)
    dataset = registry.read_one(name, data_dir, cache)
    progress(f"{name}: reading", 1, 1)
    dependents: list[str] = []
    if previous is not None:
        _refuse_if_referenced(conn, election_id, name, source)
        # Datasets whose sheets point at this one's candidates go first (and come back after): the
        # candidates get new ids, and deleting them while votes still refer to them would be slow.
        dependents = _delete_dependents(conn, election_id, name)
        delete_source(conn, election_id, source)
    _write(conn, election_id, dataset, progress)
    # Every stored sheet is logged as an official leaf naming its file and row; an unchanged
    # re-import returned above, so it appends nothing. A reload appends the new figures (the old
    # leaves stay: the log is append-only).
    progress(f"{name}: log", 0, len(dataset.sheets))
    append_official_leaves(conn, dataset, root, paths)
    progress(f"{name}: log", len(dataset.sheets), len(dataset.sheets))
    counts = {**dataset.counts(), "findings_by_kind": dataset.findings_by_kind()}
    record_import(conn, election_id, source, content_sha256=sha, counts=counts)
    status = IMPORTED if previous is None else RELOADED
    for dependent in dependents:
        cache.pop(dependent, None)
        parts += (_import_one(conn, dependent, data_dir, progress, cache),)
    return ImportReport(source, election.slug, status, sha, counts, dataset.findings_by_kind(), parts)


def _identity(name: str, data_dir: Path, cache: dict[str, Dataset]) -> tuple[Election, str]:
    """The election and the ``source`` name of a dataset (generic ones must be parsed to know)."""
    if name.startswith(generic.PREFIX):
        parsed = registry.read_one(name, data_dir, cache)
        return parsed.election, parsed.name
    return registry.ELECTIONS[name], name


def _refuse_if_referenced(conn: Connection, election_id: int, name: str, source: str) -> None:
    """Never let a reload cascade-delete sheets that other sources (intake, say) attached to its rows."""
    allowed = [source, *(d for d, needs in registry.DEPENDS_ON.items() if name in needs)]
    n = stored.count_foreign_references(conn, election_id, source, allowed=allowed)
    if n:
        raise ConflictError(
            f"{source} changed, but {n} sheets from other sources refer to its stations or candidates",
            expected="no sheets of other sources attached to this dataset's rows",
            found=f"{n} sheets",
            remedy="import the changed files under a new election, or remove those sheets deliberately first",
        )


def _delete_dependents(conn: Connection, election_id: int, name: str) -> list[str]:
    """Remove what depends on ``name`` (and its import record); return those datasets to re-import."""
    out = []
    for dependent, needs in registry.DEPENDS_ON.items():
        if name in needs and get_import(conn, election_id, dependent) is not None:
            delete_source(conn, election_id, dependent)
            stored.delete_import(conn, election_id, dependent)
            out.append(dependent)
    return out


def _write(conn: Connection, election_id: int, d: Dataset, progress: Progress) -> None:
    steps = (
        ("parties", len(d.parties), lambda: structure.upsert_parties(conn, election_id, d.parties)),
        ("constituencies", len(d.constituencies), lambda: _constituencies(conn, election_id, d)),
        ("stations", len(d.stations), lambda: _stations(conn, election_id, d)),
        (
            "candidates",
            len(d.candidates),
            lambda: structure.insert_candidates(conn, election_id, d.candidates, source=d.name),
        ),
        ("sheets", len(d.sheets), lambda: insert_sheets(conn, election_id, d.sheets)),
        ("findings", len(d.findings), lambda: insert_findings(conn, election_id, d.findings, source=d.name)),
    )
    for stage, total, action in steps:
        progress(f"{d.name}: {stage}", 0, total)
        action()
        progress(f"{d.name}: {stage}", total, total)


def _constituencies(conn: Connection, election_id: int, d: Dataset) -> None:
    structure.upsert_constituencies(conn, election_id, d.constituencies)
    if d.name in registry.AUTHORITATIVE_REGISTRATION:
        # The commission's registration figures replace a partial station sum stored earlier.
        stored.update_registered(conn, election_id, d.constituencies)


def _stations(conn: Connection, election_id: int, d: Dataset) -> int:
    ids = structure.constituency_ids(conn, election_id)
    return structure.insert_stations(conn, ids=ids, stations=d.stations, source=d.name)
