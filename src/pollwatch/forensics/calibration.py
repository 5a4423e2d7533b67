"""How often each test flags a clean election, and how much manipulation it needs to notice.

False-positive rates come from many synthetic clean elections and from the clean real references
(Austrian municipalities, Canada 2011 polls); power from synthetic elections with one kind of injected
manipulation at a ladder of strengths, whose ground truth the generator knows. The result renders as a
markdown table between two markers in ``docs/forensics.md`` (``pollwatch forensics calibrate``).

References
----------
.. [1] Rozenas (2017) and Kobak et al. (2016) both argue that a forensic test is only as good as its
   null; this module measures the null's behaviour instead of assuming it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pollwatch.errors import DataError
from pollwatch.forensics.battery import TESTS, Skipped, run_battery
from pollwatch.forensics.loaders import load_dataset
from pollwatch.forensics.sources import from_synthetic
from pollwatch.synth import Manipulation, ManipulationKind, SynthConfig, generate

BEGIN = "<!-- calibration:begin -->"
END = "<!-- calibration:end -->"
DETECT = 0.8
"""A manipulation is noticed at the first rung where the test flags at least this share of elections."""

REAL_CLEAN = tuple(
    [f"austria-nrw-ooe-tirol:ooe-{y}" for y in (2002, 2006, 2008, 2013, 2017, 2019)]
    + [f"austria-nrw-ooe-tirol:tirol-{y}" for y in (1994, 1995, 1999, 2002, 2006, 2008, 2013, 2017, 2019)]
    + ["rozenas-spikes:canada2011"]
)


@dataclass(frozen=True)
class Rung:
    """One strength of one manipulation kind."""

    kind: ManipulationKind
    share: float
    strength: float

    @property
    def label(self) -> str:
        if self.kind in (ManipulationKind.COPIED_NUMBERS, ManipulationKind.ROUNDED_TURNOUT):
            return f"{100 * self.share:g} % of stations"
        return f"{100 * self.share:g} % of stations, strength {self.strength:g}"


LADDERS: dict[ManipulationKind, tuple[Rung, ...]] = {
    ManipulationKind.BALLOT_STUFFING: tuple(
        Rung(ManipulationKind.BALLOT_STUFFING, 0.1, s) for s in (0.1, 0.25, 0.5, 1.0)
    ),
    ManipulationKind.VOTE_MOVING: tuple(
        Rung(ManipulationKind.VOTE_MOVING, 0.1, s) for s in (0.1, 0.25, 0.5, 1.0)
    ),
    ManipulationKind.ROUNDED_TURNOUT: tuple(
        Rung(ManipulationKind.ROUNDED_TURNOUT, s, 0.0) for s in (0.01, 0.02, 0.05, 0.1)
    ),
    ManipulationKind.COPIED_NUMBERS: tuple(
        Rung(ManipulationKind.COPIED_NUMBERS, s, 0.0) for s in (0.002, 0.01, 0.05)
    ),
}


@dataclass(frozen=True)
class CalibrationSettings:
    elections: int = 20
    """Synthetic clean elections for the false-positive rate."""
    power_elections: int = 20
    """Synthetic elections per rung of each ladder."""
    stations: int = 5000
    constituencies: int = 50
    replicates: int = 200
    seed: int = 1000
    real_clean: tuple[str, ...] = REAL_CLEAN
    tests: tuple[str, ...] = field(default_factory=lambda: tuple(TESTS))


@dataclass(frozen=True)
class Calibration:
    """Flag counts: clean synthetic, clean real, and per kind and rung."""

    settings: CalibrationSettings
    clean_synthetic: dict[str, tuple[int, int]]
    clean_real: dict[str, tuple[int, int]]
    power: dict[str, dict[str, list[tuple[str, float, float, int, int]]]]
    """test -> kind -> [(rung label, share, strength, flagged, runs)]."""

    def false_positive_rate(self, test: str) -> float:
        k, n = self.clean_synthetic.get(test, (0, 0))
        return k / n if n else float("nan")

    def detects_at(self, test: str, kind: str) -> tuple[str, float, float] | None:
        """First rung (label, share, strength) where the test flags >= DETECT of the elections."""
        for label, share, strength, k, n in self.power.get(test, {}).get(kind, []):
            if n and k / n >= DETECT:
                return label, share, strength
        return None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Calibration:
        """Rebuild a calibration from :meth:`as_json` (to re-render the table without re-running it)."""
        raw = data["settings"]
        settings = CalibrationSettings(
            elections=int(raw["elections"]),
            power_elections=int(raw["power_elections"]),
            stations=int(raw["stations"]),
            constituencies=int(raw["constituencies"]),
            replicates=int(raw["replicates"]),
            seed=int(raw["seed"]),
            tests=tuple(raw["tests"]),
        )
        pairs = {
            k: {t: (int(v[0]), int(v[1])) for t, v in data[k].items()}
            for k in ("clean_synthetic", "clean_real")
        }
        power = {
            t: {k: [tuple(r) for r in rungs] for k, rungs in kinds.items()}
            for t, kinds in data["power"].items()
        }
        return cls(settings, pairs["clean_synthetic"], pairs["clean_real"], power)

    def as_json(self) -> dict[str, Any]:
        return {
            "clean_synthetic": self.clean_synthetic,
            "clean_real": self.clean_real,
            "power": self.power,
            "settings": {k: v for k, v in vars(self.settings).items() if k != "real_clean"},
        }


def _flags(results: Iterable[Any]) -> dict[str, bool | None]:
    return {r.test: (None if isinstance(r, Skipped) else bool(r.flagged)) for r in results}


def _synth(settings: CalibrationSettings, seed: int, rung: Rung | None) -> dict[str, bool | None]:
    manip = () if rung is None else (Manipulation(rung.kind, share=rung.share, strength=rung.strength),)
    config = SynthConfig(
        seed=seed, n_stations=settings.stations, n_constituencies=settings.constituencies, manipulations=manip
    )
    table = from_synthetic(generate(config))
    # The tests' own random streams must not be the generator's: same seed, same stream, and a
    # simulation-based fit (Klimek) would then reuse the very draws that made the data.
    return _flags(
        run_battery(table, replicates=settings.replicates, seed=battery_seed(seed), only=settings.tests)
    )


def battery_seed(seed: int) -> int:
    """Seed for the tests run on the synthetic election generated with ``seed``."""
    return (seed * 2_654_435_761 + 97) % 2**31


def _tally(runs: list[dict[str, bool | None]], tests: tuple[str, ...]) -> dict[str, tuple[int, int]]:
    return {
        t: (sum(1 for r in runs if r.get(t)), sum(1 for r in runs if r.get(t) is not None)) for t in tests
    }


def calibrate(
    settings: CalibrationSettings | None = None, *, progress: Callable[[str], None] | None = None
) -> Calibration:
    """Run the whole calibration (minutes: see docs/forensics.md for the settings used there)."""
    s = settings or CalibrationSettings()
    say = progress or (lambda _msg: None)
    clean = [_synth(s, s.seed + i, None) for i in range(s.elections)]
    say(f"clean synthetic: {s.elections} elections")
    real: list[dict[str, bool | None]] = []
    for spec in s.real_clean:
        try:
            real.append(
                _flags(run_battery(load_dataset(spec), replicates=s.replicates, seed=s.seed, only=s.tests))
            )
        except DataError as exc:
            say(f"skipped {spec}: {exc.message}")
    say(f"clean real: {len(real)} datasets")
    power: dict[str, dict[str, list[tuple[str, float, float, int, int]]]] = {t: {} for t in s.tests}
    for kind, ladder in LADDERS.items():
        for r_i, rung in enumerate(ladder):
            runs = [_synth(s, s.seed + 10_000 * (r_i + 1) + i, rung) for i in range(s.power_elections)]
            for test, (k, n) in _tally(runs, s.tests).items():
                power[test].setdefault(kind.value, []).append((rung.label, rung.share, rung.strength, k, n))
            say(f"{kind.value}: {rung.label}")
    return Calibration(s, _tally(clean, s.tests), _tally(real, s.tests), power)


def _cell(cal: Calibration, test: str, kind: ManipulationKind) -> str:
    hit = cal.detects_at(test, kind.value)
    if hit and test in poorly_calibrated(cal):
        return f"({hit[0]}: no claim, the test also flags clean elections)"
    if hit:
        return hit[0]
    top = LADDERS[kind][-1].label
    return f"not at {top}"


def _rate(pair: tuple[int, int]) -> str:
    k, n = pair
    return f"{k}/{n}" if n else "n/a"


def poorly_calibrated(cal: Calibration, *, limit: float = 0.1) -> tuple[str, ...]:
    """Tests flagging more than ``limit`` of clean synthetic elections or of clean real references."""
    out = []
    for test in cal.settings.tests:
        rates = [cal.clean_synthetic.get(test, (0, 0)), cal.clean_real.get(test, (0, 0))]
        if any(n and k / n > limit for k, n in rates):
            out.append(test)
    return tuple(out)


def render(cal: Calibration) -> str:
    """The markdown block written between the calibration markers."""
    s = cal.settings
    kinds = tuple(LADDERS)
    head = ["test", "flags clean synthetic", "flags clean real"] + [k.value.replace("_", " ") for k in kinds]
    lines = [
        BEGIN,
        f"_Generated by `pollwatch forensics calibrate` ({s.elections} clean synthetic elections and "
        f"{s.power_elections} per rung, {s.stations} stations, {s.constituencies} constituencies, "
        f"{s.replicates} Monte Carlo replicates, seed {s.seed}; clean real: {len(s.real_clean)} references, "
        f"Austria and Canada 2011). A manipulation counts as noticed at the first rung where the test flags "
        f">= {int(DETECT * 100)} % of the elections._",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for test in s.tests:
        cells = [f"`{test}`", _rate(cal.clean_synthetic[test]), _rate(cal.clean_real[test])]
        cells += [_cell(cal, test, k) for k in kinds]
        lines.append("| " + " | ".join(cells) + " |")
    bad = poorly_calibrated(cal)
    lines += [
        "",
        "Poorly calibrated (flag more than 10 % of clean elections): "
        + (", ".join(f"`{b}`" for b in bad) if bad else "none")
        + ". Altered totals and withheld stations change the official statement, not the station sheets: "
        "no station-level forensic test can see them (the audit compares the two).",
        "",
        "<!-- calibration-data " + json.dumps(cal.as_json(), sort_keys=True) + " -->",
        END,
    ]
    return "\n".join(lines)


def write(cal: Calibration, path: Path) -> None:
    """Replace the marked block in ``path`` (append it when the markers are absent)."""
    block = render(cal)
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if BEGIN in text and END in text:
        text = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _m: block, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")


def read(path: Path) -> dict[str, Any]:
    """The calibration data stored in the marked block of ``path``."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    m = re.search(r"<!-- calibration-data (.*?) -->", text, flags=re.S)
    if not m:
        raise DataError(
            f"{path} has no calibration block", remedy="run pollwatch forensics calibrate --out " + str(path)
        )
    data: dict[str, Any] = json.loads(m.group(1))
    return data


