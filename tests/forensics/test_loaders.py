"""Loaders against the row counts and totals documented in each dataset's README and FORENSICS.md."""

from __future__ import annotations

import pytest

from pollwatch.errors import NotFoundError
from pollwatch.forensics import load_dataset
from tests.forensics.conftest import dataset, reference

KOBAK = reference("kobak.json")
DIGITS = reference("digits.json")


@pytest.mark.parametrize("year", ["2011", "2012", "2024"])
def test_russia_totals_match_k3(year: str) -> None:
    t = dataset(f"russia-kobak:{year}")
    want = KOBAK["k3"][year]
    assert t.registered is not None
    assert t.given is not None
    assert (t.n, int(t.registered.sum())) == (want["stations"], want["voters"])
    assert round(100 * t.given.sum() / t.registered.sum(), 2) == want["turnout_pct"]
    assert round(100 * t.leader_votes.sum() / t.received.sum(), 2) == want["leader_pct"]


def test_uganda_2011_totals_match_readme() -> None:
    t = dataset("uganda-uedp:2011")
    assert t.n == 23968 - 141  # README: NON_REP = 1 for 141 stations
    assert "MUSEVENI" in t.leader_name


def test_venezuela_totals_match_v1() -> None:
    t = dataset("venezuela-2024-actas:v1")
    v1 = DIGITS["v1_venezuela"]
    assert (t.n, int(t.valid.sum())) == (v1["actas"], v1["valid"])
    assert int(t.votes[:, 0].sum()) == v1["gonzalez"]
    assert int(t.votes[:, 1].sum()) == v1["maduro"]
    assert t.registered is None


def test_austria_ooe_2008_keeps_444_municipalities() -> None:
    assert dataset("austria-nrw-ooe-tirol:ooe-2008").n == DIGITS["c3_austria_ooe_2008"]["units"]


def test_rozenas_sums_match_readme() -> None:
    t = dataset("rozenas-spikes:canada2011")
    assert t.registered is not None
    assert t.given is not None
    assert (t.n, int(t.registered.sum()), int(t.given.sum()), int(t.leader_votes.sum())) == (
        66111,
        24100094,
        12328979,
        4871244,
    )


def test_albania_and_dc_row_counts() -> None:
    assert dataset("albania-2013-eftoolkit").n == 5508
    assert dataset("dc2010-eforensics").n == 143


def test_unknown_dataset_names_the_choices() -> None:
    with pytest.raises(NotFoundError, match="unknown dataset"):
        load_dataset("narnia-2020")


def test_unknown_russian_year_is_not_found() -> None:
    with pytest.raises(NotFoundError, match="no Russian election 1999"):
        load_dataset("russia-kobak:1999")


def test_uganda_2011_high_turnout_count_matches_c1() -> None:
    t = dataset("uganda-uedp:2011")
    assert t.given is not None
    assert t.registered is not None
    assert (
        int((100 * t.given / t.registered >= 95).sum()) == DIGITS["c1_uganda_2011_museveni"]["turnout_ge_95"]
    )
