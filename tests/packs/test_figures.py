"""The pack's figures on a constituency small enough to check by hand."""

from __future__ import annotations

from pollwatch.ledger.records import LeafRecord, official_record
from pollwatch.packs.figures import StationRef, compute_figures
from tests.ledger.conftest import make_sheet


def _official(station: str | None, votes: dict[str, int], *, kind: str, form: str, n: int) -> LeafRecord:
    return official_record(
        election="test-2026", submission_id=f"o-{n}", kind=kind, form=form, label="final",
        constituency="NA-1", station=station, votes=votes, totals={"valid": sum(votes.values())},
        submitter_key="import", role="import", organisation="ECP", source={"file": "x.csv", "row": n},
        received_at="2026-02-09T10:00:00Z", checks=[],
    )  # fmt: skip


def _leaves() -> list[tuple[int, LeafRecord]]:
    return list(
        enumerate(
            [
                make_sheet("1", {"1": 100, "2": 80}),
                make_sheet("2", {"1": 50, "2": 90}),
                make_sheet("3", {"1": 5, "2": 7}),
                # Form-48: station 1 raised for candidate 1 at candidate 2's cost; station 3 left out.
                _official("1", {"1": 120, "2": 60}, kind="consolidated", form="Form-48", n=1),
                _official("2", {"1": 50, "2": 90}, kind="consolidated", form="Form-48", n=2),
                # Form-49: ten more votes for candidate 1 than the Form-48 rows add up to.
                _official(None, {"1": 180, "2": 150}, kind="final", form="Form-49", n=3),
            ]
        )
    )


def test_discrepancies_effects_and_the_winner_without_them() -> None:
    stations = [StationRef(n, str(n)) for n in (1, 2, 3)]
    f = compute_figures("NA-1", _leaves(), stations)
    assert f["declared"]["votes"] == {"1": 180, "2": 150}
    assert f["signed_sum"] == {"1": 155, "2": 177}
    assert f["statement"] is True
    found = [(d["kind"], d["station"], d["difference"], d["effect_on_margin"]) for d in f["discrepancies"]]
    assert found == [
        ("official_station_differs", "1", {"1": 20, "2": -20}, 40),
        ("declared_total_beyond_stations", None, {"1": 10, "2": 0}, 10),
        ("station_missing_from_official", "3", {"1": -5, "2": -7}, 2),
    ]
    m = f["margin"]
    assert (m["winner"], m["runner_up"], m["margin"]) == ("1", "2", 30)
    # 180 - 20 - 10 + 5 = 155 against 150 + 20 + 0 + 7 = 177: the signed sheets elect candidate 2.
    assert m["without_discrepancies"] == {"1": 155, "2": 177}
    assert (m["winner_without_discrepancies"], m["could_change_winner"]) == ("2", True)


def test_a_station_of_the_scheme_without_copies_is_listed_missing() -> None:
    stations = [StationRef(n, str(n)) for n in (1, 2, 3, 4)]
    f = compute_figures("NA-1", _leaves(), stations)
    (row,) = [r for r in f["stations"] if r["number"] == "4"]
    assert (row["state"], row["signed"], row["records"]) == ("missing", None, [])
    assert f["signed_stations"] == 3
