"""Deterministic checks on hand-built tables whose answers are known by construction."""

from __future__ import annotations

import numpy as np
import pytest

from pollwatch.errors import InputError
from pollwatch.forensics import StationTable, copied_numbers, cross_race, round_heaping, turnout_over_100
from tests.forensics.conftest import tiny_table


def test_copied_numbers_finds_the_twins() -> None:
    rows = [[120, 80, 30], [121, 80, 30], [120, 80, 30], [5, 3, 1], [5, 3, 1], [300, 10, 7]]
    r = copied_numbers(tiny_table(rows))
    assert r.groups == ((0, 2),)  # the tiny twins (3, 4) are below min_valid
    # Among 4 eligible units one coincidence is not evidence: shuffles reproduce it.
    assert not r.flagged


def test_copied_numbers_flags_copies_beyond_coincidence() -> None:
    rng = np.random.default_rng(1)
    votes = rng.integers(20, 400, size=(600, 4))
    votes[100:105] = votes[7]  # five copies of one sheet
    r = copied_numbers(tiny_table(votes.tolist()))
    assert r.groups == ((7, 100, 101, 102, 103, 104),)
    assert r.flagged
    assert r.p_value == pytest.approx(0.05)


def test_copied_numbers_clean_synthetic(clean_table: StationTable) -> None:
    assert not copied_numbers(clean_table).flagged


def test_turnout_over_100_lists_units() -> None:
    r = turnout_over_100(tiny_table([[50, 40], [60, 50], [10, 10]], registered=[100, 100, 15]))
    assert r.flagged_units == (1, 2)


def test_flagged_units_are_named_by_code_with_their_figures() -> None:
    base = tiny_table([[50, 40], [60, 50], [10, 10]], registered=[100, 100, 15])
    table = StationTable(
        name="named",
        candidates=base.candidates,
        votes=base.votes,
        valid=base.valid,
        invalid=base.invalid,
        registered=base.registered,
        given=base.given,
        codes=("NA-1/1", "NA-1/2", "NA-2/7"),
        links=("/s/1", "/s/2", "/s/7"),
    )
    out = turnout_over_100(table).summary()["first_flagged_units"]
    assert [u["unit"] for u in out] == ["NA-1/2", "NA-2/7"]
    assert out[1] == {
        "unit": "NA-2/7",
        "registered": 15,
        "ballots": 20,
        "valid": 20,
        "leader_votes": 10,
        "share": 0.5,
        "turnout": 1.3333,
        "link": "/s/7",
    }


def test_copied_groups_are_named_by_code(clean_table: StationTable) -> None:
    votes = clean_table.votes.copy()
    votes[100:105] = votes[7]
    table = StationTable(
        name="copies",
        candidates=clean_table.candidates,
        votes=votes,
        valid=votes.sum(axis=1),
        invalid=np.zeros(clean_table.n, dtype=np.int64),
        registered=clean_table.registered,
        codes=clean_table.codes,
    )
    summary = copied_numbers(table).summary()
    group = [clean_table.codes[i] for i in (7, 100, 101, 102, 103, 104)]
    assert group in summary["copied_groups"]
    assert {u["unit"] for u in summary["first_flagged_units"]} >= set(group)


def test_round_heaping_flags_fives() -> None:
    rng = np.random.default_rng(0)
    lead = 5 * rng.integers(30, 200, 500)
    r = round_heaping(tiny_table(np.column_stack([lead, rng.integers(50, 90, 500)]).tolist()))
    assert r.flagged
    assert r.statistic == pytest.approx(1.0)


def test_round_heaping_clean(clean_table: StationTable) -> None:
    r = round_heaping(clean_table)
    assert not r.flagged
    assert r.statistic == pytest.approx(0.2, abs=0.02)


def test_cross_race_reports_mismatched_ballots() -> None:
    na = tiny_table([[100, 50], [80, 20], [70, 70]], registered=[300, 300, 300])
    pa = tiny_table([[90, 60], [80, 25], [70, 70]], registered=[300, 300, 300])
    r = cross_race(na, pa)
    assert r.flagged_units == (1,)
    assert r.statistic == 5


def test_cross_race_needs_the_same_stations() -> None:
    with pytest.raises(InputError, match="same stations"):
        cross_race(tiny_table([[1, 2]]), tiny_table([[1, 2], [3, 4]]))


def test_html_report_links_flagged_units_to_their_pages() -> None:
    from pollwatch.forensics import run_battery
    from pollwatch.reports import render_report

    base = tiny_table([[50, 40], [60, 50], [10, 10]], registered=[100, 100, 15])
    table = StationTable(
        name="linked",
        candidates=base.candidates,
        votes=base.votes,
        valid=base.valid,
        invalid=base.invalid,
        registered=base.registered,
        given=base.given,
        codes=("NA-1/1", "NA-1/2", "NA-2/7"),
        links=("/s/1", "/s/2", "/s/7"),
    )
    html = render_report(table, run_battery(table, replicates=20, only=("turnout-over-100",)))
    assert '<a href="/s/7">NA-2/7</a>' in html
    assert "/s/1" not in html
