"""StationTables from a synthetic election and from the same election written to the store."""

from __future__ import annotations

import numpy as np

from pollwatch.forensics import from_store, from_synthetic
from pollwatch.storage import Database
from pollwatch.synth import SynthConfig, generate, store


def test_from_synthetic_keeps_the_sheets() -> None:
    e = generate(SynthConfig(seed=2, n_stations=400, n_constituencies=4))
    t = from_synthetic(e)
    assert t.n == 400
    assert t.given is not None
    np.testing.assert_array_equal(t.votes, e.votes)
    np.testing.assert_array_equal(t.given, e.polled)
    assert t.leader == e.truth.favoured


def test_from_store_matches_the_generator(db: Database) -> None:
    e = generate(SynthConfig(seed=3, n_stations=120, n_constituencies=3, n_candidates=3))
    store(db, e, slug="synth-fx")
    t = from_store(db, "synth-fx")
    assert t.n == 120
    # Parties are columns in the store table; their totals equal the generator's station sums.
    assert int(t.valid.sum()) == int(e.votes.sum())
    assert int(t.registered.sum()) == int(e.registered.sum())  # type: ignore[union-attr]
