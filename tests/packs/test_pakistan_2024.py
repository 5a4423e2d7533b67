"""The pack of NA-46 (2024): party-collected Form-45s against the official result, station by station,
with the reversal the audit finds, named."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from pollwatch.datasets import import_dataset
from pollwatch.demo import start_witness
from pollwatch.ledger import service
from pollwatch.ledger.note import Signer
from pollwatch.ledger.settings import LogSettings
from pollwatch.ledger.trust import TrustAnchor
from pollwatch.packs import export_pack, verify_pack
from pollwatch.storage import Database
from pollwatch.tally.projector import Projector
from tests.conftest import require_shared_data
from tests.datasets.conftest import copy_dataset

pytestmark = [pytest.mark.shared_data, pytest.mark.slow]


def _data(tmp_path: Path) -> Path:
    """The 2024 results and rosters with the Form-45 file of NA-46 only, in a data dir of its own."""
    source = require_shared_data("pakistan-2024-pollingstation").parent
    copy_dataset(source / "pakistan-2024-constituency", tmp_path / "pakistan-2024-constituency")
    copy_dataset(source / "pakistan-2024-pollingstation", tmp_path / "pakistan-2024-pollingstation")
    for path in (tmp_path / "pakistan-2024-pollingstation" / "form45").glob("*.csv"):
        if path.stem != "NA-46":
            path.unlink()
    return tmp_path


def test_na46_pack_shows_the_station_figures_and_the_reversal(
    sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POLLWATCH_HOME", str(tmp_path / "home"))
    import_dataset(sqlite_db, "pakistan-2024", _data(tmp_path / "data"))
    log = LogSettings(Signer.from_seed("packs.test/pk-2024", hashlib.sha256(b"pk-2024").digest()))
    settings, witness = start_witness(log, port=0)
    try:
        service.sign_checkpoint(sqlite_db, settings)
        Projector(sqlite_db).catch_up()
        pack = tmp_path / "NA-46"
        export_pack(
            sqlite_db, "pk-2024", "NA-46", pack, settings=settings, gazette_date=dt.date(2024, 2, 16),
            generated_at=dt.datetime(2024, 3, 1, tzinfo=dt.UTC),
        )  # fmt: skip
    finally:
        witness.shutdown()
    summary = json.loads((pack / "summary.json").read_text())
    f = summary["figures"]
    names = {str(b["position"]): b["candidate"] for b in summary["ballot"]}
    # Station by station: every one of the 342 party-collected Form-45s, each in its own folder with a proof.
    signed = [r for r in f["stations"] if r["signed"] is not None]
    assert len(signed) == 342
    assert all((pack / r["folder"] / f"{r['records'][0]}.tlog-proof").exists() for r in signed)
    # The declared result against the sum of the Form-45s: a winner reversal the audit finds too.
    m = f["margin"]
    assert m["could_change_winner"] is True
    assert names[m["winner_without_discrepancies"]] == "Amir Mughal"
    assert names[m["winner"]] != "Amir Mughal"
    (whole,) = [d for d in f["discrepancies"] if d["kind"] == "declared_total_differs"]
    assert whole["difference"] == {
        k: f["declared"]["votes"].get(k, 0) - f["signed_sum"].get(k, 0) for k in whole["difference"]
    }
    audit = {x["kind"]: x for x in summary["findings"]}
    reversal = audit.get("winner_reversal") or audit["signed_leader_differs"]
    assert reversal["data"]["signed_winner_candidate"]["candidate"] == "Amir Mughal"
    assert summary["deadlines"]["last_day"] == "2024-04-01"
    anchor = TrustAnchor(log_key=log.signer.verifier(), witnesses=(settings.witnesses[0].key,))
    report = verify_pack(pack, anchor)
    assert report.ok, report.failed()
    if shutil.which("pdftotext"):
        out = subprocess.run(["pdftotext", str(pack / "pack.pdf"), "-"], capture_output=True, check=True)
        text = re.sub(r"\s+", " ", out.stdout.decode())
        assert "Amir Mughal" in text
        assert names[m["winner"]] in text
        assert f"{m['margin']:,}" in text
