"""Arithmetic checks: each named failure, with values computed by hand in the comments."""

from __future__ import annotations

from collections.abc import Mapping

from pollwatch.intake.checks import Capacity, booth_capacity, check_sheet, default_form
from pollwatch.model import SheetKind


def _names(votes: dict[int, int], totals: Mapping[str, int | None], **kw: object) -> list[str]:
    defaults: dict[str, object] = {"registered": 1000, "booths": 2, "capacity": Capacity(1.0, 10.0)}
    defaults.update(kw)
    return [f.name for f in check_sheet(votes, totals, **defaults)]  # type: ignore[arg-type]


def test_consistent_sheet_passes_every_check() -> None:
    # 300 + 200 = 500 valid; 500 + 5 = 505 polled; 300 + 205 = 505 by sex; 505 <= 1000 and <= 1200
    totals = {"valid": 500, "rejected": 5, "polled": 505, "votes_male": 300, "votes_female": 205}
    assert _names({1: 300, 2: 200}, totals, ballot=frozenset({1, 2})) == []


def test_each_check_is_named() -> None:
    assert _names({1: 300, 2: 200}, {"valid": 501}) == ["candidate_votes_ne_valid"]
    assert _names({1: 300, 2: 200}, {"valid": 500, "rejected": 5, "polled": 506}) == [
        "valid_plus_rejected_ne_polled"
    ]
    assert _names({1: 900, 2: 200}, {}) == ["polled_gt_registered"]  # 1,100 counted > 1,000
    assert _names({1: 1}, {"polled": 10, "votes_male": 4, "votes_female": 5}) == [
        "male_plus_female_ne_polled"
    ]
    # 1 booth x 10 h x 60 / 1 = 600 ballots; 700 counted
    assert _names({1: 700}, {}, booths=1, registered=None) == ["polled_gt_booth_capacity"]
    assert _names({1: 5}, {}, ballot=frozenset({1, 2, 3})) == ["candidates_missing"]


def test_registered_printed_on_sheet_is_used_when_station_has_none() -> None:
    assert _names({1: 60}, {"registered": 50}, registered=None, booths=None) == ["polled_gt_registered"]


def test_rule_pack_gives_forms_and_capacity() -> None:
    assert default_form("pakistan", SheetKind.PROVISIONAL) == "Form-47"
    assert default_form("generic", SheetKind.FINAL) == "final"
    capacity = booth_capacity("pakistan")
    assert capacity is not None
    assert capacity.ballots(3) == 1800  # 3 booths x 10 h x 60 min / 1 min per voter
    assert booth_capacity("no-such-pack") is None
