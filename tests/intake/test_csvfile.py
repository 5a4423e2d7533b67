"""The CSV layout: one row per sheet; every bad cell reported with its row and column."""

from __future__ import annotations

import pytest

from pollwatch.errors import InputError
from pollwatch.intake.csvfile import parse_csv
from pollwatch.model import Role


def _parse(text: str) -> list[object]:
    return list(parse_csv(text.encode(), role=Role.OBSERVER, organisation="FAFEN", election="tiny-2026"))


def test_rows_become_submissions_with_defaults() -> None:
    subs = _parse("submission_id,constituency,station,c1,c2,valid,polled\nrow-0000001,NA-1,3,10,20,30,31\n")
    sub = subs[0]
    assert sub.election == "tiny-2026"  # type: ignore[attr-defined]
    assert sub.votes == {"1": 10, "2": 20}  # type: ignore[attr-defined]
    assert sub.totals.polled == 31  # type: ignore[attr-defined]
    assert sub.role is Role.OBSERVER  # type: ignore[attr-defined]
    assert sub.organisation == "FAFEN"  # type: ignore[attr-defined]


def test_every_bad_cell_is_named() -> None:
    text = "submission_id,constituency,station,c1,polled\nrow-0000001,NA-1,3,-4,x\nrow-0000002,NA-1,3,5,6\n"
    with pytest.raises(InputError, match="nothing was written") as info:
        _parse(text)
    wheres = [p.where for p in info.value.problems]
    assert wheres == ["row 2, column c1", "row 2, column polled"]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("submission_id,constituency,bogus\n", "header"),
        ("constituency,c1\nNA-1,3\n", "header"),
        ("submission_id,constituency,c1\n", "no rows"),
        ("submission_id,constituency,c1\nrow-0000001,NA-1,1,2,3\n", "problems"),
    ],
)
def test_bad_files_are_refused(text: str, match: str) -> None:
    with pytest.raises(InputError, match=match):
        _parse(text)


def test_non_utf8_is_refused() -> None:
    with pytest.raises(InputError, match="UTF-8"):
        parse_csv(b"submission_id\n\xff\xfe", role=Role.ADMIN, organisation="")
