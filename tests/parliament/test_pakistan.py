"""National Assembly composition on the real 2018 and 2024 results, against counts made here from the
raw CSV files with the csv module only."""

import csv
from collections import Counter, defaultdict
from fractions import Fraction
from pathlib import Path

from pollwatch.parliament.reserved import VACANT
from pollwatch.parliament.seats import Joins
from pollwatch.parliament.service import parliament_report
from pollwatch.tally.inputs import ResultsInput
from tests.conftest import require_shared_data


def test_2018_na_general_seats_match_the_raw_file(pk2018: ResultsInput) -> None:
    path = require_shared_data("pakistan-2018-constituency", "ecp_2018_candidates_final_20180904.csv")
    best: dict[str, tuple[int, str]] = {}
    with Path(path).open(newline="") as fh:
        for r in csv.DictReader(fh):
            if r["assembly"] == "National" and r["contest_status"] == "Contested":
                votes = int(r["candidate_votes"])
                if votes > best.get(r["constituency_code"], (-1, ""))[0]:
                    best[r["constituency_code"]] = (votes, r["candidate_party"])
    expected = Counter(party for _, party in best.values())
    report = parliament_report(pk2018, assembly="NA")
    got = report.general.by_party()
    assert sum(got.values()) == len(best) == 270
    assert got["PTI"] == expected["Pakistan Tehreek-e-Insaf"] == 116
    assert got["PML(N)"] == expected["Pakistan Muslim League (N)"]
    assert got["IND"] == expected["Independent"]
    assert sorted(got.values()) == sorted(expected.values())
    composition = report.compositions[0]
    assert composition.house.total == 342
    assert sum(composition.reserved.values()) + composition.vacant == 70


def _winners_2024() -> dict[str, str]:
    path = require_shared_data("pakistan-2024-constituency", "na_2024_candidates_wikipedia.csv")
    best: dict[str, tuple[int, str]] = {}
    with Path(path).open(newline="") as fh:
        for r in csv.DictReader(fh):
            if r["party"].startswith("Others") or not r["votes"]:
                continue
            votes = int(float(r["votes"]))
            if votes > best.get(r["constituency_code"], (-1, ""))[0]:
                best[r["constituency_code"]] = (votes, r["party"])
    return {code: party for code, (_, party) in best.items()}


def _province(code: str) -> str:
    n = int(code.split("-")[1])  # Art. 51 seat counts: KP 45, ICT 3, Punjab 141, Sindh 61, Balochistan 16
    return "KP" if n <= 45 else "ICT" if n <= 48 else "Punjab" if n <= 189 else "Sindh" if n <= 250 else "Bal"


def _hamilton(seats: int, weights: dict[str, int]) -> Counter[str]:
    total = sum(weights.values())
    quota = {p: Fraction(w * seats, total) for p, w in weights.items()}
    out = Counter({p: int(q) for p, q in quota.items()})
    for p in sorted(weights, key=lambda p: (-(quota[p] - int(quota[p])), -weights[p], p))[
        : seats - sum(out.values())
    ]:
        out[p] += 1
    return +out


def _expected_reserved(winners: dict[str, str], *, drop: set[str]) -> Counter[str]:
    """Women 4/10/32/14 by province, 10 non-Muslim nationwide, by general seats won (independents out)."""
    by_prov: dict[str, Counter[str]] = defaultdict(Counter)
    for code, party in winners.items():
        if party != "Independent" and party not in drop:
            by_prov[_province(code)][party] += 1
    out: Counter[str] = Counter()
    for prov, seats in {"Bal": 4, "KP": 10, "Punjab": 32, "Sindh": 14}.items():
        out += _hamilton(seats, dict(by_prov[prov]))
    out += _hamilton(10, dict(sum(by_prov.values(), Counter())))
    return out


def test_2024_na_composition_under_each_reading(pk2024: ResultsInput) -> None:
    # PTI-backed winners (labelled PTI in the source) joined the SIC; the SIC's claim is the legal variable.
    winners = {code: ("SIC" if p == "PTI" else p) for code, p in _winners_2024().items()}
    report = parliament_report(pk2024, assembly="NA", joins=Joins(by_label={"PTI": "SIC"}), contested={"SIC"})
    general = report.general.by_party()
    assert sum(general.values()) == 266
    assert general["SIC"] == Counter(winners.values())["SIC"]
    assert general["PML(N)"] == Counter(winners.values())["PML(N)"]
    by_reading = {c.reading.value: c for c in report.compositions}
    counted = by_reading["joiners_counted"]
    notified = by_reading["as_notified"]
    vacant = by_reading["vacant"]
    assert counted.reserved == _expected_reserved(winners, drop=set())
    assert notified.reserved == _expected_reserved(winners, drop={"SIC"})
    assert notified.reserved["SIC"] == 0
    assert vacant.vacant == counted.reserved["SIC"] > 0
    assert vacant.reserved == counted.reserved - Counter({"SIC": counted.reserved["SIC"]})
    for c in (counted, notified, vacant):
        assert sum(c.reserved.values()) + c.vacant == 70
        assert c.house.majority == 169
    assert all(VACANT not in co.parties for co in report.coalitions["vacant"])
    # PML(N) + PPP under the notified reading, from the figures computed here: a two-party majority.
    expected = Counter(winners.values()) + _expected_reserved(winners, drop={"SIC"})
    pair = expected["PML(N)"] + expected["PPP"]
    assert (pair >= 169) == any(
        set(co.parties) == {"PML(N)", "PPP"} for co in report.coalitions["as_notified"]
    )
    assert pair >= 169
    assert report.coalitions_total["as_notified"] >= len(report.coalitions["as_notified"]) > 0
