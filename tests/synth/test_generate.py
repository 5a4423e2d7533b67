import numpy as np
import pytest

from pollwatch.errors import InputError
from pollwatch.synth import Manipulation, ManipulationKind, SynthConfig, SyntheticElection, generate

K = ManipulationKind


def _election(*manipulations: Manipulation, seed: int = 5) -> SyntheticElection:
    return generate(
        SynthConfig(
            seed=seed, n_stations=4_000, n_constituencies=20, n_candidates=5, manipulations=manipulations
        )
    )


def test_generate_same_seed_gives_same_election() -> None:
    a, b = (
        _election(Manipulation(K.BALLOT_STUFFING, 0.1, 0.5)),
        _election(Manipulation(K.BALLOT_STUFFING, 0.1, 0.5)),
    )
    assert np.array_equal(a.votes, b.votes)
    assert np.array_equal(a.truth.stuffed, b.truth.stuffed)
    assert not np.array_equal(a.votes, _election(seed=6).votes)


def test_generate_clean_election_is_consistent() -> None:
    e = _election()
    assert (e.votes >= 0).all()
    assert (e.polled <= e.registered).all()
    assert np.array_equal(e.votes, e.clean_votes)
    assert np.array_equal(e.official, e.station_sums())
    turnout = e.polled.sum() / e.registered.sum()
    assert 0.4 < turnout < 0.65
    for name in ("stuffed", "moved", "copied", "rounded", "withheld", "altered"):
        assert not getattr(e.truth, name).any()


def test_ballot_stuffing_adds_votes_for_the_favoured_only_where_marked() -> None:
    e = _election(Manipulation(K.BALLOT_STUFFING, 0.1, 0.8))
    f = e.truth.favoured
    gained = e.votes[:, f] - e.clean_votes[:, f]
    assert e.truth.stuffed.sum() == 400
    assert (gained[~e.truth.stuffed] == 0).all()
    assert gained[e.truth.stuffed].mean() > 50
    others = np.delete(np.arange(e.votes.shape[1]), f)
    assert np.array_equal(e.votes[:, others], e.clean_votes[:, others])


def test_vote_moving_keeps_ballots_but_changes_shares() -> None:
    e = _election(Manipulation(K.VOTE_MOVING, 0.2, 0.5))
    assert np.array_equal(e.votes.sum(axis=1), e.clean_votes.sum(axis=1))
    changed = (e.votes != e.clean_votes).any(axis=1)
    assert not changed[~e.truth.moved].any()
    assert changed[e.truth.moved].mean() > 0.95


def test_copied_numbers_repeat_another_station_of_the_same_constituency() -> None:
    e = _election(Manipulation(K.COPIED_NUMBERS, 0.05))
    for s in np.flatnonzero(e.truth.copied)[:50]:
        same = np.flatnonzero((e.votes == e.votes[s]).all(axis=1) & (e.constituency == e.constituency[s]))
        assert len(same) >= 2


def test_rounded_turnout_lands_on_whole_percentages() -> None:
    e = _election(Manipulation(K.ROUNDED_TURNOUT, 0.1, 0.0))
    pct = 100.0 * e.polled / e.registered
    marked = e.truth.rounded
    # Rounding the target to a whole ballot leaves at most 0.5 ballot, i.e. 50/registered points.
    assert (np.abs(pct[marked] - np.round(pct[marked])) <= 50.0 / e.registered[marked] + 1e-9).all()
    assert (np.abs(pct[~marked] - np.round(pct[~marked])) > 0.05).mean() > 0.8


def test_withheld_and_altered_totals_change_only_the_official_statement() -> None:
    e = _election(Manipulation(K.WITHHELD, 0.05), Manipulation(K.ALTERED_TOTALS, 0.25, 0.5))
    expected = e.station_sums(include_withheld=False) + e.truth.official_shift
    assert np.array_equal(e.official, expected)
    differs = (e.official != e.station_sums(include_withheld=False)).any(axis=1)
    assert np.array_equal(differs, e.truth.altered)
    assert e.truth.altered.sum() == 5
    assert e.truth.withheld.sum() == 200
    assert np.array_equal(e.votes, e.clean_votes)


@pytest.mark.parametrize(
    ("field", "value"), [("n_candidates", 1), ("mean_turnout", 1.5), ("n_constituencies", 0)]
)
def test_config_out_of_range_is_refused(field: str, value: float) -> None:
    with pytest.raises(InputError, match=field):
        SynthConfig(**{field: value})  # type: ignore[arg-type]


def test_manipulation_share_out_of_range_is_refused() -> None:
    with pytest.raises(InputError, match="share"):
        Manipulation(K.WITHHELD, 1.5)
