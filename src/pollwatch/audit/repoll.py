"""Re-poll impact: can re-polling a set of stations change a constituency's winner, and how easily?

Worst case for the declared winner: every registered voter of the re-polled stations turns out
(or ``turnout_cap`` of them) and votes for one challenger, while the winner gets none of those
votes. Candidate ``c`` can then win iff ``base_c + floor(cap * R) > max_{j != c} base_j``, where
``base`` is the constituency total without the re-polled stations' counted votes and ``R`` their
registered voters. A challenger needs ``max_{j != c} base_j - base_c + 1`` votes there.

References
----------
.. [1] EA 2017 s.9 (void poll at one or more polling stations) and the 2013 NA-41 South Waziristan
   re-poll at four stations (5,700 vs 3,700; PAKISTAN.md A8).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from pollwatch.errors import InputError
from pollwatch.model import CandidateKey


@dataclass(frozen=True)
class RepollStation:
    number: str
    registered: int
    counted: Mapping[CandidateKey, int] = field(default_factory=dict)
    """Votes of this station already in the totals (empty when its result was cancelled)."""


@dataclass(frozen=True)
class ChallengerCase:
    candidate: CandidateKey
    needed: int
    """Votes the candidate must take at the re-polled stations to finish strictly first."""
    possible: bool
    needed_turnout: float
    """``needed`` as a share of the re-polled stations' registered voters."""


@dataclass(frozen=True)
class RepollImpact:
    constituency: str
    declared_winner: CandidateKey
    base: Mapping[CandidateKey, int]
    registered_at_stake: int
    turnout_cap: float
    max_new_votes: int
    can_change_winner: bool
    challengers: tuple[ChallengerCase, ...]
    names: Mapping[CandidateKey, str] = field(default_factory=dict)
    """Candidate's name by ballot position, for display (public information)."""
    parties: Mapping[CandidateKey, str] = field(default_factory=dict)
    """Party code by ballot position (``IND`` for an independent)."""

    @property
    def closest(self) -> ChallengerCase | None:
        return min(self.challengers, key=lambda c: c.needed, default=None)

    def as_dict(self) -> dict[str, object]:
        closest = self.closest
        return {
            "constituency": self.constituency,
            "declared_winner": int(self.declared_winner),
            "declared_winner_name": self.names.get(self.declared_winner, ""),
            "declared_winner_party": self.parties.get(self.declared_winner, ""),
            "registered_at_stake": self.registered_at_stake,
            "turnout_cap": self.turnout_cap,
            "max_new_votes": self.max_new_votes,
            "can_change_winner": self.can_change_winner,
            "closest_challenger": int(closest.candidate) if closest else None,
            "closest_challenger_name": self.names.get(closest.candidate, "") if closest else None,
            "needed_swing": closest.needed if closest else None,
            "needed_turnout": closest.needed_turnout if closest else None,
            "challengers": [
                {
                    "candidate": int(c.candidate),
                    "name": self.names.get(c.candidate, ""),
                    "party": self.parties.get(c.candidate, ""),
                    "needed": c.needed,
                    "possible": c.possible,
                    "needed_turnout": c.needed_turnout,
                }
                for c in self.challengers
            ],
        }


def repoll_impact(
    constituency: str,
    totals: Mapping[CandidateKey, int],
    *,
    stations: Sequence[RepollStation],
    turnout_cap: float = 1.0,
) -> RepollImpact:
    """Whether re-polling ``stations`` can change the winner of ``totals`` (see the module)."""
    if len(totals) < 2:
        raise InputError(
            "a re-poll needs at least two candidates", where=constituency, found=str(len(totals))
        )
    if not 0.0 < turnout_cap <= 1.0:
        raise InputError("turnout cap out of range", expected="0 < cap <= 1", found=str(turnout_cap))
    base = dict(totals)
    for s in stations:
        for key, votes in s.counted.items():
            base[key] = base.get(key, 0) - votes
            if base[key] < 0:
                raise InputError(
                    "a station's counted votes exceed the constituency total",
                    where=f"{constituency}/station {s.number}",
                    expected=f"<= {totals.get(key, 0)} for candidate {key}",
                    found=str(votes),
                )
    winner = min(totals, key=lambda k: (-totals[k], k))
    registered = sum(s.registered for s in stations)
    new = math.floor(turnout_cap * registered)
    cases = []
    for c in sorted(base):
        if c == winner:
            continue
        rival = max(v for k, v in base.items() if k != c)
        needed = max(rival - base[c] + 1, 0)
        cases.append(
            ChallengerCase(c, needed, needed <= new, needed / registered if registered else math.inf)
        )
    return RepollImpact(
        constituency=constituency,
        declared_winner=winner,
        base=base,
        registered_at_stake=registered,
        turnout_cap=turnout_cap,
        max_new_votes=new,
        can_change_winner=any(c.possible for c in cases),
        challengers=tuple(sorted(cases, key=lambda c: c.needed)),
    )
