"""Who stands where: each constituency's ballot, candidate and party by ballot position.

Results name candidates by name and party and always keep the ballot position, the key the sheets
use (a name can be spelled two ways; a position cannot).

>>> from pollwatch.model import Candidate, Party
>>> b = Ballots.of([Candidate("NA-1", 1, "Amina", "PTI"), Candidate("NA-1", 2, "Bilal")],
...                [Party("PTI", "Pakistan Tehreek-e-Insaf")])
>>> b.label("NA-1", 1), b.label("NA-1", 2), b.label("NA-1", 9)
('candidate 1 (Amina, PTI)', 'candidate 2 (Bilal, IND)', 'candidate 9')
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pollwatch.model import Candidate, Party

INDEPENDENT = "IND"
INDEPENDENT_NAME = "Independent"


@dataclass(frozen=True)
class BallotEntry:
    """One candidate on one ballot; ``name`` is empty when only the sheets know the position."""

    position: int
    name: str = ""
    party: str = INDEPENDENT
    """Party code (``IND`` for an independent)."""
    party_name: str = INDEPENDENT_NAME
    name_ur: str = ""
    """The name in Urdu script, where the data has it."""

    @property
    def label(self) -> str:
        """``candidate 45 (Raja Khurram Nawaz, PML(N))``; ``candidate 45`` when nobody is named."""
        return (
            f"candidate {self.position} ({self.name}, {self.party})"
            if self.name
            else f"candidate {self.position}"
        )

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "position": self.position,
            "name": self.name,
            "party": self.party,
            "party_name": self.party_name,
        }
        if self.name_ur:
            out["name_ur"] = self.name_ur
        return out


@dataclass(frozen=True)
class Ballots:
    """Every constituency's ballot: code -> ballot position -> :class:`BallotEntry`."""

    entries: Mapping[str, Mapping[int, BallotEntry]] = field(default_factory=dict)
    party_names: Mapping[str, str] = field(default_factory=dict)
    """Party code -> party name (``IND`` -> ``Independent``)."""

    @classmethod
    def of(
        cls,
        candidates: Iterable[Candidate],
        parties: Iterable[Party],
        *,
        columns: Mapping[str, Sequence[str | None]] | None = None,
    ) -> Ballots:
        """From the candidates and parties of an election.

        ``columns`` (code -> party per ballot column, ``""`` for an unused column, as in
        :attr:`pollwatch.tally.Universe.parties`) adds the positions only the sheets name.
        """
        names: dict[str, str] = {str(p.code): p.name for p in parties}
        out: dict[str, dict[int, BallotEntry]] = {}
        for k in candidates:
            party = k.party or INDEPENDENT
            label = names.get(k.party, k.party) if k.party else INDEPENDENT_NAME
            out.setdefault(k.constituency, {})[int(k.ballot_order)] = BallotEntry(
                int(k.ballot_order), k.name, party, label, k.name_ur
            )
        for code, row in (columns or {}).items():
            ballot = out.setdefault(code, {})
            for j, party_code in enumerate(row):
                if party_code != "" and j + 1 not in ballot:
                    ballot[j + 1] = _unnamed(j + 1, party_code, names)
        return cls(
            {code: dict(sorted(b.items())) for code, b in out.items()},
            {**names, INDEPENDENT: INDEPENDENT_NAME},
        )

    def party_name(self, code: str) -> str:
        """A party's name from its code (the code itself when the party is not listed)."""
        return self.party_names.get(code, code)

    def entry(self, code: str, position: int) -> BallotEntry:
        """The candidate at ``position`` of ``code``'s ballot (unnamed when not on it)."""
        found = self.entries.get(code, {}).get(int(position))
        return found if found is not None else BallotEntry(int(position))

    def label(self, code: str, position: int) -> str:
        return self.entry(code, position).label

    def ballot(self, code: str) -> tuple[BallotEntry, ...]:
        """Every candidate of ``code`` in ballot order."""
        return tuple(self.entries.get(code, {}).values())

    def with_votes(self, code: str, votes: Mapping[int, int]) -> list[dict[str, Any]]:
        """``votes`` by position as one named entry per position, in ballot order."""
        return [{**self.entry(code, k).as_dict(), "votes": int(v)} for k, v in sorted(votes.items())]


def _unnamed(position: int, party: str | None, names: Mapping[str, str]) -> BallotEntry:
    if party is None:
        return BallotEntry(position)
    return BallotEntry(position, "", party, names.get(party, party))
