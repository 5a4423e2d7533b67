"""The 2018 constituency importer against figures computed here from the raw CSV with the csv module."""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from pollwatch.datasets import Dataset, read
from pollwatch.datasets._common import name_key
from pollwatch.errors import DataError
from pollwatch.model import Channel, Role, SheetKind
from tests.conftest import require_shared_data
from tests.datasets.conftest import copy_dataset, replace_in

NAME = "pakistan-2018-constituency"
FINAL = "ecp_2018_candidates_final_20180904.csv"


@pytest.fixture(scope="module")
def folder() -> Path:
    return require_shared_data(NAME)


@pytest.fixture(scope="module")
def dataset(folder: Path) -> Dataset:
    return read(NAME, folder.parent)


@pytest.fixture(scope="module")
def raw(folder: Path) -> list[dict[str, str]]:
    with (folder / FINAL).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _first_rows(raw: list[dict[str, str]]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for r in raw:
        out.setdefault(r["constituency_code"], r)
    return out


def test_2018_every_contest_is_a_constituency(dataset: Dataset, raw: list[dict[str, str]]) -> None:
    assert {c.code for c in dataset.constituencies} == {r["constituency_code"] for r in raw}
    assert len(dataset.constituencies) == 849  # 840 contested + 8 postponed + 1 uncontested (README)


def test_2018_final_sheets_match_the_raw_rows(dataset: Dataset, raw: list[dict[str, str]]) -> None:
    contested = {r["constituency_code"] for r in raw if r["contest_status"] == "Contested"}
    finals = [s for s in dataset.sheets if s.kind is SheetKind.FINAL]
    assert {s.constituency for s in finals} == contested
    sums: Counter[str] = Counter()
    for r in raw:
        if r["contest_status"] == "Contested":
            sums[r["constituency_code"]] += int(r["candidate_votes"])
    assert {s.constituency: s.candidate_sum for s in finals} == dict(sums)
    first = _first_rows(raw)
    for s in finals:
        assert s.totals.polled == int(first[s.constituency]["votes_polled"])
        assert s.totals.rejected == int(first[s.constituency]["votes_disq"])
        assert (s.form, s.label) == ("Form-49", "2018-09-04 final")
        assert (s.provenance.role, s.provenance.channel, s.provenance.source) == (
            Role.OFFICIAL,
            Channel.IMPORT,
            NAME,
        )


def test_2018_provisional_sheets_keep_every_vote(dataset: Dataset, folder: Path) -> None:
    with (folder / "ecp_2018_na_provisional_20180729_candidates.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    expected: Counter[str] = Counter()
    for r in rows:
        expected[r["seat"]] += int(r["candidateVotes"])
    provisional = [s for s in dataset.sheets if s.kind is SheetKind.PROVISIONAL]
    assert len(provisional) == 270
    for s in provisional:
        unmatched = sum(u["votes"] for u in s.extra.get("unmatched_votes", []))
        assert s.candidate_sum + unmatched == expected[s.constituency], s.constituency
        assert (s.form, s.label) == ("Form-47", "2018-07-29 provisional")


def test_2018_unmatched_provisional_candidates_are_findings(dataset: Dataset) -> None:
    unmatched = [f for f in dataset.findings if f.kind == "provisional_candidate_unmatched"]
    in_sheets = sum(len(s.extra.get("unmatched_votes", [])) for s in dataset.sheets)
    assert len(unmatched) == in_sheets > 0


def test_2018_polled_not_updated_in_809_contests(dataset: Dataset, raw: list[dict[str, str]]) -> None:
    first = _first_rows(raw)
    off = {
        c
        for c, r in first.items()
        if r["contest_status"] == "Contested"
        and int(r["valid_votes"]) + int(r["votes_disq"]) != int(r["votes_polled"])
    }
    assert len(off) == 809  # README: valid+disq != polled in 809/840 contests
    kinds = ("final_polled_not_updated", "polled_data_entry_error")
    assert {f.location for f in dataset.findings if f.kind in kinds} == off
    errors = [f.location for f in dataset.findings if f.kind == "polled_data_entry_error"]
    assert errors == ["PP-188"]  # the one > 1M off
    assert "PP-188" in {f.location for f in dataset.findings if f.kind == "polled_exceeds_registered"}


def test_2018_valid_not_candidate_sum_matches_discrepancy_file(dataset: Dataset, folder: Path) -> None:
    with (folder / "ecp_2018_vote_total_discrepancies.csv").open(newline="") as handle:
        listed = {r["constituency_code"] for r in csv.DictReader(handle)}
    found = {f.location for f in dataset.findings if f.kind == "valid_not_candidate_sum"}
    assert listed <= found  # every listed discrepancy is found (and PP-271, which the file omits)
    assert not [f for f in dataset.findings if f.kind == "discrepancy_not_reproduced"]


def test_2018_postponed_and_uncontested_are_reported(dataset: Dataset) -> None:
    postponed = {f.location for f in dataset.findings if f.kind == "contest_postponed"}
    assert postponed == {"NA-60", "NA-103", "PK-78", "PK-99", "PP-87", "PP-103", "PS-87", "PB-35"}
    uncontested = [f for f in dataset.findings if f.kind == "contest_uncontested"]
    assert [f.location for f in uncontested] == ["PS-6"]
    assert "Mir Shabbir Ali Bijarani" in uncontested[0].message
    assert [c.name for c in dataset.candidates if c.constituency == "PS-6"] == ["Mir Shabbir Ali Bijarani"]


def test_2018_ballot_order_is_alphabetical_and_complete(dataset: Dataset) -> None:
    ballots = defaultdict(list)
    for c in dataset.candidates:
        ballots[c.constituency].append(c)
    for code, ballot in ballots.items():
        assert [c.ballot_order for c in ballot] == list(range(1, len(ballot) + 1)), code
        keys = [name_key(c.name) for c in ballot]
        assert keys == sorted(keys), code


def test_2018_independents_have_no_party(dataset: Dataset, raw: list[dict[str, str]]) -> None:
    independents = sum(1 for r in raw if r["candidate_party"] == "Independent")
    assert sum(1 for c in dataset.candidates if c.party is None) == independents
    assert "Independent" not in {p.name for p in dataset.parties}


def test_2018_bad_vote_names_file_row_column_value(folder: Path, tmp_path: Path) -> None:
    copy = copy_dataset(folder, tmp_path / NAME)
    replace_in(
        copy / FINAL,
        ',"Abdul Latif","Pakistan Tehreek-e-Insaf",38819,',
        ',"Abdul Latif","Pakistan Tehreek-e-Insaf",3881x,',
    )
    with pytest.raises(
        DataError, match=rf"{FINAL}: row 3, column 'candidate_votes': cannot read '3881x'"
    ) as caught:
        read(NAME, tmp_path)
    assert caught.value.problems[0].expected.startswith("a whole number")


def test_2018_missing_column_is_named(folder: Path, tmp_path: Path) -> None:
    copy = copy_dataset(folder, tmp_path / NAME)
    replace_in(copy / "ecp_2018_na_provisional_20180729_raw.csv", "votesPolled", "votes_polled")
    with pytest.raises(DataError, match=r"row 1: the header lacks \['votesPolled'\]"):
        read(NAME, tmp_path)


def test_2018_provisional_arithmetic_off_in_20_seats(dataset: Dataset, folder: Path) -> None:
    with (folder / "ecp_2018_na_provisional_20180729_raw.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    off = {r["seat"] for r in rows if int(r["validVotes"]) + int(r["rejectedVotes"]) != int(r["votesPolled"])}
    assert len(off) == 270 - 250  # README: valid+rejected == polled in 250/270 NA seats
    assert {f.location for f in dataset.findings if f.kind == "polled_not_valid_plus_rejected"} == off
