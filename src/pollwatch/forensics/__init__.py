"""Election forensics: a calibrated battery of statistical tests on station-level results.

Every test lives in its own module and returns a frozen result with the statistic, the null it was
compared with, whether it flags the data, its caveats and its references. Loaders turn the real
datasets, pollwatch's store and synthetic elections into one :class:`StationTable`.

>>> from pollwatch.synth import SynthConfig, generate
>>> from pollwatch.forensics import from_synthetic, integer_percentages
>>> table = from_synthetic(generate(SynthConfig(seed=1, n_stations=2000, n_constituencies=10)))
>>> result = integer_percentages(table, replicates=200)
>>> result.included > 1500, result.flagged
(True, False)
"""

from pollwatch.forensics.battery import DESCRIPTIONS, TESTS, Skipped, run_battery, run_test
from pollwatch.forensics.checks import (
    copied_numbers,
    cross_race,
    round_heaping,
    turnout_over_100,
)
from pollwatch.forensics.digits import DigitKind, digit_kinds, digits
from pollwatch.forensics.eforensics import eforensics
from pollwatch.forensics.fingerprint import fingerprint
from pollwatch.forensics.integer import NullMode, Weighting, integer_percentages
from pollwatch.forensics.klimek import klimek
from pollwatch.forensics.loaders import DATASETS, load_dataset
from pollwatch.forensics.regressions import regressions
from pollwatch.forensics.result import ForensicResult
from pollwatch.forensics.sources import from_store, from_synthetic
from pollwatch.forensics.spikes import spikes
from pollwatch.forensics.table import StationTable

__all__ = [
    "DATASETS",
    "DESCRIPTIONS",
    "TESTS",
    "DigitKind",
    "ForensicResult",
    "NullMode",
    "Skipped",
    "StationTable",
    "Weighting",
    "from_store",
    "from_synthetic",
    "load_dataset",
    "run_battery",
    "run_test",
    "copied_numbers",
    "cross_race",
    "digit_kinds",
    "digits",
    "eforensics",
    "fingerprint",
    "integer_percentages",
    "klimek",
    "regressions",
    "round_heaping",
    "spikes",
    "turnout_over_100",
]
