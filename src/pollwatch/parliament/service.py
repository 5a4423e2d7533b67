"""An assembly's composition from declared results: general seats, reserved seats under each
reading, and the minimal winning coalitions of each."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from pollwatch.errors import NotFoundError
from pollwatch.model import SheetKind
from pollwatch.parliament.apportion import Rounding
from pollwatch.parliament.coalitions import Coalition, minimal_winning_coalitions
from pollwatch.parliament.reserved import VACANT, Composition, Reading, compose
from pollwatch.parliament.seats import INDEPENDENT, GeneralSeats, Joins, general_seats
from pollwatch.rules import RulePack, get_rule_pack
from pollwatch.tally.inputs import ResultsInput


@dataclass(frozen=True)
class ParliamentReport:
    assembly: str
    snapshot: str
    general: GeneralSeats
    compositions: tuple[Composition, ...]
    coalitions: dict[str, list[Coalition]]
    coalitions_total: dict[str, int]
    """How many minimal winning coalitions each reading has (``coalitions`` keeps the first ones)."""
    party_names: dict[str, str] = field(default_factory=dict)
    """Party code -> name, for every party the report names."""

    def as_dict(self) -> dict[str, object]:
        return {
            "assembly": self.assembly,
            "snapshot": self.snapshot,
            "general_seats": sum(self.general.by_party().values()),
            "general_by_party": _sorted(self.general.by_party()),
            "general_by_party_as_elected": _sorted(self.general.by_party(joined=False)),
            "general_by_region": {r: _sorted(c) for r, c in sorted(self.general.by_region().items())},
            "compositions": [c.as_dict() for c in self.compositions],
            "coalitions": {
                reading: [{"parties": list(c.parties), "seats": c.seats, "surplus": c.surplus} for c in cs]
                for reading, cs in self.coalitions.items()
            },
            "coalitions_total": self.coalitions_total,
            "party_names": dict(sorted(self.party_names.items())),
            "winners": [w.as_dict() for w in self.general.winners],
        }


def parliament_report(
    inp: ResultsInput,
    *,
    assembly: str | None = None,
    joins: Joins | None = None,
    contested: Collection[str] = (),
    method: Rounding = Rounding.LARGEST_REMAINDER,
    pack: RulePack | None = None,
    max_coalitions: int = 200,
) -> ParliamentReport:
    """General seats from the latest official snapshot; reserved seats and coalitions per reading.

    ``assembly`` defaults to the assembly of the first constituency listed.
    """
    pack = pack or get_rule_pack(inp.election.rule_pack)
    if assembly is None:
        # The assembly of the first constituency listed (NA in Pakistan's datasets).
        assembly = inp.constituencies[0].assembly if inp.constituencies else ""
    part = inp.only(assembly)
    snapshots = [kl for kl in part.official_labels() if kl[0] is not SheetKind.BALLOT_ACCOUNT]
    if not snapshots:
        raise NotFoundError(
            f"no declared results for assembly {assembly}",
            expected="official constituency-level sheets (e.g. Form-47 or Form-49)",
            found="none",
            remedy="import a dataset with results, or choose another --assembly",
        )
    kind, label = snapshots[-1]
    year = inp.election.date.year
    region_of: dict[str, str] = {
        c.code: pack.region_key(c.region) or pack.constituency_region(c.code, year=year)
        for c in part.constituencies
    }
    seats = general_seats(part.contests(kind, label), part.candidates, joins=joins, region_of=region_of)
    house = pack.house(assembly, year=year)
    compositions: list[Composition] = []
    coalitions: dict[str, list[Coalition]] = {}
    totals: dict[str, int] = {}
    readings = list(Reading) if contested else [Reading.JOINERS_COUNTED]
    for reading in readings if house is not None else []:
        assert house is not None
        comp = compose(
            seats, house, reading=reading, contested=contested, region_key=pack.region_key, method=method
        )
        compositions.append(comp)
        parties = {p: n for p, n in comp.total.items() if p not in (INDEPENDENT, VACANT)}
        every = minimal_winning_coalitions(parties, house.majority)
        coalitions[reading.value] = every[:max_coalitions]
        totals[reading.value] = len(every)
    names = part.ballots()
    named = {w.elected_as for w in seats.winners} | {w.sits_with for w in seats.winners}
    party_names = {code: names.party_name(code) for code in named}
    return ParliamentReport(assembly, label, seats, tuple(compositions), coalitions, totals, party_names)


def _sorted(counts: dict[str, int]) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
