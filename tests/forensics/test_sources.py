"""StationTables from a synthetic election and from the same election written to the store."""

from __future__ import annotations

import numpy as np

from pollwatch.forensics import from_store, from_synthetic
from pollwatch.storage import Database
from pollwatch.synth import SynthConfig, generate, store
from pollwatch.tally.projector import Projector


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
    Projector(db).catch_up()  # the store's tables come from the results projections
    t = from_store(db, "synth-fx")
    assert t.n == 120
    # Parties are columns in the store table; their totals equal the generator's station sums.
    assert int(t.valid.sum()) == int(e.votes.sum())
    assert int(t.registered.sum()) == int(e.registered.sum())  # type: ignore[union-attr]


def test_from_store_names_stations_and_knows_where_parties_stand(db: Database) -> None:
    e = generate(SynthConfig(seed=4, n_stations=90, n_constituencies=3, n_candidates=3))
    store(db, e, slug="synth-names")
    Projector(db).catch_up()
    t = from_store(db, "synth-names")
    assert t.stands is not None
    assert len(t.codes) == t.n
    assert len(set(t.codes)) == t.n  # one code per station
    con, _, serial = t.codes[0].partition("/")
    assert con in e.constituency_codes
    assert serial.isdigit()
    # Each station links to its own dashboard page, which answers.
    assert t.links[0] == f"/elections/synth-names/c/{con}/stations/{serial}"
    # A party stands at a station exactly when its constituency has a candidate of that party.
    for row, code in enumerate(t.codes):
        c = e.constituency_codes.index(code.partition("/")[0])
        parties = {p or "IND" for p in e.candidate_parties[c]}
        assert {t.candidates[j] for j in np.flatnonzero(t.stands[row])} == parties & set(t.candidates)
