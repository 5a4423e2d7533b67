"""What ``make demo`` shows: the real 2018 election and a synthetic election night you can watch.

The night enters through the one submission core: every copy is a signed submission of a synthetic
agent, observer or the commission's uploader (:mod:`pollwatch.synth.submissions`), replayed through
the server's own writer at an accelerated clock (:class:`~pollwatch.synth.Replay`) while the
publisher signs checkpoints and a witness of the demo's own cosigns them (:func:`start_witness`).
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from pathlib import Path

from pollwatch import config
from pollwatch.errors import InputError
from pollwatch.ledger.note import ALG_COSIGNATURE, load_signer
from pollwatch.ledger.settings import LogSettings, WitnessEndpoint, load_settings
from pollwatch.ledger.witness import Witness, serve
from pollwatch.storage import Database, structure
from pollwatch.synth import (
    DEFAULT_SPEED,
    LoadSummary,
    Manipulation,
    ManipulationKind,
    Night,
    SynthConfig,
    SyntheticElection,
    contests_from_store,
    create_structure,
    from_universe,
    generate,
    load_night,
    prepare_night,
    truth_file,
)
from pollwatch.synth.mission import load_mission
from pollwatch.synth.store import write_truth

REAL = "pk-2018"
NIGHT = "pk-2018-night"
FALLBACK = "synth-demo"
SETTINGS = {"POLLWATCH_DEMO_SPEED": f"demo night seconds per second (default {DEFAULT_SPEED:g}; 0: flat out)"}
WITNESS_NAME = "witness.demo.pollwatch.local"
WITNESS_PORT = 7380
DEMO_MANIPULATIONS = (
    Manipulation(ManipulationKind.BALLOT_STUFFING, share=0.02, strength=0.6),
    Manipulation(ManipulationKind.WITHHELD, share=0.01),
    Manipulation(ManipulationKind.ALTERED_TOTALS, share=0.03, strength=1.0),
    Manipulation(ManipulationKind.COPIED_NUMBERS, share=0.005),
)
Say = Callable[[str], None]


@dataclass(frozen=True)
class _Shape:
    slug: str
    name: str
    country: str
    rule_pack: str
    date: dt.date


def demo_speed(override: float | None = None) -> float:
    """The replay speed: the override, else ``POLLWATCH_DEMO_SPEED``, else the default."""
    if override is not None:
        return override
    text = os.environ.get("POLLWATCH_DEMO_SPEED", "").strip()
    try:
        speed = float(text) if text else DEFAULT_SPEED
    except ValueError as exc:
        raise InputError("POLLWATCH_DEMO_SPEED is not a number", found=text, expected="e.g. 720") from exc
    if speed < 0:
        raise InputError("POLLWATCH_DEMO_SPEED is negative", found=text, expected="0 (flat out) or more")
    return speed


def prepare_demo(db: Database, *, data_dir: Path, say: Say) -> Night:
    """Import the real data, create the night's structure and submitters (each only once), return the
    night ready to be written."""
    with db.connect() as conn:
        present = {str(e.slug) for _, e in structure.list_elections(conn)}
    if (data_dir / "pakistan-2018-constituency").exists():
        _import_real(db, data_dir=data_dir, say=say)
        say("generating the synthetic election night on the real 2018 National Assembly results ...")
        e = from_universe(
            contests_from_store(db, REAL, assembly="NA"),
            SynthConfig(seed=2018, manipulations=DEMO_MANIPULATIONS),
        )
        shape = _Shape(NIGHT, "Election night 2018 (synthetic sheets on the real NA results)", "PK",
                       "pakistan", dt.date(2018, 7, 25))  # fmt: skip
    else:
        say(f"{data_dir} not found: a fully synthetic election night instead of the real 2018 one")
        e = generate(SynthConfig(seed=2018, n_stations=20_000, n_constituencies=80,
                                 manipulations=DEMO_MANIPULATIONS))  # fmt: skip
        shape = _Shape(FALLBACK, "Synthetic demo election", "XX", "generic", dt.date(2030, 1, 1))
    return _night(db, e, shape, present=present, say=say)


def _import_real(db: Database, *, data_dir: Path, say: Say) -> None:
    from pollwatch.datasets import import_dataset

    for name in ("pakistan-2018-constituency", "pakistan-2018-pollingstation"):
        report = import_dataset(db, name, data_dir)
        counts = ", ".join(f"{v:,} {k}" for k, v in report.counts.items() if isinstance(v, int) and v)
        say(f"{name}: {report.status}" + (f" ({counts})" if counts else ""))


def _night(db: Database, e: SyntheticElection, shape: _Shape, *, present: set[str], say: Say) -> Night:
    if shape.slug in present:
        _check_stored(db, e, shape.slug)
    else:
        create_structure(db, e, slug=shape.slug, name=shape.name, country=shape.country,
                         date=shape.date, rule_pack=shape.rule_pack)  # fmt: skip
        generated = 0 if e.generated is None else int(e.generated.sum())
        say(f"created {shape.slug}: {e.n_stations:,} stations ({generated:,} generated where the "
            "polling scheme lists too few voters)")  # fmt: skip
    if shape.slug == NIGHT:  # the night's seats are the real ones: show their names (and on the map)
        with db.begin() as conn:
            structure.copy_constituency_names(
                conn,
                source_id=structure.get_election(conn, REAL)[0],
                target_id=structure.get_election(conn, NIGHT)[0],
            )
    night = prepare_night(db, e, slug=shape.slug, date=shape.date)
    if not truth_file(shape.slug).exists():
        write_truth(e, slug=shape.slug, arrivals=night.arrivals)
    say(
        f"{len(night.identities)} synthetic submitters with device keys; {len(night.entries):,} signed "
        f"sheets on the night; ground truth of the injected manipulation: {truth_file(shape.slug)}"
    )
    mission = load_mission(db, night)
    say(f"observation mission: {mission.observers} observers deployed; {mission.written:,} checklists, "
        f"incidents, cases and shutdown records written ({mission.duplicates:,} already there)")  # fmt: skip
    return night


def _check_stored(db: Database, e: SyntheticElection, slug: str) -> None:
    """Refuse a night stored by an older generator: its stations are not the ones the sheets name."""
    with db.connect() as conn:
        eid, _ = structure.get_election(conn, slug)
        stored = sum(s.stations for s in structure.list_constituencies(conn, eid))
    if stored != e.n_stations:
        raise InputError(
            f"{slug} was stored by another version of the synthetic night",
            where=slug,
            expected=f"{e.n_stations:,} stations",
            found=f"{stored:,} stations",
            remedy="start the demo afresh: `make clean` (or remove $POLLWATCH_HOME), then `make demo`",
        )


def load_demo(db: Database, night: Night, *, say: Say) -> LoadSummary:
    """Write the whole night now, synchronously (what tests and ``--sync`` use)."""
    summary = load_night(db, night)
    say(f"{night.slug}: {summary.written:,} signed sheets written, {summary.duplicates:,} already there")
    return summary


def start_witness(
    log: LogSettings | None = None, *, port: int = WITNESS_PORT
) -> tuple[LogSettings, ThreadingHTTPServer]:
    """Run the demo's witness in this process (key ``<POLLWATCH_HOME>/keys/witness.key``) and return
    the log settings that push every checkpoint to it, with the server (``shutdown()`` to stop it)."""
    log = log or load_settings()
    path = config.home() / "keys" / "witness.key"
    signer = load_signer(path, name=WITNESS_NAME, alg=ALG_COSIGNATURE)
    verifier = log.signer.verifier()
    witness = Witness(signer, {log.origin: verifier}, state_file=path.with_suffix(".state.json"))
    try:
        server = serve(witness, port=port)
    except OSError:  # the port is taken (another demo, a real witness): any free port will do
        server = serve(witness, port=0)
    threading.Thread(target=server.serve_forever, name="pollwatch-demo-witness", daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    endpoint = WitnessEndpoint(url, signer.verifier())
    return LogSettings(log.signer, (*log.witnesses, endpoint), log.witness_timeout), server
