"""The synthetic night enters the log through the submission core, signed, once, and verifiably."""

import datetime as dt
import json
import time
from pathlib import Path

import numpy as np
import pytest

from pollwatch.audit import audit_election
from pollwatch.demo import demo_speed, start_witness
from pollwatch.errors import InputError
from pollwatch.intake.service import write_batch
from pollwatch.intake.writer import Writer
from pollwatch.ledger import service
from pollwatch.ledger.bundle import export_bundle
from pollwatch.ledger.note import Signer
from pollwatch.ledger.settings import LogSettings
from pollwatch.ledger.trust import TrustAnchor
from pollwatch.ledger.verify import verify_bundle
from pollwatch.model import Role, SheetKind
from pollwatch.storage import Database, structure
from pollwatch.storage import log as log_store
from pollwatch.storage import sheets as sheet_store
from pollwatch.storage.results import load_election
from pollwatch.synth import (
    Manipulation,
    ManipulationKind,
    Replay,
    SynthConfig,
    SyntheticElection,
    create_structure,
    first_unwritten,
    generate,
    load_night,
    prepare_night,
    store,
)
from pollwatch.synth.store import GENERATED_SOURCE
from pollwatch.tally import ResultsInput
from pollwatch.tally.projector import Projector
from pollwatch.tally.views import live_tally

KINDS = ManipulationKind
SLUG = "night-5"


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLLWATCH_HOME", str(tmp_path / "home"))


def _election(seed: int = 5, stations: int = 400, constituencies: int = 10) -> SyntheticElection:
    return generate(
        SynthConfig(
            seed=seed,
            n_stations=stations,
            n_constituencies=constituencies,
            n_candidates=4,
            manipulations=(
                Manipulation(KINDS.WITHHELD, 0.03),
                Manipulation(KINDS.ALTERED_TOTALS, 0.3, strength=1.0),
                Manipulation(KINDS.BALLOT_STUFFING, 0.03, strength=0.6),
                Manipulation(KINDS.COPIED_NUMBERS, 0.02),
            ),
        )
    )


def _log_size(db: Database) -> int:
    with db.connect() as conn:
        return log_store.get_state(conn).size


def test_night_sheets_are_leaves_and_a_second_load_appends_nothing(db: Database) -> None:
    e = _election()
    result = store(db, e, slug=SLUG)
    assert _log_size(db) == result.sheets
    with db.connect() as conn:
        eid, _ = structure.get_election(conn, SLUG)
        sheets = sheet_store.list_sheets(conn, eid)
    assert len(sheets) == result.sheets
    assert {s.provenance.submitter_key[:8] for s in sheets} == {"ed25519:"}
    assert {s.form for s in sheets} == {"Form-45", "Form-47", "Form-48"}
    assert sum(s.kind is SheetKind.PROVISIONAL for s in sheets) == e.n_constituencies
    assert sum(s.kind is SheetKind.CONSOLIDATED for s in sheets) == int((~e.official_withheld).sum())
    again = load_night(db, prepare_night(db, e, slug=SLUG, date=_date()))
    assert (again.written, again.duplicates) == (0, result.sheets)
    assert _log_size(db) == result.sheets


def _date() -> dt.date:
    return dt.date(2030, 1, 1)


def test_bundle_of_the_night_verifies_with_signatures_and_cosignatures(db: Database, tmp_path: Path) -> None:
    result = store(db, _election(stations=150, constituencies=3), slug=SLUG)
    log = LogSettings(Signer.from_seed("demo.test/log", bytes(range(32))))
    settings, witness = start_witness(log, port=0)
    try:
        assert service.sign_checkpoint(db, settings) is not None
        # The publisher asks the witness before the checkpoint becomes the latest: it is cosigned already.
        assert f"— {settings.witnesses[0].key.name} " in service.latest_checkpoint(db, settings)
    finally:
        witness.shutdown()
    export_bundle(db, tmp_path / "bundle", settings=settings)
    anchor = TrustAnchor(log_key=log.signer.verifier(), witnesses=(settings.witnesses[0].key,))
    report = verify_bundle(tmp_path / "bundle", anchor)
    assert report.ok, report.failed()
    checks = {c.name: c for c in report.checks}
    assert checks["entries complete"].found == str(result.sheets)
    assert checks["device signatures"].found == f"{result.sheets} checked"
    # One cosigned checkpoint, found twice: as the latest and under checkpoints/<size>.
    assert checks["witness cosignatures"].found == "2 valid"
    # The bundle's tallies, recomputed offline from the leaves, are the server's for every constituency.
    Projector(db).catch_up()
    with db.connect() as conn:
        served = {t.code: t for t in live_tally(conn, SLUG).constituencies()}
    offline = json.loads((tmp_path / "bundle" / "tallies.json").read_text())["constituencies"]
    assert set(offline) == set(served)
    for code, t in served.items():
        by_position = {str(c["position"]): c["votes"] for c in t.candidate_votes() if c["votes"]}
        assert {k: v for k, v in offline[code]["votes"].items() if v} == by_position, code
        assert offline[code]["stations"] == t.stations_reported, code


