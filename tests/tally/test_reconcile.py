"""Reconciliation of copies: every state, the best-figure rule step by step, nothing replaced silently."""

import datetime as dt
import random

from hypothesis import given
from hypothesis import strategies as st

from pollwatch.model import (
    CandidateKey,
    Channel,
    ConstituencyCode,
    Provenance,
    ResultSheet,
    Role,
    SheetKind,
    Station,
    StationNumber,
    Totals,
)
from pollwatch.tally.reconcile import CopyState, StationReconciliation, reconcile, reconcile_station

T0 = dt.datetime(2024, 2, 8, 18, 0, tzinfo=dt.UTC)


def _copy(a: int, b: int, *, org: str, role: Role = Role.AGENT, minutes: int = 0) -> ResultSheet:
    return ResultSheet(
        kind=SheetKind.STATION_COUNT,
        form="Form-45",
        constituency=ConstituencyCode("NA-46"),
        votes={CandidateKey(1): a, CandidateKey(2): b},
        totals=Totals(valid=a + b),
        provenance=Provenance(
            source="test",
            channel=Channel.API,
            role=role,
            organisation=org,
            received_at=T0 + dt.timedelta(minutes=minutes),
        ),
        station=StationNumber("7"),
        station_serial=7,
    )


def _rec(*copies: ResultSheet) -> StationReconciliation:
    return reconcile_station(list(copies), constituency="NA-46", serial=7, number="7")


def test_states_single_agreed_official_only_missing() -> None:
    assert _rec(_copy(10, 5, org="PTI")).state is CopyState.SINGLE_SOURCE
    assert _rec(_copy(10, 5, org="PTI"), _copy(10, 5, org="PTI", minutes=3)).state is CopyState.SINGLE_SOURCE
    assert _rec(_copy(10, 5, org="PTI"), _copy(10, 5, org="PML-N")).state is CopyState.AGREED
    assert _rec(_copy(10, 5, org="ECP", role=Role.OFFICIAL)).state is CopyState.OFFICIAL_ONLY
    missing = _rec()
    assert missing.state is CopyState.MISSING
    assert missing.best is None


def test_conflict_shows_fields_side_by_side_and_majority_wins() -> None:
    r = _rec(_copy(10, 5, org="PTI"), _copy(10, 5, org="FAFEN", role=Role.OBSERVER), _copy(4, 5, org="PML-N"))
    assert r.state is CopyState.CONFLICT
    assert r.best is not None
    assert dict(r.best.sheet.votes) == {1: 10, 2: 5}
    assert r.reason == "most independent attesters (2)"
    (field,) = [c for c in r.conflicts if c.field == "votes[1]"]
    assert dict(field.values) == {10: ("agent:PTI", "observer:FAFEN"), 4: ("agent:PML-N",)}
    assert {c.field for c in r.conflicts} == {"votes[1]", "valid"}


def test_tie_goes_to_the_version_an_official_copy_matches() -> None:
    r = _rec(
        _copy(10, 5, org="PTI"),
        _copy(4, 5, org="PML-N", minutes=-5),
        _copy(10, 5, org="ECP", role=Role.OFFICIAL),
    )
    assert r.best is not None
    assert dict(r.best.sheet.votes) == {1: 10, 2: 5}
    assert "official copy matches" in r.reason


def test_tie_without_official_goes_to_the_earliest() -> None:
    r = _rec(_copy(10, 5, org="PTI", minutes=10), _copy(4, 5, org="PML-N", minutes=1))
    assert r.best is not None
    assert dict(r.best.sheet.votes) == {1: 4, 2: 5}
    assert r.reason == "tie at 1 attesters; the earliest received"


def test_a_later_copy_never_silently_replaces_an_earlier_one() -> None:
    # The same agent re-sends other figures: both versions stay, the station is in conflict.
    r = _rec(_copy(10, 5, org="PTI"), _copy(12, 5, org="PTI", minutes=30))
    assert r.state is CopyState.CONFLICT
    assert len(r.versions) == 2
    assert r.best is not None
    assert dict(r.best.sheet.votes) == {1: 10, 2: 5}


def test_official_re_upload_that_differs_is_a_conflict() -> None:
    r = _rec(
        _copy(10, 5, org="ECP", role=Role.OFFICIAL), _copy(10, 9, org="ECP", role=Role.OFFICIAL, minutes=60)
    )
    assert r.state is CopyState.CONFLICT
    assert r.best is not None
    assert dict(r.best.sheet.votes) == {1: 10, 2: 5}
    assert r.reason.startswith("only official copies")


def test_reconcile_lists_stations_without_copies_as_missing() -> None:
    stations = [
        Station(ConstituencyCode("NA-46"), 7, StationNumber("7")),
        Station(ConstituencyCode("NA-46"), 8, StationNumber("8")),
    ]
    out = {r.serial: r.state for r in reconcile([_copy(1, 2, org="PTI")], stations)}
    assert out == {7: CopyState.SINGLE_SOURCE, 8: CopyState.MISSING}


@given(
    st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 2), st.sampled_from(["PTI", "PPP", "FAFEN", "ECP"])),
        min_size=1,
        max_size=8,
    ),
    st.randoms(use_true_random=False),
)
def test_reconciliation_does_not_depend_on_the_order_copies_are_handed_over(
    copies: list[tuple[int, int, str]], rnd: random.Random
) -> None:
    # Each copy has its own receipt time; the order in which they are handed over must not matter.
    sheets = [
        _copy(a, b, org=org, role=Role.OFFICIAL if org == "ECP" else Role.AGENT, minutes=i)
        for i, (a, b, org) in enumerate(copies)
    ]
    shuffled = sheets[:]
    rnd.shuffle(shuffled)
    one, two = _rec(*sheets), _rec(*shuffled)
    assert (one.state, one.reason) == (two.state, two.reason)
    assert one.best is not None
    assert two.best is not None
    assert dict(one.best.sheet.votes) == dict(two.best.sheet.votes)
    assert sum(v.copies for v in one.versions) == len(sheets)  # every copy kept
    assert one.best.sheet in sheets
