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
from pollwatch.synth.sources import contests_from_store
from pollwatch.synth.store import StoredSynth, store, truth_file
from pollwatch.synth.timeline import Arrivals, night
from pollwatch.synth.universe import Contest, RealStation, from_universe

__all__ = [
    "Arrivals",
    "Contest",
    "GroundTruth",
    "Manipulation",
    "ManipulationKind",
    "RealStation",
    "StoredSynth",
    "SynthConfig",
    "SyntheticElection",
    "contests_from_store",
    "from_universe",
    "generate",
    "night",
    "store",
    "truth_file",
]
