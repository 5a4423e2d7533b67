"""Fixtures for the importers: a small generic election (Kenya-style 34A/34B) and trimmed real files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

# A made-up two-station Kenyan presidential contest: two Form 34A station sheets and the 34B
# constituency tally, with a stream number only Kenya prints (kept in `extra`). Numbers are invented.
KENYA: dict[str, list[dict[str, Any]]] = {
    "elections": [
        {
            "slug": "ke-2022-demo",
            "country": "KE",
            "name": "Kenya presidential 2022 (demo)",
            "date": "2022-08-09",
            "rule_pack": "kenya",
            "delimitation": "2012",
        }
    ],
    "parties": [{"code": "UDA", "name": "United Democratic Alliance"}, {"code": "ODM", "name": "Azimio"}],
    "constituencies": [
        {
            "code": "290",
            "assembly": "PRES",
            "name": "Westlands",
            "region": "Nairobi",
            "registered_total": "1000",
        }
    ],
    "stations": [
        {
            "constituency": "290",
            "serial": "1",
            "number": "001",
            "name": "Kilimani Primary",
            "registered_total": "600",
        },
        {
            "constituency": "290",
            "serial": "2",
            "number": "002",
            "name": "Loresho Primary",
            "registered_total": "400",
        },
    ],
    "candidates": [
        {"constituency": "290", "ballot_order": "1", "name": "Candidate A", "party": "ODM"},
        {"constituency": "290", "ballot_order": "2", "name": "Candidate B", "party": "UDA"},
        {"constituency": "290", "ballot_order": "3", "name": "Candidate C", "party": ""},
    ],
    "sheets": [
        {
            "sheet": "34A-001",
            "kind": "station_count",
            "form": "34A",
            "constituency": "290",
            "station_serial": "1",
            "station": "001",
            "valid": "500",
            "rejected": "4",
            "polled": "504",
            "registered": "600",
            "role": "agent",
            "organisation": "Observer group",
            "extra": '{"stream": "1"}',
        },
        {
            "sheet": "34A-002",
            "kind": "station_count",
            "form": "34A",
            "constituency": "290",
            "station_serial": "2",
            "station": "002",
            "valid": "300",
            "rejected": "1",
            "polled": "450",
            "registered": "400",
            "role": "official",
            "extra": '{"stream": "1"}',
        },
        {
            "sheet": "34B-290",
            "kind": "consolidated",
            "form": "34B",
            "constituency": "290",
            "valid": "800",
            "rejected": "5",
            "polled": "805",
            "role": "official",
        },
    ],
    "votes": [
        {"sheet": "34A-001", "ballot_order": "1", "votes": "300"},
        {"sheet": "34A-001", "ballot_order": "2", "votes": "190"},
        {"sheet": "34A-001", "ballot_order": "3", "votes": "10"},
        {"sheet": "34A-002", "ballot_order": "1", "votes": "100"},
        {"sheet": "34A-002", "ballot_order": "2", "votes": "195"},
        {"sheet": "34A-002", "ballot_order": "3", "votes": "5"},
        {"sheet": "34B-290", "ballot_order": "1", "votes": "400"},
        {"sheet": "34B-290", "ballot_order": "2", "votes": "385"},
        {"sheet": "34B-290", "ballot_order": "3", "votes": "15"},
    ],
}


def write_bundle(folder: Path, tables: dict[str, list[dict[str, Any]]]) -> Path:
    """Write tables as the generic CSV bundle (one CSV per table)."""
    import csv

    folder.mkdir(parents=True, exist_ok=True)
    for table, rows in tables.items():
        columns = list(dict.fromkeys(k for row in rows for k in row))
        with (folder / f"{table}.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows)
    return folder


def as_document(tables: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """The same election as one generic JSON document."""
    votes: dict[str, dict[str, int]] = {}
    for v in tables["votes"]:
        votes.setdefault(v["sheet"], {})[v["ballot_order"]] = int(v["votes"])

    def clean(row: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in row.items() if v != ""}
        if "extra" in out:
            out["extra"] = json.loads(out["extra"])
        return out

    return {
        "election": tables["elections"][0],
        **{t: [clean(r) for r in tables[t]] for t in ("parties", "constituencies", "stations", "candidates")},
        "sheets": [{**clean(s), "votes": votes.get(s["sheet"], {})} for s in tables["sheets"]],
    }


@pytest.fixture
def kenya_bundle(tmp_path: Path) -> Path:
    return write_bundle(tmp_path / "kenya", KENYA)


@pytest.fixture
def kenya_json(tmp_path: Path) -> Path:
    path = tmp_path / "kenya.json"
    path.write_text(json.dumps(as_document(KENYA)))
    return path


def copy_dataset(source: Path, target: Path, *, head: dict[str, int] | None = None) -> Path:
    """Copy a real dataset folder into a temporary one, keeping only the first lines of some files."""
    shutil.copytree(source, target)
    for name, lines in (head or {}).items():
        path = target / name
        path.chmod(0o644)
        kept = path.read_text(encoding="utf-8").splitlines(keepends=True)[:lines]
        path.write_text("".join(kept), encoding="utf-8")
    for path in target.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return target


def replace_in(path: Path, old: str, new: str, *, count: int = 1) -> None:
    """Corrupt a copied file: replace the first ``count`` occurrences of ``old``."""
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, count), encoding="utf-8")
