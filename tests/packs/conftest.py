"""A small synthetic night with photos, witnessed, and the pack of one altered constituency (built once)."""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from pollwatch.auth import AuthRole, create_submitter
from pollwatch.auth.tokens import principal_for_secret
from pollwatch.demo import start_witness
from pollwatch.evidence import FilesystemStore
from pollwatch.intake.kinds.checklist import ChecklistSubmission
from pollwatch.intake.kinds.incident import IncidentSubmission
from pollwatch.intake.service import Accepted, Job, write_batch
from pollwatch.ledger import service
from pollwatch.ledger.note import Signer
from pollwatch.ledger.settings import LogSettings
from pollwatch.ledger.trust import TrustAnchor
from pollwatch.packs import export_pack
from pollwatch.storage import Database
from pollwatch.synth import (
    Manipulation,
    ManipulationKind,
    SynthConfig,
    SyntheticElection,
    create_structure,
    generate,
    prepare_night,
)
from pollwatch.synth.photos import load_night_with_photos
from pollwatch.tally.projector import Projector

SLUG = "pack-night"
WHEN = dt.datetime(2030, 1, 3, 9, 0, tzinfo=dt.UTC)
GAZETTE = dt.date(2030, 1, 12)


@dataclass(frozen=True)
class Night:
    db: Database
    election: SyntheticElection
    settings: LogSettings
    anchor: TrustAnchor
    evidence: FilesystemStore
    code: str
    """An altered constituency with a withheld station: the one the pack is made of."""
    pack: Path

    def export(self, out: Path, **options: object) -> Path:
        export_pack(
            self.db, SLUG, self.code, out, settings=self.settings, photos=self.evidence,
            generated_at=WHEN, gazette_date=GAZETTE, **options,  # type: ignore[arg-type]
        )  # fmt: skip
        return out


def _election() -> SyntheticElection:
    return generate(
        SynthConfig(
            seed=11,
            n_stations=300,
            n_constituencies=4,
            n_candidates=4,
            manipulations=(
                Manipulation(ManipulationKind.WITHHELD, 0.03),
                Manipulation(ManipulationKind.ALTERED_TOTALS, 0.5, strength=1.0),
                Manipulation(ManipulationKind.BALLOT_STUFFING, 0.03, strength=0.6),
            ),
        )
    )


def _chosen(e: SyntheticElection) -> str:
    """An altered constituency that also has a withheld station (both kinds must show, and no other)."""
    withheld = np.bincount(e.constituency[e.official_withheld], minlength=e.n_constituencies)
    for c in np.flatnonzero(e.truth.altered):
        if withheld[c]:
            return e.constituency_codes[int(c)]
    raise AssertionError("the seed gives no altered constituency with a withheld station")


COUNT_ANSWERS = {"CA": 120, "CB": 80, "CC": 210, "CD": 4, "CE": True, "CF": False, "CG": True, "CH": False,
                 "CJ": True, "CK": False, "CL": False, "CM": True}  # fmt: skip
"""An observer's count checklist whose men + women (200) miss the total (210): it breaks a QC rule."""


def observe(db: Database, code: str, station: int) -> None:
    """An observer's count checklist and an incident at a station of the pack's constituency."""
    with db.begin() as conn:
        _, token = create_submitter(
            conn, role=AuthRole.OBSERVER, organisation="FAFEN", name="Secret Observer"
        )
        principal = principal_for_secret(conn, token)
    common = {"election": SLUG, "role": "observer", "constituency": code, "station": station}
    records = [
        ChecklistSubmission.model_validate({**common, "submission_id": "pack-checklist-1", "form": "pk-count",
                                            "version": 1, "answers": COUNT_ANSWERS,
                                            "captured_at": "2030-01-01T18:30:00Z"}),
        IncidentSubmission.model_validate({**common, "submission_id": "pack-incident-1",
                                           "category": "result_withheld", "severity": "high",
                                           "occurred_at": "2030-01-01T19:00:00Z"}),
    ]  # fmt: skip
    with db.begin() as conn:
        arrived = dt.datetime(2030, 1, 1, 20, tzinfo=dt.UTC)  # the synthetic night's own clock
        jobs = [Job(record=r, principal=principal, received_at=arrived) for r in records]
        outcomes = write_batch(conn, jobs)
    assert all(isinstance(o, Accepted) for o in outcomes), outcomes


def observed_station(e: SyntheticElection, code: str) -> int:
    """The serial of the constituency's first station (synthetic serials run across the election)."""
    return int(np.flatnonzero(e.constituency == e.constituency_codes.index(code))[0]) + 1


@pytest.fixture(scope="session")
def night(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Night]:
    root = tmp_path_factory.mktemp("pack-night")
    mp = pytest.MonkeyPatch()
    mp.setenv("POLLWATCH_HOME", str(root / "home"))
    db = Database(f"sqlite:///{root / 'night.sqlite3'}")
    db.upgrade()
    e = _election()
    code = _chosen(e)
    create_structure(db, e, slug=SLUG, country="PK")  # Pakistan's observation forms apply
    plan = prepare_night(db, e, slug=SLUG, date=dt.date(2030, 1, 1))
    evidence = FilesystemStore(root / "evidence")
    load_night_with_photos(db, plan, evidence=evidence, constituencies={code})
    observe(db, code, observed_station(e, code))
    log = LogSettings(Signer.from_seed("packs.test/log", hashlib.sha256(b"packs-log").digest()))
    settings, witness = start_witness(log, port=0)
    try:
        service.sign_checkpoint(db, settings)
        Projector(db).catch_up()
        anchor = TrustAnchor(log_key=log.signer.verifier(), witnesses=(settings.witnesses[0].key,))
        n = Night(db, e, settings, anchor, evidence, code, root / "pack")
        n.export(n.pack)
        yield n
    finally:
        witness.shutdown()
        db.dispose()
        mp.undo()


@pytest.fixture
def pack_copy(night: Night, tmp_path: Path) -> Path:
    """A copy of the night's pack that a test may tamper with."""
    out = tmp_path / "pack"
    shutil.copytree(night.pack, out)
    return out
