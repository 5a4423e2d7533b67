"""The demo's observation mission: observers deployed, their signed checklists, incidents that follow the
night's ground truth, cases with their histories, a shutdown; all in the log, once."""

import datetime as dt
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from pollwatch.ledger.records import parse_leaf
from pollwatch.ledger.verify import device_signature_valid
from pollwatch.observe.mission import mission_status
from pollwatch.observe.views import cases_document, incidents_document, shutdowns_document
from pollwatch.storage import Database, observations, structure
from pollwatch.storage import log as log_store
from pollwatch.synth import (
    Manipulation,
    ManipulationKind,
    SynthConfig,
    create_structure,
    generate,
    prepare_night,
)
from pollwatch.synth.mission import load_mission

SLUG = "mission-night"
DAY = dt.date(2030, 1, 1)


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLLWATCH_HOME", str(tmp_path / "home"))


def test_the_mission_follows_the_ground_truth_and_loads_once(sqlite_db: Database) -> None:
    manipulations = (
        Manipulation(ManipulationKind.WITHHELD, 0.05),
        Manipulation(ManipulationKind.BALLOT_STUFFING, 0.05, strength=0.6),
    )
    e = generate(
        SynthConfig(seed=9, n_stations=600, n_constituencies=6, n_candidates=4, manipulations=manipulations)
    )
    create_structure(sqlite_db, e, slug=SLUG, country="PK", date=DAY)
    night = prepare_night(sqlite_db, e, slug=SLUG, date=DAY)
    first = load_mission(sqlite_db, night, observers=120)
    assert first.written > 250
    again = load_mission(sqlite_db, night, observers=120)
    assert (again.written, again.duplicates) == (0, first.written)
    with sqlite_db.connect() as conn:
        eid, _ = structure.get_election(conn, SLUG)
        size = log_store.get_state(conn).size
        leaves = [parse_leaf(d) for d in log_store.read_entries(conn, 0, size)]
        checklists = observations.list_checklists(conn, eid)
        incidents = incidents_document(conn, SLUG, category=None, limit=10_000)["incidents"]
        cases = cases_document(conn, SLUG)["cases"]
        shutdowns = shutdowns_document(conn, SLUG)["shutdowns"]
        status = mission_status(conn, SLUG, organisation=None, now=dt.datetime(2030, 1, 2, tzinfo=dt.UTC))
    assert size == first.written  # every record is a leaf
    types = Counter(r.type for r in leaves)
    assert types["checklist"] == len(checklists)
    assert {"checklist", "incident", "case", "case_update", "shutdown"} <= set(types)
    signed = [r for r in leaves if r.type in ("checklist", "incident")]
    assert all(device_signature_valid(r) for r in signed)  # signed on each observer's device
    assert len(status["deployments"]) == 120
    assert status["silent"]  # some observers never reported: the coordinator's view names them
    assert any(c["quarantined"] for c in checklists)  # an arithmetic slip, caught by the QC rule
    # The count checklists carry the stations' true counts.
    counts = [r.body for r in leaves if r.type == "checklist" and r.body["form"] == "pk-count"]
    assert counts
    for body in counts:
        station = int(body["station"]) - 1  # synthetic serials run across the election
        polled = int(e.votes[station].sum() + e.rejected[station])
        assert (body["answers"]["CC"] == polled) is (not body["checks"])
    # Incidents of stuffing and withheld results only where the ground truth put them.
    deployed = {(d["constituency"], d["station"]) for d in status["deployments"]}
    for category, truth in (("ballot_stuffing", e.truth.stuffed), ("result_withheld", e.truth.withheld)):
        reported = {(i["constituency"], i["station"]) for i in incidents if i["category"] == category}
        expected = {(e.constituency_codes[e.constituency[s]], int(s) + 1) for s in np.flatnonzero(truth)}
        assert reported == expected & deployed
        assert reported
    assert len(cases) == 6
    [named] = [c for c in cases if any(p.get("published_name") for p in c["people"])]  # a public figure
    assert [h["status"] for h in named["history"]] == ["remanded", "bailed", "released"]
    assert named["status"] == "released"
    assert all(c["history"] for c in cases)
    assert shutdowns[0]["networks"] == ["mobile_data", "mobile_voice"]
    public = json.dumps([incidents, cases, shutdowns], default=str)
    assert "Synthetic person" not in public  # private identities stay private
    assert "synthetic observer" not in public
