"""Arithmetic checks on a well-formed sheet: failures are flagged evidence, never a refusal.

A signed sheet whose numbers do not add up is exactly what an observer must be able to show, so
each check that fails is named in the sheet's ``extra["checks"]`` and the leaf's ``checks``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from pollwatch.model import SheetKind

_FORMS = {
    "pakistan": {
        SheetKind.STATION_COUNT: "Form-45",
        SheetKind.BALLOT_ACCOUNT: "Form-46",
        SheetKind.PROVISIONAL: "Form-47",
        SheetKind.CONSOLIDATED: "Form-48",
        SheetKind.FINAL: "Form-49",
    }
}


@dataclass(frozen=True)
class CheckFailure:
    """One named arithmetic check that the sheet fails."""

    name: str
    expected: str
    found: str


@dataclass(frozen=True)
class Capacity:
    """How many ballots one booth can take in polling hours (a rule-pack parameter)."""

    minutes_per_voter: float
    polling_hours: float

    def ballots(self, booths: int) -> int:
        return math.floor(booths * self.polling_hours * 60 / self.minutes_per_voter)


def default_form(rule_pack: str, kind: SheetKind) -> str:
    """The country's name for a sheet kind (``Form-45`` in Pakistan), else the kind itself."""
    return _FORMS.get(rule_pack, {}).get(kind, kind.value)


def booth_capacity(rule_pack: str) -> Capacity | None:
    """Read ``minutes_per_voter`` and ``polling_hours`` from the election's rule pack, if it has them."""
    from pollwatch.errors import NotFoundError
    from pollwatch.rules import get_rule_pack

    try:
        pack = get_rule_pack(rule_pack)
    except NotFoundError:
        return None
    minutes = getattr(pack, "minutes_per_voter", None)
    hours = getattr(pack, "polling_hours", None)
    if not minutes or not hours:
        return None
    return Capacity(float(minutes), float(hours))


def check_sheet(
    votes: Mapping[int, int],
    totals: Mapping[str, int | None],
    *,
    registered: int | None,
    booths: int | None,
    capacity: Capacity | None,
    ballot: frozenset[int] = frozenset(),
) -> list[CheckFailure]:
    """Return every arithmetic check the sheet fails, by name, with expected and found values."""
    out: list[CheckFailure] = []
    total = sum(votes.values())
    valid, rejected, polled = totals.get("valid"), totals.get("rejected"), totals.get("polled")
    male, female = totals.get("votes_male"), totals.get("votes_female")
    if valid is not None and total != valid:
        out.append(CheckFailure("candidate_votes_ne_valid", f"sum of candidate votes = {valid}", str(total)))
    if valid is not None and rejected is not None and polled is not None and valid + rejected != polled:
        out.append(
            CheckFailure(
                "valid_plus_rejected_ne_polled", f"valid + rejected = {polled}", str(valid + rejected)
            )
        )
    printed = totals.get("registered")
    ceiling = registered if registered is not None else printed
    counted = polled if polled is not None else total
    if ceiling is not None and counted > ceiling:
        out.append(CheckFailure("polled_gt_registered", f"<= {ceiling} registered", str(counted)))
    if male is not None and female is not None and polled is not None and male + female != polled:
        out.append(
            CheckFailure("male_plus_female_ne_polled", f"male + female = {polled}", str(male + female))
        )
    if booths and capacity is not None and counted > capacity.ballots(booths):
        out.append(
            CheckFailure(
                "polled_gt_booth_capacity",
                f"<= {capacity.ballots(booths)} ({booths} booths x {capacity.polling_hours:g} h"
                f" at {capacity.minutes_per_voter:g} min per voter)",
                str(counted),
            )
        )
    missing = sorted(ballot - set(votes))
    if ballot and missing:
        out.append(CheckFailure("candidates_missing", "a count for every candidate", f"none for {missing}"))
    return out