def test_audit_finds_exactly_the_altered_totals(db: Database) -> None:
    e = _election(seed=11, stations=1_500, constituencies=12)
    result = store(db, e, slug=SLUG)
    with db.connect() as conn:
        inp = ResultsInput(*load_election(conn, SLUG))
    report = audit_election(inp, kinds={"official_total_differs"})
    found = {f.where.split()[0] for f in report.findings}
    truth = json.loads(result.truth_path.read_text())
    assert truth["altered_constituencies"]
    assert found == set(truth["altered_constituencies"])


def test_official_copies_are_written_by_the_commission(db: Database) -> None:
    store(db, _election(stations=150, constituencies=3), slug=SLUG)
    with db.connect() as conn:
        eid, _ = structure.get_election(conn, SLUG)
        official = [s for s in sheet_store.list_sheets(conn, eid) if s.provenance.role is Role.OFFICIAL]
    assert official
    assert {s.provenance.organisation for s in official} == {"Election commission"}


def test_generated_stations_are_marked_and_stored(db: Database) -> None:
    from pollwatch.synth import Contest, RealStation, from_universe

    contest = Contest(
        code="NA-21",
        region="KP",
        registered=300_000,
        candidates=(("A", "P1"), ("B", "P2")),
        totals=(120_000, 70_000),
        rejected=3_035,
        stations=(RealStation("1", 1_500, 3), RealStation("2", 1_327, 3)),
    )
    e = from_universe([contest], SynthConfig(seed=3))
    assert e.generated is not None
    store(db, e, slug=SLUG, rule_pack="pakistan")
    with db.connect() as conn:
        eid, _ = structure.get_election(conn, SLUG)
        cid, _ = structure.get_constituency(conn, eid, "NA-21")
        stations = structure.list_stations(conn, cid)
    assert len(stations) == e.n_stations == int(e.generated.sum()) + 2
    assert sum(s.registered.total or 0 for s in stations) >= 300_000
    assert bool((e.polled <= e.registered).all())
    assert GENERATED_SOURCE == "synth:generated"
    assert int(np.count_nonzero(e.generated)) > 100


def test_replay_through_the_writer_resumes_where_the_load_stopped(db: Database) -> None:
    e = _election(stations=150, constituencies=3)
    create_structure(db, e, slug=SLUG)
    night = prepare_night(db, e, slug=SLUG, date=_date())
    half = len(night.entries) // 2
    with db.begin() as conn:
        write_batch(conn, [night.job(entry) for entry in night.entries[:half]])
    assert first_unwritten(db, night) == half
    writer = Writer(db)
    try:
        replay = Replay(night, writer, speed=0, start=half, chunk=64)
        replay.start()
        assert replay.finished.wait(120)
    finally:
        writer.close()
    assert (replay.done, replay.refused) == (len(night.entries) - half, 0)
    assert _log_size(db) == len(night.entries) == first_unwritten(db, night)


def test_replay_follows_the_accelerated_clock(db: Database) -> None:
    e = _election(stations=150, constituencies=3)
    create_structure(db, e, slug=SLUG)
    night = prepare_night(db, e, slug=SLUG, date=_date())
    writer = Writer(db)
    try:
        replay = Replay(night, writer, speed=60.0)  # a night minute a second: hours to finish
        replay.start()
        time.sleep(1.0)
        replay.stop()
    finally:
        writer.close()
    span = (night.entries[replay.done - 1].at - night.entries[0].at).total_seconds()
    assert 0 < replay.done < len(night.entries)
    assert span <= 60.0 * 1.5


def test_demo_speed_comes_from_the_flag_then_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLLWATCH_DEMO_SPEED", "0")
    assert (demo_speed(), demo_speed(30.0)) == (0.0, 30.0)
    monkeypatch.setenv("POLLWATCH_DEMO_SPEED", "fast")
    with pytest.raises(InputError, match="not a number"):
        demo_speed()
