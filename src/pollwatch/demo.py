"""What ``make demo`` loads: the real 2018 election and a synthetic election night on its stations."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path

from pollwatch.storage import Database, structure
from pollwatch.synth import (
    Manipulation,
    ManipulationKind,
    SynthConfig,
    contests_from_store,
    from_universe,
    generate,
    store,
)

REAL = "pk-2018"
NIGHT = "pk-2018-night"
DEMO_MANIPULATIONS = (
    Manipulation(ManipulationKind.BALLOT_STUFFING, share=0.02, strength=0.6),
    Manipulation(ManipulationKind.WITHHELD, share=0.01),
    Manipulation(ManipulationKind.ALTERED_TOTALS, share=0.03, strength=0.5),
    Manipulation(ManipulationKind.COPIED_NUMBERS, share=0.005),
)


def prepare_demo(db: Database, *, data_dir: Path, say: Callable[[str], None]) -> Iterator[str]:
    """Load what is missing (idempotent: a second run loads nothing) and yield what was done."""
    with db.connect() as conn:
        present = {str(e.slug) for _, e in structure.list_elections(conn)}
    if (data_dir / "pakistan-2018-constituency").exists():
        yield from _real_and_night(db, data_dir=data_dir, present=present, say=say)
        return
    yield f"{data_dir} not found: loading a fully synthetic election instead of the real 2018 one"
    if "synth-demo" not in present:
        config = SynthConfig(
            seed=2018, n_stations=20_000, n_constituencies=80, manipulations=DEMO_MANIPULATIONS
        )
        result = store(db, generate(config), slug="synth-demo", name="Synthetic demo election")
        yield f"stored synth-demo: {result.stations:,} stations, {result.sheets:,} sheets"


def _real_and_night(
    db: Database, *, data_dir: Path, present: set[str], say: Callable[[str], None]
) -> Iterator[str]:
    from pollwatch.datasets import import_dataset

    for name in ("pakistan-2018-constituency", "pakistan-2018-pollingstation"):
        say(f"importing {name} from {data_dir} ...")
        report = import_dataset(db, name, data_dir)
        counts = ", ".join(f"{v:,} {k}" for k, v in report.counts.items() if isinstance(v, int) and v)
        yield f"{name}: {report.status} ({counts})"
    if NIGHT not in present:
        say("generating a synthetic election night on the real 2018 National Assembly stations ...")
        night = from_universe(
            contests_from_store(db, REAL, assembly="NA"),
            SynthConfig(seed=2018, manipulations=DEMO_MANIPULATIONS),
        )
        result = store(
            db,
            night,
            slug=NIGHT,
            country="PK",
            rule_pack="pakistan",
            date=dt.date(2018, 7, 25),
            name="Election night 2018 (synthetic sheets on the real NA stations and results)",
        )
        yield f"stored {NIGHT}: {result.stations:,} stations, {result.sheets:,} sheets"
        yield f"ground truth of the injected manipulation: {result.truth_path}"
