"""Real-data importers: the Pakistan 2018 and 2024 datasets and the generic format for any country.

``read`` parses and validates a dataset without writing anything; ``import_dataset`` loads it in one
transaction, idempotently (the content SHA-256 of the input files is recorded; the same input again
writes nothing, changed input replaces what the dataset wrote before).

>>> import datetime as dt, json, tempfile
>>> from pathlib import Path
>>> from pollwatch.storage import Database
>>> doc = {"election": {"slug": "ke-demo", "country": "KE", "name": "Demo", "date": "2022-08-09",
...                     "delimitation": "2012"},
...        "constituencies": [{"code": "290", "assembly": "PRES", "name": "Westlands"}],
...        "candidates": [{"constituency": "290", "ballot_order": 1, "name": "A"},
...                       {"constituency": "290", "ballot_order": 2, "name": "B"}],
...        "sheets": [{"sheet": "34A-1", "kind": "station_count", "form": "34A", "constituency": "290",
...                    "valid": 30, "votes": {"1": 10, "2": 20}}]}
>>> path = Path(tempfile.mkdtemp()) / "ke.json"
>>> _ = path.write_text(json.dumps(doc))
>>> db = Database("sqlite://"); db.upgrade()
>>> import_dataset(db, f"generic:{path}", Path(".")).status
'imported'
>>> import_dataset(db, f"generic:{path}", Path(".")).status
'already imported'
"""

from __future__ import annotations

from pollwatch.datasets._dataset import Dataset
from pollwatch.datasets._registry import GROUPS, NAMES, read
from pollwatch.datasets.load import ImportReport, import_dataset

__all__ = ["GROUPS", "NAMES", "Dataset", "ImportReport", "import_dataset", "read"]
