"""Synthetic elections with injected manipulation and a known ground truth.

Demos, load tests, the audit's recall tests and the forensics' calibration all use this generator.

>>> from pollwatch.synth import Manipulation, ManipulationKind, SynthConfig, generate
>>> e = generate(SynthConfig(seed=1, n_stations=500, n_constituencies=5,
...              manipulations=(Manipulation(ManipulationKind.WITHHELD, share=0.1),)))
>>> int(e.truth.withheld.sum())
50
>>> bool((e.official.sum() < e.votes.sum()))
True
"""

from pollwatch.synth.config import Manipulation, ManipulationKind, SynthConfig
from pollwatch.synth.election import GroundTruth, SyntheticElection
from pollwatch.synth.generate import generate
from pollwatch.synth.replay import DEFAULT_SPEED, LoadSummary, Replay, first_unwritten, load_night
from pollwatch.synth.sources import contests_from_store
from pollwatch.synth.store import StoredSynth, create_structure, prepare_night, store, truth_file
from pollwatch.synth.submissions import Night
from pollwatch.synth.timeline import Arrivals, night
from pollwatch.synth.universe import Contest, RealStation, from_universe

__all__ = [
    "DEFAULT_SPEED",
    "Arrivals",
    "Contest",
    "GroundTruth",
    "LoadSummary",
    "Manipulation",
    "ManipulationKind",
    "Night",
    "RealStation",
    "Replay",
    "StoredSynth",
    "SynthConfig",
    "SyntheticElection",
    "contests_from_store",
    "create_structure",
    "first_unwritten",
    "from_universe",
    "generate",
    "load_night",
    "night",
    "prepare_night",
    "store",
    "truth_file",
]
