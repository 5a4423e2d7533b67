"""Country rule packs: what the law says a result must satisfy, with the statute behind each check.

The country-neutral audit calls a :class:`RulePack`; Pakistan is one pack, and another country is
just another module that registers one.

>>> from pollwatch.rules import Contest, get_rule_pack
>>> pack = get_rule_pack("pakistan")
>>> c = Contest(constituency="NA-21", assembly="NA", votes={1: 50_033, 2: 50_000}, rejected=5_790,
...             polled=105_823)
>>> [f.kind for f in pack.check_contest(c)]
['recount_eligible', 'rejected_exceed_margin']
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from pollwatch.errors import NotFoundError
from pollwatch.rules.base import (
    Contest,
    Evidence,
    Finding,
    RecountVerdict,
    Severity,
    StationFigures,
)


@dataclass(frozen=True)
class ReservedQuota:
    """Seats of one category reserved per region; the region ``""`` means one nationwide list."""

    category: str
    seats: Mapping[str, int]


@dataclass(frozen=True)
class House:
    """The seats of one assembly: general seats elected in constituencies, plus reserved quotas."""

    assembly: str
    general: int
    reserved: tuple[ReservedQuota, ...] = ()

    @property
    def total(self) -> int:
        return self.general + sum(sum(q.seats.values()) for q in self.reserved)

    @property
    def majority(self) -> int:
        """Seats needed for a majority of the whole house."""
        return self.total // 2 + 1


class RulePack(Protocol):
    """What the country-neutral audit asks of a country's law."""

    @property
    def name(self) -> str: ...

    def recount(self, contest: Contest) -> RecountVerdict: ...

    def check_contest(self, contest: Contest, *, election_date: dt.date | None = None) -> list[Finding]: ...

    def check_station(self, station: StationFigures) -> list[Finding]: ...

    def house(self, assembly: str, *, year: int) -> House | None: ...

    def region_key(self, region: str) -> str: ...

    def constituency_region(self, code: str, *, year: int) -> str:
        """The region of a constituency when the data does not say ("" when unknown)."""
        ...

    def deadline(self, election_date: dt.date) -> dt.datetime | None:
        """When provisional results are legally due (None: the law sets no deadline)."""
        ...


_REGISTRY: dict[str, Callable[[], RulePack]] = {}


def register_rule_pack(name: str, factory: Callable[[], RulePack]) -> None:
    """Make a pack available by name (the ``rule_pack`` of an election)."""
    _REGISTRY[name] = factory


def get_rule_pack(name: str) -> RulePack:
    """The rule pack called ``name``, with its default parameters."""
    _load_builtin()
    if name not in _REGISTRY:
        raise NotFoundError(
            f"no rule pack {name!r}",
            expected=f"one of: {', '.join(sorted(_REGISTRY))}",
            found=name,
            remedy="register the country's pack with pollwatch.rules.register_rule_pack",
        )
    return _REGISTRY[name]()


def list_rule_packs() -> list[str]:
    _load_builtin()
    return sorted(_REGISTRY)


def _load_builtin() -> None:
    if "pakistan" in _REGISTRY:
        return
    from pollwatch.rules import generic, pakistan

    register_rule_pack("generic", generic.GenericRules)
    register_rule_pack("pakistan", pakistan.PakistanRules)


__all__ = [
    "Contest",
    "Evidence",
    "Finding",
    "House",
    "RecountVerdict",
    "ReservedQuota",
    "RulePack",
    "Severity",
    "StationFigures",
    "get_rule_pack",
    "list_rule_packs",
    "register_rule_pack",
]
