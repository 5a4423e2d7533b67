"""``winners`` on the 2018 final snapshot: 270 contested NA seats, seats per party from the raw CSV."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from pollwatch.datasets import import_dataset
from pollwatch.datasets._pakistan import party_code_2018
from pollwatch.datasets.winners import list_winners
from pollwatch.errors import InputError, NotFoundError
from pollwatch.storage import Database
from tests.conftest import require_shared_data

NAME = "pakistan-2018-constituency"


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Database:
    folder = require_shared_data(NAME)
    db = Database(f"sqlite:///{tmp_path_factory.mktemp('w') / 'w.sqlite3'}")
    db.upgrade()
    import_dataset(db, NAME, folder.parent)
    return db


def _expected_from_raw() -> tuple[dict[str, tuple[str, int]], Counter[str]]:
    """Winner (name, votes) per contested NA seat and seats per party, straight from the CSV."""
    path = require_shared_data(NAME, "ecp_2018_candidates_final_20180904.csv")
    best: dict[str, tuple[int, str, str]] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for r in csv.DictReader(handle):
            if r["assembly"] != "National" or r["contest_status"] != "Contested":
                continue
            votes = int(r["candidate_votes"])
            if r["constituency_code"] not in best or votes > best[r["constituency_code"]][0]:
                best[r["constituency_code"]] = (votes, r["candidate_name"], r["candidate_party"])
    winners = {code: (name, votes) for code, (votes, name, _) in best.items()}
    seats = Counter(party_code_2018(party) or "Independent" for _, _, party in best.values())
    return winners, seats


def test_winners_2018_na_matches_the_raw_csv(loaded: Database) -> None:
    expected, seats = _expected_from_raw()
    with loaded.connect() as conn:
        result = list_winners(conn, "pk-2018", assembly="NA")
    assert len(result.winners) == len(expected) == 270
    assert {w.constituency: (w.candidate, w.votes) for w in result.winners} == expected
    assert result.by_party == dict(seats)
    assert result.by_party["PTI"] == seats["PTI"]
    assert not any(w.tied for w in result.winners)
    assert result.label == "2018-09-04 final"


def test_winners_margin_is_winner_minus_runner_up(loaded: Database) -> None:
    with loaded.connect() as conn:
        result = list_winners(conn, "pk-2018", assembly="NA")
    na1 = next(w for w in result.winners if w.constituency == "NA-1")
    assert (na1.votes, na1.runner_up_votes, na1.margin) == (49035, 38819, 49035 - 38819)


def test_winners_unknown_label_lists_the_labels(loaded: Database) -> None:
    with loaded.connect() as conn, pytest.raises(InputError, match="no final sheets labelled") as caught:
        list_winners(conn, "pk-2018", assembly="NA", label="2018-07-29")
    assert "2018-09-04 final" in caught.value.problems[0].expected


def test_winners_without_final_sheets(sqlite_db: Database, kenya_bundle: Path) -> None:
    import_dataset(sqlite_db, f"generic:{kenya_bundle}", Path("."))
    with sqlite_db.connect() as conn, pytest.raises(NotFoundError, match="has no final result sheets"):
        list_winners(conn, "ke-2022-demo", assembly="PRES")


def test_winners_2024_na_matches_the_raw_csv(sqlite_db: Database) -> None:
    from pollwatch.datasets._pakistan import party_code_2024

    folder = require_shared_data("pakistan-2024-constituency")
    best: dict[str, tuple[int, str, str]] = {}
    with (folder / "na_2024_candidates_wikipedia.csv").open(newline="", encoding="utf-8") as handle:
        for r in csv.DictReader(handle):
            if r["candidate"].startswith("Others ("):
                continue
            votes = int(r["votes"])
            if r["constituency_code"] not in best or votes > best[r["constituency_code"]][0]:
                best[r["constituency_code"]] = (votes, r["candidate"], r["party"])
    import_dataset(sqlite_db, "pakistan-2024-constituency", folder.parent)
    with sqlite_db.connect() as conn:
        result = list_winners(conn, "pk-2024", assembly="NA")
    assert len(result.winners) == len(best) == 266
    assert {w.constituency: (w.votes, w.candidate) for w in result.winners} == {
        code: (votes, name) for code, (votes, name, _) in best.items()
    }
    seats = Counter(party_code_2024(party) or "Independent" for _, _, party in best.values())
    assert result.by_party == dict(seats)