PACKAGED = Path(__file__).with_name("calibration.json")
"""The calibration shipped with pollwatch (written by ``pollwatch forensics calibrate --json``)."""


def write_json(cal: Calibration, path: Path = PACKAGED) -> None:
    path.write_text(json.dumps(cal.as_json(), sort_keys=True, indent=1) + "\n", encoding="utf-8")


def note(test: str, *, data: dict[str, Any] | None = None) -> str:
    """One line saying how the test behaved in calibration, for every place its result is shown."""
    if data is None:
        if not PACKAGED.exists():
            return "not calibrated yet (run pollwatch forensics calibrate)"
        data = json.loads(PACKAGED.read_text(encoding="utf-8"))
    syn = data.get("clean_synthetic", {}).get(test)
    real = data.get("clean_real", {}).get(test)
    if not syn:
        return "not calibrated yet (run pollwatch forensics calibrate)"
    parts = [f"flagged {syn[0]}/{syn[1]} clean synthetic elections"]
    if real and real[1]:
        parts.append(f"{real[0]}/{real[1]} clean real references")
    bad = any(pair and pair[1] and pair[0] / pair[1] > 0.1 for pair in (syn, real))
    text = "calibration: " + ", ".join(parts)
    return ("POORLY CALIBRATED: " + text + "; do not read a flag as evidence") if bad else text
