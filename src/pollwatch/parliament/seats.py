"""General seats by party from declared winners, with independents joining parties.

References
----------
.. [1] Constitution of Pakistan Art. 51(6)(d) proviso; ER r.96(6): an independent returned
   candidate may join a party within three days of the gazette notification (PAKISTAN.md A2).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from pollwatch.errors import InputError
from pollwatch.model import Candidate
from pollwatch.rules.base import Contest

INDEPENDENT = "IND"


@dataclass(frozen=True)
class Joins:
    """Who joins whom after the result: by constituency (one winner) or by party label (all of them).

    ``by_label`` maps a label as elected (``IND`` for independents) to the party joined; it applies
    before ``by_constituency``, which names one winner's choice.
    """

    by_constituency: Mapping[str, str] = field(default_factory=dict)
    by_label: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> Joins:
        """From JSON text."""
        try:
            doc = json.loads(text)
        except (ValueError, RecursionError) as exc:  # RecursionError: hostile nesting like [[[[...
            raise InputError(
                "joins is not JSON (or nested deeper than a joins document can be)",
                found=str(exc)[:200],
                expected='{"by_label": {...}, "by_constituency": {...}}',
            ) from exc
        return cls.of(doc)

    @classmethod
    def of(cls, doc: object) -> Joins:
        """From a parsed JSON document; anything but string-to-string maps is refused."""
        parts = {}
        for name in ("by_constituency", "by_label"):
            part = doc.get(name, {}) if isinstance(doc, dict) else None
            if not isinstance(part, dict) or not all(isinstance(x, str) for kv in part.items() for x in kv):
                raise InputError(
                    "joins must map names to party codes",
                    where=name,
                    expected='{"by_label": {"IND": "PARTY"}, "by_constituency": {"NA-5": "PARTY"}}',
                    found=repr(doc)[:200],
                )
            parts[name] = dict(part)
        return cls(parts["by_constituency"], parts["by_label"])


@dataclass(frozen=True)
class SeatWinner:
    constituency: str
    region: str
    elected_as: str
    """The party label on the ballot (``IND`` for an independent)."""
    sits_with: str
    """The party the member sits with after any join."""
    candidate: str
    position: int | None = None
    """The winner's ballot position (None when the contest names one the ballot lacks)."""

    def as_dict(self) -> dict[str, object]:
        return {
            "constituency": self.constituency,
            "region": self.region,
            "position": self.position,
            "candidate": self.candidate,
            "elected_as": self.elected_as,
            "sits_with": self.sits_with,
        }


@dataclass(frozen=True)
class GeneralSeats:
    winners: tuple[SeatWinner, ...]

    def by_party(self, *, joined: bool = True) -> Counter[str]:
        return Counter(w.sits_with if joined else w.elected_as for w in self.winners)

    def by_region(self, *, joined: bool = True) -> dict[str, Counter[str]]:
        out: dict[str, Counter[str]] = {}
        for w in self.winners:
            out.setdefault(w.region, Counter())[w.sits_with if joined else w.elected_as] += 1
        return out


def general_seats(
    contests: Sequence[Contest],
    candidates: Sequence[Candidate],
    *,
    joins: Joins | None = None,
    region_of: Mapping[str, str] | None = None,
) -> GeneralSeats:
    """Winner of every declared contest and the party it sits with (a tied contest is left out)."""
    joins = joins or Joins()
    party: dict[tuple[str, int], Candidate] = {(c.constituency, int(c.ballot_order)): c for c in candidates}
    winners = []
    for contest in contests:
        ranking = contest.ranking
        if not ranking or ranking[0][1] == 0 or (len(ranking) > 1 and ranking[0][1] == ranking[1][1]):
            continue
        key = ranking[0][0]
        cand = party.get((contest.constituency, int(key)))
        label = (cand.party if cand else None) or INDEPENDENT
        sits = joins.by_label.get(label, label)
        sits = joins.by_constituency.get(contest.constituency, sits)
        region = (region_of or {}).get(contest.constituency, contest.region)
        name = cand.name if cand else ""
        winners.append(SeatWinner(contest.constituency, region, label, sits, name, int(key)))
    return GeneralSeats(tuple(winners))
