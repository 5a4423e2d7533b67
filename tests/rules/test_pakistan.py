"""Pakistan's rule pack: every threshold checked on both sides of its boundary."""

import datetime as dt

import pytest

from pollwatch.errors import NotFoundError
from pollwatch.model import CandidateKey
from pollwatch.rules import Contest, StationFigures, get_rule_pack, list_rule_packs
from pollwatch.rules.pakistan import PKT, PakistanRules


def _contest(
    a: int,
    b: int,
    *,
    polled: int,
    rejected: int = 0,
    female: int | None = None,
    assembly: str = "NA",
    at: dt.datetime | None = None,
) -> Contest:
    return Contest(
        constituency="NA-1",
        assembly=assembly,
        votes={CandidateKey(1): a, CandidateKey(2): b},
        polled=polled,
        rejected=rejected,
        votes_female=female,
        reported_at=at,
    )


def test_recount_eligible_when_margin_under_five_percent_of_polled() -> None:
    # 5 % of 100,000 = 5,000 < cap 10,000: threshold 5,000.
    pack = PakistanRules()
    assert pack.recount(_contest(52_499, 47_501, polled=100_000)).eligible  # margin 4,998
    assert not pack.recount(_contest(52_500, 47_500, polled=100_000)).eligible  # margin 5,000


def test_recount_cap_applies_when_lesser() -> None:
    # 5 % of 300,000 = 15,000 > cap 10,000: threshold 10,000 (EA s.95(5), "whichever is lesser").
    pack = PakistanRules()
    assert pack.recount(_contest(150_000, 140_001, polled=300_000)).eligible  # margin 9,999
    assert not pack.recount(_contest(150_000, 140_000, polled=300_000)).eligible  # margin 10,000
    strict = PakistanRules(recount_cap_votes={"NA": 8_000, "PA": 4_000})
    assert not strict.recount(_contest(150_000, 140_001, polled=300_000)).eligible
    assert strict.recount(_contest(60_000, 56_001, polled=120_000, assembly="PP")).threshold == 4_000


def test_rejected_above_margin_is_flagged() -> None:
    # NA-21 (2018): margin 33 with 5,790 rejected (Dawn 1423768).
    kinds = [
        f.kind
        for f in PakistanRules().check_contest(_contest(50_033, 50_000, polled=105_823, rejected=5_790))
    ]
    assert "rejected_exceed_margin" in kinds
    kinds = [
        f.kind
        for f in PakistanRules().check_contest(_contest(60_000, 40_000, polled=101_000, rejected=1_000))
    ]
    assert "rejected_exceed_margin" not in kinds


@pytest.mark.parametrize(
    ("female", "polled", "flagged"),
    [
        (12_663, 128_302, True),  # NA-10 Shangla 2018, 9.87 % (Dawn 1423631)
        (6_364, 63_954, True),  # NA-48 North Waziristan 2018, 9.95 %
        (10_000, 100_000, False),  # exactly 10 %: not under the threshold
    ],
)
def test_women_share_rule(female: int, polled: int, flagged: bool) -> None:
    found = PakistanRules().check_contest(_contest(polled // 2, polled // 4, polled=polled, female=female))
    assert ("women_share_below_minimum" in [f.kind for f in found]) is flagged


def test_result_after_two_am_is_late() -> None:
    day = dt.date(2024, 2, 8)
    on_time = dt.datetime(2024, 2, 9, 2, 0, tzinfo=PKT)
    late = dt.datetime(2024, 2, 8, 21, 1, tzinfo=dt.UTC)  # 02:01 PKT on 9 Feb
    pack = PakistanRules()
    assert "result_late" not in [
        f.kind for f in pack.check_contest(_contest(10, 5, polled=15, at=on_time), election_date=day)
    ]
    found = pack.check_contest(_contest(10, 5, polled=15, at=late), election_date=day)
    assert [f.rule for f in found if f.kind == "result_late"] == ["EA 2017 s.13(3), ER r.84(4)"]


def test_turnout_over_registered_is_an_error() -> None:
    c = Contest(
        constituency="NA-2",
        assembly="NA",
        votes={CandidateKey(1): 200, CandidateKey(2): 29},
        polled=229,
        registered=228,
    )
    found = [f for f in PakistanRules().check_contest(c) if f.kind == "turnout_over_100"]
    assert found
    assert found[0].severity.value == "error"


def test_station_over_booth_capacity() -> None:
    # One booth, 10 polling hours at one minute per voter: 600 ballots at most.
    pack = PakistanRules()
    at_cap = StationFigures("NA-1", 1, "1", registered=5_000, booths=1, polled=600)
    over = StationFigures("NA-1", 1, "1", registered=5_000, booths=1, polled=601)
    assert pack.check_station(at_cap) == []
    assert [f.kind for f in pack.check_station(over)] == ["station_over_booth_capacity"]
    stuffed = StationFigures("NA-1", 2, "2", registered=229, booths=3, polled=4_695)
    assert "station_turnout_over_100" in [f.kind for f in pack.check_station(stuffed)]


def test_houses_and_regions() -> None:
    pack = PakistanRules()
    na = pack.house("NA", year=2024)
    assert na is not None
    assert (na.general, na.total, na.majority) == (266, 336, 169)
    pp = pack.house("PP", year=2024)
    assert pp is not None
    assert pp.total == 371
    assert pack.region_key("Khyber Paktunkhwa") == pack.region_key("KPK") == "Khyber Pakhtunkhwa"
    assert [pack.constituency_region(f"NA-{n}", year=2024) for n in (45, 46, 189, 190, 266)] == [
        "Khyber Pakhtunkhwa",
        "Islamabad Capital Territory",
        "Punjab",
        "Sindh",
        "Balochistan",
    ]


def test_registry_names_its_packs() -> None:
    assert {"generic", "pakistan"} <= set(list_rule_packs())
    assert get_rule_pack("generic").recount(_contest(2, 1, polled=3)).eligible is False
    with pytest.raises(NotFoundError, match="no rule pack 'atlantis'"):
        get_rule_pack("atlantis")


def test_station_without_women_votes_is_flagged() -> None:
    pack = PakistanRules()
    barred = StationFigures(
        "PK-81", 3, "3", registered=900, booths=2, polled=400, votes_female=0, registered_female=420
    )
    voted = StationFigures(
        "PK-81", 4, "4", registered=900, booths=2, polled=400, votes_female=12, registered_female=420
    )
    male_only = StationFigures(
        "PK-81", 5, "5", registered=900, booths=2, polled=400, votes_female=0, registered_female=0
    )
    assert [f.kind for f in pack.check_station(barred)] == ["station_no_women_votes"]
    assert pack.check_station(voted) == []
    assert pack.check_station(male_only) == []
