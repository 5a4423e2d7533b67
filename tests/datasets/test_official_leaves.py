"""``pollwatch import`` logs every sheet it stores as an ``official`` leaf naming its file and row."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path
from typing import Any

from pollwatch.datasets import import_dataset, read
from pollwatch.ledger.records import parse_leaf
from pollwatch.storage import Database
from pollwatch.storage import log as logstore
from tests.conftest import require_shared_data
from tests.datasets.conftest import copy_dataset, replace_in


def _leaves(db: Database) -> list[dict[str, Any]]:
    with db.connect() as conn:
        raw = logstore.read_entries(conn, 0, logstore.count_entries(conn))
    return [{"type": r.type, **r.body} for r in map(parse_leaf, raw)]


def test_import_appends_one_official_leaf_per_sheet_and_reimport_none(
    db: Database, kenya_bundle: Path
) -> None:
    import_dataset(db, f"generic:{kenya_bundle}", Path("."))
    leaves = _leaves(db)
    assert len(leaves) == 3  # the bundle's three sheets
    assert {leaf["type"] for leaf in leaves} == {"official"}
    sha = hashlib.sha256((kenya_bundle / "sheets.csv").read_bytes()).hexdigest()
    assert [leaf["source"] for leaf in leaves] == [
        {"file": "sheets.csv", "sha256": sha, "row": n} for n in (2, 3, 4)
    ]
    assert all(leaf["role"] == "import" and leaf["submitter_key"] == "import" for leaf in leaves)
    assert import_dataset(db, f"generic:{kenya_bundle}", Path(".")).status == "already imported"
    assert len(_leaves(db)) == 3
    # a changed file: the old leaves stay, the new figures are appended
    replace_in(kenya_bundle / "votes.csv", "34B-290,1,400", "34B-290,1,401")
    import_dataset(db, f"generic:{kenya_bundle}", Path("."))
    after = _leaves(db)
    assert after[:3] == leaves
    assert len(after) == 6
    assert (
        sum(sum(leaf["votes"].values()) for leaf in after[3:])
        == sum(sum(x["votes"].values()) for x in leaves) + 1
    )


def test_pakistan_2018_official_leaves_name_the_csv_row_of_each_result(
    sqlite_db: Database, tmp_path: Path
) -> None:
    source = require_shared_data("pakistan-2018-constituency")
    data = tmp_path / "data"
    copy_dataset(source, data / "pakistan-2018-constituency")
    parsed = read("pakistan-2018-constituency", data)
    import_dataset(sqlite_db, "pakistan-2018-constituency", data)
    leaves = _leaves(sqlite_db)
    assert len(leaves) == len(parsed.sheets)
    final = next(leaf for leaf in leaves if leaf["kind"] == "final")
    path = data / "pakistan-2018-constituency" / final["source"]["file"]
    assert final["source"]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        row = next(r for r in reader if reader.line_num == final["source"]["row"])
    assert row["constituency_code"] == final["constituency"]
    assert str(final["totals"]["valid"]) == row["valid_votes"]
